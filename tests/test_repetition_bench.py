"""bench/repetition.py's bar-to-bar repeats on pieces whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from repetition import nearest_repeats

from musER.piece import Piece


def piece_of(bars: list[list[tuple[int, int]]]) -> Piece:
    """Two-second bars of (sixteenth position, pitch) notes, each a sixteenth long."""
    notes = [(2 * b + pos / 8, 2 * b + (pos + 1) / 8, pitch, 80) for b, bar in enumerate(bars) for pos, pitch in bar]
    return Piece(np.array(notes, dtype=float), np.arange(len(bars) + 1) * 2.0)


def test_a_bar_repeats_the_nearest_bar_with_its_rhythm_or_notes():
    a = [(0, 60), (4, 64), (8, 67), (12, 64)]
    same_rhythm = [(0, 62), (4, 65), (8, 69), (12, 65)]
    other = [(2, 60), (6, 62), (10, 64), (14, 65)]
    rhythm, notes = nearest_repeats(piece_of([a, other, same_rhythm, a, other]))
    assert rhythm == [0, 2, 1, 3]  # bar 3's rhythm is bar 1's; bar 4's is bar 3's; bar 5 is bar 2 again
    assert notes == [0, 0, 3, 3]  # bar 4 plays bar 1's notes, bar 5 bar 2's


def test_a_chord_spread_across_the_bar_line_counts_in_the_bar_it_opens():
    bar = [(0, 60), (8, 64)]
    piece = piece_of([bar, bar])
    piece.notes[piece.notes[:, 0] == 2.0, 0] -= 0.02  # struck 20 ms early
    assert nearest_repeats(piece) == ([1], [1])
