"""How chords are struck: generated pieces with and without spread chords against EMOPIA, per quadrant.

    python bench/chord_timing.py --data ../shared/data/emopia [--n 12] [--bars 16] [--seed 4] [--checkpoint DIR]

Counted on MIDI files as written and read back (onsets in whole ticks): the share of steps from
one onset to the next (all notes, in time order) that are zero and that are under 30 ms, and the
spread of the notes at one onset position (first to last; median and 90th percentile). EMOPIA:
its train clips, grouped by the tokenizer's positions on their estimated beats; pieces: on their
own bar lines. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import GenerationRequest, MusER
from musER.chord_timing import position_groups
from musER.data import data_dir, quadrant_of, split_files
from musER.elements import Quadrant
from musER.metrics import piece_from_midi
from musER.midi_io import read_midi
from musER.tokenizer import encode_notes


def timing(clips) -> tuple[float, float, float, float]:
    """(share of zero steps, share of steps under 30 ms, median and 90th percentile spread in ms)
    over (notes, bar_times) clips."""
    steps, spreads = [], []
    for notes, bar_times in clips:
        steps.append(np.diff(np.sort(notes[:, 0])))
        spreads += [g.max() - g.min() for g in position_groups(notes, bar_times)]
    steps = np.concatenate(steps)
    return (float(np.mean(steps < 5e-4)), float(np.mean((steps >= 5e-4) & (steps < 0.03))),
            1e3 * float(np.median(spreads)), 1e3 * float(np.percentile(spreads, 90)))


def emopia_clips(root: Path, quadrant: Quadrant, vocab):
    for path in split_files(root, "train"):
        if quadrant_of(path.name) == quadrant.name:
            midi = read_midi(path)
            yield midi.notes, encode_notes(midi.notes, vocab, midi.beat_times).bar_times


def generated_clips(model: MusER, quadrant: Quadrant, args, spread: bool, folder: Path):
    valence, arousal = quadrant.va
    request = GenerationRequest(valence, arousal, args.bars, args.n, args.seed, spread_chords=spread)
    for i, piece in enumerate(model.generate(request)):
        piece = piece_from_midi(piece.save_midi(folder / f"{quadrant.name}_{spread}_{i}.mid"))
        yield piece.notes, piece.bar_times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    ap.add_argument("--n", type=int, default=12, help="pieces per quadrant")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    root = data_dir(args.data)
    model = MusER.load(args.checkpoint)
    vocab = model._engine.vocab
    print(f"| quadrant | source | zero steps | steps under 30 ms | chord spread median ms | 90th percentile ms |"
          f"  ({args.n} pieces of {args.bars} bars per quadrant, seed {args.seed})")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for quadrant in Quadrant:
            sources = (("EMOPIA train", emopia_clips(root, quadrant, vocab)),
                       ("pieces, spread chords (default)", generated_clips(model, quadrant, args, True, Path(tmp))),
                       ("pieces, --no-spread", generated_clips(model, quadrant, args, False, Path(tmp))))
            for label, clips in sources:
                zero, short, median, p90 = timing(clips)
                print(f"| {quadrant.name} | {label} | {zero:.3f} | {short:.3f} | {median:.1f} | {p90:.1f} |")


if __name__ == "__main__":
    main()
