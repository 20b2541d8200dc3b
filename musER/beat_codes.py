"""Which beat value each code of the beat slice stands for, counted on training clips at export.

Generation uses it to keep the prior in step with the decoder: when the decoder writes a
position other than the one the prior's beat code stands for, the prior goes on from the code
that most often stands for the written position. Without it the prior, which sees only its own
codes, fell behind the decoded bar and the decoder ran ahead, closing bars early (docs/history.md, Generation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .elements import COLUMN, ELEMENTS
from .vocab import Vocab

BEAT_GROUP = ELEMENTS.index("beat")


@dataclass(frozen=True)
class BeatCodes:
    value_of_code: np.ndarray  # (codebook,) beat id a code stands for at metrical steps; 0 = never used there
    code_of_value: np.ndarray  # (beat ids,) the code that most often stands for each beat id

    @classmethod
    def count(cls, clips: Iterable[tuple[np.ndarray, np.ndarray]], codebook_size: int, vocab: Vocab) -> BeatCodes:
        """clips: (codes (L, groups), content ids (L, 8)) per clip, with per-element codebooks."""
        counts = np.zeros((codebook_size, vocab.size("beat")), dtype=np.int64)
        metrical = vocab.id_of("type", "metrical")
        for codes, ids in clips:
            at = ids[:, COLUMN["type"]] == metrical
            np.add.at(counts, (codes[at, BEAT_GROUP], ids[at, COLUMN["beat"]]), 1)
        value_of_code = np.where(counts.sum(1) > 0, counts.argmax(1), 0)
        return cls(value_of_code, counts.argmax(0))

    def to_dict(self) -> dict:
        return {"value_of_code": self.value_of_code.tolist(), "code_of_value": self.code_of_value.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> BeatCodes:
        return cls(np.asarray(data["value_of_code"], dtype=np.int64), np.asarray(data["code_of_value"], dtype=np.int64))

    def resync(self, codes: np.ndarray, rows: np.ndarray, metrical: int) -> None:
        """In place: where a metrical row's beat differs from what its beat code stands for,
        put the code of the written beat. codes (B, groups), rows (B, 8)."""
        beats = rows[:, COLUMN["beat"]]
        off = (rows[:, COLUMN["type"]] == metrical) & (self.value_of_code[codes[:, BEAT_GROUP]] != beats)
        codes[off, BEAT_GROUP] = self.code_of_value[beats[off]]
