"""Element transfer on EMOPIA val clips: does moving velocity/duration/tempo from an
opposite-arousal reference (a val clip, or one sampled for the target emotion) flip the
arousal the classifier hears, and what stays?

    python bench/transfer_eval.py --data ../shared/data/emopia [--pairs 20]

Kept content: cosine of pitch-class profiles (input vs result) and note F1 on (bar,
position, pitch) — the grid places and pitches, which these elements should not move.

The flip rate is also given over the pairs the classifier itself tells apart (input judged on
its label's arousal side, reference on the other): where it misjudges either, no transfer can
count as a flip.
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

ELEMENTS = ["velocity", "duration", "tempo"]


def grid_notes(piece) -> set[tuple[int, int, int]]:
    """(bar, position, pitch) of every note, on the piece's own bar lines: re-encoding the result
    would track its beats again and could start its bars on another beat."""
    units = to_units(piece.notes[:, 0], piece.bar_times)
    return {(int(u // STEPS_PER_BAR), int(u % STEPS_PER_BAR), int(p)) for u, p in zip(units, piece.notes[:, 2])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    ap.add_argument("--pairs", type=int, default=20)
    args = ap.parse_args()
    model = MusER.load(args.checkpoint)
    engine = model._engine
    clf = EmotionClassifier.load(DEFAULT_PATH)
    files = split_files(data_dir(args.data), "val")
    high = [f for f in files if f.name[:2] in ("Q1", "Q2")]
    low = [f for f in files if f.name[:2] in ("Q3", "Q4")]
    rng = np.random.default_rng(0)
    flips, sampled_flips, cosines, f1s, told_apart = [], [], [], [], []
    for i in range(args.pairs):
        src_high = i % 2 == 0
        src = load_piece(rng.choice(high if src_high else low))
        ref = load_piece(rng.choice(low if src_high else high))
        target_arousal = -1.0 if src_high else 1.0
        out = model.transfer(src, ELEMENTS, reference=ref, valence=0.0, arousal=target_arousal, seed=i)
        # the same move towards the target emotion alone, from a reference sampled for it
        sampled = model.transfer(src, ELEMENTS, valence=0.0, arousal=target_arousal, seed=i)
        before, after, after_sampled, reference = clf.judge([src, out, sampled, ref])
        told_apart.append(before["arousal_high"] == src_high and reference["arousal_high"] != src_high)
        for flipped, result in ((flips, after), (sampled_flips, after_sampled)):
            flipped.append(before["arousal_high"] != result["arousal_high"]
                           and result["arousal_high"] == (target_arousal > 0))
        a, b = pitch_class_histogram(src.notes), pitch_class_histogram(out.notes)
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)))
        # the input as the model reads it, on its bar grid
        ga, gb = grid_notes(decode_ids(engine.encode_piece(src), engine.vocab)), grid_notes(out)
        f1s.append(2 * len(ga & gb) / max(len(ga) + len(gb), 1))
    print(f"pairs: {args.pairs}; elements moved: {', '.join(ELEMENTS)}")
    print(f"arousal flipped to the reference's side (classifier): {np.mean(flips):.2f}")
    print(f"arousal flipped with a reference sampled for the target instead: {np.mean(sampled_flips):.2f}")
    apart = np.array(told_apart)
    print(f"of the {apart.sum()} pairs whose input and reference the classifier tells apart, flipped: "
          f"{np.mean(np.array(flips)[apart]):.2f}")
    print(f"pitch-class profile cosine input vs result: mean {np.mean(cosines):.3f}")
    print(f"note F1 on (bar, position, pitch): mean {np.mean(f1s):.3f}")


if __name__ == "__main__":
    main()
