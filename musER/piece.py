"""The plain record every layer passes around: notes in seconds plus the bar grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NOTE_COLUMNS = ("onset_s", "offset_s", "pitch", "velocity")


@dataclass
class Piece:
    """A piano piece: notes (N, 4) = onset_s, offset_s, pitch, velocity, sorted by onset.

    `bar_times` holds the start of every bar and the end of the last one (seconds); it is
    what a DAW will show as bar lines when the piece is saved.
    """

    notes: np.ndarray
    bar_times: np.ndarray
    name: str = "piece"
    valence: float | None = None
    arousal: float | None = None
    seed: int | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.notes = np.asarray(self.notes, dtype=np.float64).reshape(-1, 4)
        self.notes = self.notes[np.lexsort((self.notes[:, 2], self.notes[:, 0]))]
        self.bar_times = np.asarray(self.bar_times, dtype=np.float64).reshape(-1)

    @property
    def n_notes(self) -> int:
        return len(self.notes)

    @property
    def n_bars(self) -> int:
        return max(len(self.bar_times) - 1, 0)

    @property
    def seconds(self) -> float:
        end = float(self.notes[:, 1].max()) if self.n_notes else 0.0
        return max(end, float(self.bar_times[-1]) if len(self.bar_times) else 0.0)

    def save_midi(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write a standard MIDI file (atomic; refuses to replace a file unless asked)."""
        from .midi_io import write_midi

        return write_midi(self, path, overwrite=overwrite)
