"""How EMOPIA's onsets follow each other: per quadrant, the gap to the next onset position given
the last gap and where in its beat the last onset fell, counted on the tokenized training clips
at export and stored with the checkpoint.

Generation reweighs the prior's position codes with it (StepDecoder.reweigh_positions). The
prior alone wrote the right gaps but not in a row: 11-14 % of gaps repeated the one before
against 35-42 % in EMOPIA, and gaps of a beat or more broke its steady streams of eighths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .elements import COLUMN, quadrant_shares
from .vocab import STEPS_PER_BAR, STEPS_PER_BEAT, Vocab

MAX_GAP = STEPS_PER_BAR // 2  # gaps of half a bar or more share the last column
BACK_OFF = 5.0  # weight, in onsets, of the quadrant's phase-blind counts in each row


def onset_units(ids: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Grid units (1/12 beat, from the first bar line) of the onset positions of one clip's ids."""
    metrical, bar = vocab.id_of("type", "metrical"), vocab.id_of("beat", "bar")
    beats = ids[ids[:, COLUMN["type"]] == metrical, COLUMN["beat"]]
    bar_index = np.cumsum(beats == bar) - 1
    at = beats > bar
    return np.unique(bar_index[at] * STEPS_PER_BAR + beats[at] - bar - 1)


@dataclass(frozen=True)
class GapModel:
    # (4 quadrants, STEPS_PER_BEAT phases, MAX_GAP + 1 last gaps, MAX_GAP + 1 next gaps) onsets;
    # last gap 0: none yet (every gap counts there)
    counts: np.ndarray

    @classmethod
    def count(cls, clips: Iterable[tuple[np.ndarray, int]], vocab: Vocab) -> GapModel:
        """clips: (content ids (L, 8), quadrant 1..4) per clip."""
        counts = np.zeros((4, STEPS_PER_BEAT, MAX_GAP + 1, MAX_GAP + 1), dtype=np.int64)
        for ids, quadrant in clips:
            units = onset_units(ids, vocab)
            gaps = np.minimum(np.diff(units), MAX_GAP)
            if len(gaps):
                q = np.full(len(gaps), quadrant - 1)
                phase = units[:-1] % STEPS_PER_BEAT
                np.add.at(counts, (q, phase, np.r_[0, gaps[:-1]], gaps), 1)
                np.add.at(counts, (q[1:], phase[1:], 0, gaps[1:]), 1)  # the first gap is there already
        return cls(counts)

    def log_probs(self, quadrant_weights: np.ndarray) -> np.ndarray:
        """(phases, last gap, next gap) log P(next gap | phase of the last onset, last gap) for an
        emotion given as quadrant weights (4,): the quadrants' tables blended by the weights. Each
        row is smoothed towards its quadrant's phase-blind row, smoothed by one count per gap, so
        no gap is ruled out."""
        blind = self.counts.sum(1, keepdims=True) + 1.0
        blind[..., 0] = 0.0  # a gap of 0 is no gap
        blind /= blind.sum(-1, keepdims=True)
        smoothed = self.counts + BACK_OFF * blind
        probs = smoothed / smoothed.sum(-1, keepdims=True)
        with np.errstate(divide="ignore"):
            return np.log(np.tensordot(quadrant_shares(quadrant_weights), probs, axes=1))

    def to_dict(self) -> dict:
        """Rows as strings of counts, so the table stays a few thousand lines of meta.json."""
        rows = self.counts.reshape(-1, MAX_GAP + 1)
        return {"shape": list(self.counts.shape), "rows": [" ".join(map(str, r)) for r in rows]}

    @classmethod
    def from_dict(cls, data: dict) -> GapModel:
        rows = np.array([[int(x) for x in r.split()] for r in data["rows"]], dtype=np.int64)
        return cls(rows.reshape(data["shape"]))


def next_gap(table: np.ndarray, last_onset: int, last_gap: int) -> np.ndarray:
    """log P(next gap = k), k = 0..MAX_GAP, from a log_probs table (-inf at k = 0)."""
    return table[last_onset % STEPS_PER_BEAT, min(last_gap, MAX_GAP)]


def at_least(table: np.ndarray, last_onset: int, last_gap: int, gap: int) -> float:
    """log P(next gap >= gap) from a log_probs table."""
    row = next_gap(table, last_onset, last_gap)
    return float(np.logaddexp.reduce(row[min(max(gap, 1), MAX_GAP):]))
