"""How EMOPIA's pianists strike a chord: the notes that the tokenizer puts at one onset position do
not sound at once. Over its train clips such notes lie a median 3.9-5.2 ms apart (first to last;
90th percentile 13-20 ms, sad and calm clips the widest), and only 6-13 % of the steps from one
onset to the next are zero, against 35-66 % in pieces written on the grid (bench/chord_timing.py).

Real chords' timings (each note's delay after the group's first, notes in pitch order) are sampled
per quadrant and chord size from the train clips' MIDI at export and stored with the checkpoint;
generation plays each written chord with one of them, drawn from the seed. Replaying measured
timings keeps what a noise model would lose: how tight most chords are, how some are rolled, and
which voice tends to lead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .elements import quadrant_shares
from .piece import Piece
from .tokenizer import encode_notes, to_units
from .vocab import Vocab

MAX_SIZE = 8  # larger chords (0.03 % of EMOPIA's) take a size-8 timing and delays drawn from it
PER_CELL = 128  # timings kept per quadrant and chord size
MIN_SOUNDING_S = 0.01  # a delayed note still sounds at least this long
SAME_ONSET_S = 1e-6


def position_groups(notes: np.ndarray, bar_times: np.ndarray) -> list[np.ndarray]:
    """Onset times of the notes at each onset position of the bar grid that has two or more, each
    group in pitch order (notes (N, 4) as played; positions are 1/12 beat, as the tokenizer's)."""
    units = to_units(notes[:, 0], bar_times)
    order = np.lexsort((notes[:, 2], units))
    starts = np.r_[0, np.nonzero(np.diff(units[order]))[0] + 1, len(order)]
    return [notes[order[a:b], 0] for a, b in itertools.pairwise(starts) if b - a >= 2]


@dataclass(frozen=True)
class ChordTiming:
    # (quadrant 1..4, chord size) -> (k, size) delays in seconds after the chord's first note,
    # the notes in pitch order
    timings: dict[tuple[int, int], np.ndarray]

    @classmethod
    def measure(cls, clips: Iterable[tuple[np.ndarray, np.ndarray | None, int]], vocab: Vocab,
                seed: int = 0) -> ChordTiming:
        """clips: (notes (N, 4) as played, the file's beat times or None, quadrant 1..4) per clip,
        grouped by onset position as the tokenizer quantises them."""
        found: dict[tuple[int, int], list[np.ndarray]] = {}
        for notes, beat_times, quadrant in clips:
            for onsets in position_groups(notes, encode_notes(notes, vocab, beat_times).bar_times):
                if len(onsets) <= MAX_SIZE:
                    found.setdefault((quadrant, len(onsets)), []).append(onsets - onsets.min())
        rng = np.random.default_rng(seed)
        timings = {}
        for key, rows in sorted(found.items()):
            keep = rng.permutation(len(rows))[:PER_CELL]
            timings[key] = np.round(np.stack(rows)[np.sort(keep)], 4)
        return cls(timings)

    def strike(self, piece: Piece, quadrant_weights, rng: np.random.Generator) -> Piece:
        """The piece with each chord (notes at one onset) struck with a real chord's timing of its
        size, from a quadrant drawn by the weights. Releases stay where they were."""
        notes = piece.notes.copy()  # sorted by onset, then pitch
        shares = quadrant_shares(quadrant_weights)
        starts = np.r_[0, np.nonzero(np.diff(notes[:, 0]) > SAME_ONSET_S)[0] + 1, len(notes)]
        for a, b in itertools.pairwise(starts):
            size = min(b - a, MAX_SIZE)
            if size < 2:
                continue
            table = self.timings.get((int(rng.choice(4, p=shares)) + 1, size))
            if table is None:
                continue
            delays = table[rng.integers(len(table))]
            if b - a > size:
                delays = np.r_[delays, rng.choice(delays, b - a - size)]
            notes[a:b, 0] += delays
        notes[:, 0] = np.minimum(notes[:, 0], np.maximum(notes[:, 1] - MIN_SOUNDING_S, piece.notes[:, 0]))
        return Piece(notes, piece.bar_times, piece.name, piece.valence, piece.arousal, piece.seed, piece.info)

    def to_dict(self) -> dict:
        """Delays in whole tenths of a millisecond, one string per chord, so meta.json stays small."""
        return {f"{q} {size}": [" ".join(map(str, np.rint(row * 1e4).astype(int))) for row in rows]
                for (q, size), rows in self.timings.items()}

    @classmethod
    def from_dict(cls, data: dict) -> ChordTiming:
        timings = {}
        for key, rows in data.items():
            q, size = (int(x) for x in key.split())
            tenths = np.array([[int(x) for x in r.split()] for r in rows], dtype=float)
            timings[(q, size)] = tenths.reshape(-1, size) / 1e4
        return cls(timings)
