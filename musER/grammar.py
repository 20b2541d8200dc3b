"""Which ids each family may take at the next step, given what came before.

One transition table drives both the sampler's masks and the tests' grammar check.
States per sequence: the type of the previous content step and the current position.
"""

from __future__ import annotations

import numpy as np

from .elements import COLUMN
from .vocab import Vocab


class Grammar:
    """Allowed-id masks for compound steps (numpy, per sequence)."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        t = {name: vocab.id_of("type", name) for name in ("eos", "metrical", "note")}
        self.eos, self.metrical, self.note = t["eos"], t["metrical"], t["note"]
        self.bar = vocab.id_of("beat", "bar")

    def allowed_types(self, prev_type: int | None, may_end: bool, position: int | None = None) -> np.ndarray:
        """Types allowed next; `position` is the current position (None right after a bar line)."""
        mask = np.zeros(self.vocab.size("type"), dtype=bool)
        after_bar = prev_type == self.metrical and position is None
        after_position = prev_type == self.metrical and position is not None
        mask[self.metrical] = not after_position  # a position carries at least one note
        mask[self.note] = prev_type is not None and not after_bar  # notes need a position first
        if may_end and prev_type is not None:
            mask[self.eos] = True
        return mask

    def allowed_beats(self, prev_type: int | None, position: int | None) -> np.ndarray:
        """After a bar: a position or another bar; after a position: only notes (handled by type)."""
        mask = np.zeros(self.vocab.size("beat"), dtype=bool)
        mask[self.bar] = True
        if prev_type is not None:
            first = 0 if position is None else position + 1
            mask[self.bar + 1 + first:] = True
        return mask

    def family_mask(self, family: str, type_id: int, beat_id: int | None) -> np.ndarray:
        """Ids allowed for tempo, chord, pitch, duration, velocity once type (and beat) are known."""
        size = self.vocab.size(family)
        mask = np.zeros(size, dtype=bool)
        is_bar = beat_id == self.bar
        applies = {
            "tempo": type_id == self.metrical and is_bar,
            "chord": type_id == self.metrical and not is_bar,
            "pitch": type_id == self.note, "duration": type_id == self.note, "velocity": type_id == self.note,
        }[family]
        if applies:
            mask[1:] = True
            if family == "chord":
                mask[0] = True  # a position may carry no chord
        else:
            mask[0] = True
        return mask

    def errors(self, ids: np.ndarray) -> list[str]:
        """Grammar errors of a whole sequence (emotion step first); [] when well formed."""
        found = []
        prev_type, position = None, None
        if ids[0, COLUMN["type"]] != self.vocab.id_of("type", "emotion"):
            found.append("step 0 is not the emotion step")
        for t, row in enumerate(ids[1:], start=1):
            kind = int(row[COLUMN["type"]])
            if kind == self.eos:
                break
            if not self.allowed_types(prev_type, True, position)[kind]:
                found.append(f"step {t}: type {kind} after {prev_type}")
            beat = int(row[COLUMN["beat"]]) if kind == self.metrical else None
            if kind == self.metrical and not self.allowed_beats(prev_type, position)[beat]:
                found.append(f"step {t}: position {beat} does not move forward")
            found.extend(f"step {t}: {family} id {int(row[COLUMN[family]])} not allowed"
                         for family in ("tempo", "chord", "pitch", "duration", "velocity")
                         if not self.family_mask(family, kind, beat)[int(row[COLUMN[family]])])
            if kind == self.metrical:
                position = None if beat == self.bar else beat - self.bar - 1
            prev_type = kind
        return found
