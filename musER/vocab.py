"""Per-family vocabularies, ordered by musical value, stored as plain data in checkpoints.

Id 0 of every family is "ignore" (the family does not apply at this step, or padding).
Ids 1.. follow musical value (slower tempo, lower pitch, shorter note, softer velocity
before larger ones), so the element regulariser orders something meaningful.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from .elements import FAMILIES

STEPS_PER_BEAT = 12  # 12 grid units per beat: 16ths and triplets both land on the grid
BEATS_PER_BAR = 4
STEPS_PER_BAR = STEPS_PER_BEAT * BEATS_PER_BAR
HALF_BAR_STEPS = STEPS_PER_BAR // 2
PITCH_MIN, PITCH_MAX = 21, 108  # the 88 piano keys
CHORD_ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Quality name -> intervals above the root; the order is the id order inside a root.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "sus2": (0, 2, 7), "sus4": (0, 5, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}
TYPES = ("eos", "emotion", "metrical", "note")
EMOTIONS = ("Q1", "Q2", "Q3", "Q4")


def _durations() -> list[int]:
    """Note lengths in grid units: every unit to a beat, then coarser up to two bars."""
    short = list(range(1, STEPS_PER_BEAT + 1))
    longer = [15, 18, 21, 24, 30, 36, 42, 48, 60, 72, 84, 96]
    return short + longer


def _tempos() -> list[float]:
    """56 geometric tempo bins from 30 to 300 BPM (4.3 % apart)."""
    return [round(float(x), 2) for x in np.geomspace(30.0, 300.0, 56)]


@dataclass(frozen=True)
class Vocab:
    """The value list of every family; a value's id is its index + 1 (0 = ignore)."""

    values: dict[str, list] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Vocab:
        chords = ["N"] + [f"{r}:{q}" for r in CHORD_ROOTS for q in CHORD_QUALITIES]
        return cls(values={
            "tempo": _tempos(),
            "chord": chords,
            "beat": ["bar"] + list(range(STEPS_PER_BAR)),
            "type": list(TYPES),
            "pitch": list(range(PITCH_MIN, PITCH_MAX + 1)),
            "duration": _durations(),
            "velocity": list(range(3, 128, 3)),
            "emotion": list(EMOTIONS),
        })

    def size(self, family: str) -> int:
        return len(self.values[family]) + 1

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.size(f) for f in FAMILIES)

    def id_of(self, family: str, value) -> int:
        return self.values[family].index(value) + 1

    def value_of(self, family: str, token_id: int):
        if token_id <= 0:
            return None
        return self.values[family][token_id - 1]

    def nearest_id(self, family: str, value: float) -> int:
        """Id of the numeric value closest to `value` (tempo, duration, velocity)."""
        arr = np.asarray(self.values[family], dtype=float)
        if family == "tempo":  # tempo bins are geometric: compare in log space
            return int(np.argmin(np.abs(np.log(arr) - np.log(max(value, 1e-6))))) + 1
        return int(np.argmin(np.abs(arr - value))) + 1

    def ordered_mask(self, family: str) -> np.ndarray:
        """True for ids whose values are ordered (the regulariser compares only these)."""
        mask = np.ones(self.size(family), dtype=bool)
        mask[0] = False
        if family == "beat":
            mask[1] = False  # "bar" is a marker, not a position
        if family == "chord":
            mask[1] = False  # "N" (no chord) has no place in the root order
        if family in ("type", "emotion"):
            mask[:] = False
            mask[1:] = True
        return mask

    def to_dict(self) -> dict:
        return {"values": self.values, "hash": self.hash()}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        vocab = cls(values={k: list(v) for k, v in data["values"].items()})
        if "hash" in data and data["hash"] != vocab.hash():
            from .errors import CheckpointError

            raise CheckpointError("vocabulary hash does not match its values (damaged file?)")
        return vocab

    def hash(self) -> str:
        blob = json.dumps(self.values, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
