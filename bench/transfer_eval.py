"""Element transfer on EMOPIA val clips: does moving velocity/duration/tempo from an
opposite-arousal reference (a val clip, or one sampled for the target emotion) flip the
arousal the classifier hears, and does moving pitch/chord from an opposite-valence one flip the
valence? What stays?

    python bench/transfer_eval.py --data ../shared/data/emopia [--pairs 20] [--valence-pairs 20]

Kept content: cosine of pitch-class profiles (input vs result) and note F1 on (bar,
position, pitch) — the grid places and pitches, which the arousal elements should not move.

Flip rates are also given over the pairs the classifier itself tells apart (input judged on
its label's side, reference on the other): where it misjudges either, no transfer can count as
a flip.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import MusER, load_piece
from musER.data import data_dir, split_files
from musER.emotion_classifier import DEFAULT_PATH, EmotionClassifier
from musER.metrics import pitch_class_histogram
from musER.tokenizer import decode_ids, to_units
from musER.vocab import STEPS_PER_BAR

AROUSAL_ELEMENTS = ["velocity", "duration", "tempo"]
VALENCE_ELEMENTS = ["pitch", "chord"]


def grid_notes(piece) -> set[tuple[int, int, int]]:
    """(bar, position, pitch) of every note, on the piece's own bar lines: re-encoding the result
    would track its beats again and could start its bars on another beat."""
    units = to_units(piece.notes[:, 0], piece.bar_times)
    return {(int(u // STEPS_PER_BAR), int(u % STEPS_PER_BAR), int(p)) for u, p in zip(units, piece.notes[:, 2])}


def flip_pairs(model, clf, files, pairs: int, axis: str, elements: list[str], seed: int) -> None:
    """Transfer `elements` between clips on opposite sides of `axis` ("arousal": Q1/Q2 against
    Q3/Q4; "valence": Q1/Q4 against Q2/Q3), towards the reference's side, and print the flips."""
    engine = model._engine
    high_quadrants = ("Q1", "Q2") if axis == "arousal" else ("Q1", "Q4")
    high = [f for f in files if f.name[:2] in high_quadrants]
    low = [f for f in files if f.name[:2] not in high_quadrants]
    judged = f"{axis}_high"
    rng = np.random.default_rng(seed)
    flips, sampled_flips, cosines, f1s, told_apart = [], [], [], [], []
    for i in range(pairs):
        src_high = i % 2 == 0
        src = load_piece(rng.choice(high if src_high else low))
        ref = load_piece(rng.choice(low if src_high else high))
        target = -1.0 if src_high else 1.0
        if axis == "arousal":  # neutral valence
            valence, arousal = 0.0, target
        else:  # the input's own arousal side
            valence, arousal = 0.9 * target, 0.5 if src.name[:2] in ("Q1", "Q2") else -0.5
        out = model.transfer(src, elements, reference=ref, valence=valence, arousal=arousal, seed=i)
        # the same move towards the target emotion alone, from a reference sampled for it
        sampled = model.transfer(src, elements, valence=valence, arousal=arousal, seed=i)
        before, after, after_sampled, reference = clf.judge([src, out, sampled, ref])
        told_apart.append(before[judged] == src_high and reference[judged] != src_high)
        for flipped, result in ((flips, after), (sampled_flips, after_sampled)):
            flipped.append(before[judged] != result[judged] and result[judged] == (target > 0))
        a, b = pitch_class_histogram(src.notes), pitch_class_histogram(out.notes)
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)))
        # the input as the model reads it, on its bar grid
        ga, gb = grid_notes(decode_ids(engine.encode_piece(src), engine.vocab)), grid_notes(out)
        f1s.append(2 * len(ga & gb) / max(len(ga) + len(gb), 1))
    apart = np.array(told_apart)
    print(f"\n{axis}: {pairs} pairs; elements moved: {', '.join(elements)}")
    print(f"{axis} flipped to the reference's side (classifier): {np.mean(flips):.2f}")
    print(f"{axis} flipped with a reference sampled for the target instead: {np.mean(sampled_flips):.2f}")
    print(f"of the {apart.sum()} pairs whose input and reference the classifier tells apart, flipped: "
          f"{np.mean(np.array(flips)[apart]) if apart.any() else float('nan'):.2f}")
    print(f"pitch-class profile cosine input vs result: mean {np.mean(cosines):.3f}")
    print(f"note F1 on (bar, position, pitch): mean {np.mean(f1s):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    ap.add_argument("--pairs", type=int, default=20, help="pairs of opposite arousal")
    ap.add_argument("--valence-pairs", type=int, default=20, help="pairs of opposite valence")
    args = ap.parse_args()
    model = MusER.load(args.checkpoint)
    clf = EmotionClassifier.load(DEFAULT_PATH)
    files = split_files(data_dir(args.data), "val")
    if args.pairs:
        flip_pairs(model, clf, files, args.pairs, "arousal", AROUSAL_ELEMENTS, seed=0)
    if args.valence_pairs:
        flip_pairs(model, clf, files, args.valence_pairs, "valence", VALENCE_ELEMENTS, seed=1)


if __name__ == "__main__":
    main()
