"""How often bars repeat earlier bars of their piece: generated pieces against EMOPIA's clips.

    python bench/repetition.py --data ../shared/data/emopia DIR [DIR ...]

DIR: folders of pieces with Q1..Q4 name prefixes or a manifest.csv (as `muser evaluate
--generate` writes them); the real clips are EMOPIA's train clips of each quadrant. Each bar's
notes are placed on a sixteenth grid of their bar (EMOPIA's bars from its beats, tracked where the
file has none, so its figures are lower bounds). A bar repeats the rhythm of an earlier one when
their onset positions match (Jaccard >= 0.8), its notes when half of its (position, pitch) pairs do
(Jaccard > 0.5), looking back up to 8 bars. Prints per quadrant the share of bars (after the first)
that repeat each way, and how far back the nearest repeat lies (1, 2, 4 bars or other).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.data import data_dir, quadrant_of, split_files
from musER.emotion_classifier import QUADRANTS
from musER.errors import MusERError
from musER.evaluate import asked_pieces
from musER.metrics import piece_from_midi
from musER.piece import Piece
from musER.tokenizer import to_units
from musER.vocab import STEPS_PER_BAR

GRID = 16  # positions per bar
LOOK_BACK = 8  # bars
RHYTHM_MATCH, NOTES_MATCH = 0.8, 0.5
LAGS = (1, 2, 4)


def bar_contents(piece: Piece) -> list[tuple[set, set]]:
    """(onset positions, (position, pitch) pairs) of each bar with notes, each onset at its nearest
    sixteenth along the bar lines (so a chord struck just before a bar line opens the next bar)."""
    sixteenths = np.round(to_units(piece.notes[:, 0], piece.bar_times) / (STEPS_PER_BAR // GRID)).astype(int)
    bar, position = np.divmod(sixteenths, GRID)
    pitch = piece.notes[:, 2].astype(int)
    return [(set(position[bar == b].tolist()), set(zip(position[bar == b].tolist(), pitch[bar == b].tolist())))
            for b in np.unique(bar)]


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def nearest_repeats(piece: Piece) -> tuple[list, list]:
    """For each bar after the first: how many bars back the nearest bar with its rhythm lies, and
    the nearest with its notes (0: none within LOOK_BACK)."""
    bars = bar_contents(piece)
    rhythm, notes = [], []
    for i in range(1, len(bars)):
        back = range(1, min(i, LOOK_BACK) + 1)
        rhythm.append(next((k for k in back if jaccard(bars[i][0], bars[i - k][0]) >= RHYTHM_MATCH), 0))
        notes.append(next((k for k in back if jaccard(bars[i][1], bars[i - k][1]) > NOTES_MATCH), 0))
    return rhythm, notes


def summary(lags: list[int]) -> str:
    lags = np.asarray(lags)
    parts = [f"{np.mean(lags > 0):.2f}"]
    parts += [f"{np.mean(lags == k):.2f}" for k in LAGS]
    parts.append(f"{np.mean((lags > 0) & ~np.isin(lags, LAGS)):.2f}")
    return " | ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA or ../shared/data/emopia)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    try:
        pairs = asked_pieces(args.dirs)
        root = data_dir(args.data)
        real = [(f, quadrant_of(f.name)) for f in split_files(root, "train")]
    except MusERError as exc:
        sys.exit(str(exc))
    head = " | ".join(["any", *(f"{k} back" for k in LAGS), "further"])
    print(f"| quadrant | music | bars | rhythm repeated: {head} | notes repeated: {head} |")
    print("|---|---|---|" + "---|" * 2 * (len(LAGS) + 2))
    for q in QUADRANTS:
        sets = {"EMOPIA train": [piece_from_midi(f) for f, fq in real if fq == q],
                "pieces": [piece for piece, asked in pairs if asked == q and piece.n_notes]}
        for name, pieces in sets.items():
            if not pieces:
                continue
            rhythm, notes = zip(*(nearest_repeats(p) for p in pieces))
            rhythm, notes = list(itertools.chain(*rhythm)), list(itertools.chain(*notes))
            print(f"| {q} | {name} ({len(pieces)}) | {len(rhythm)} | {summary(rhythm)} | {summary(notes)} |")


if __name__ == "__main__":
    main()
