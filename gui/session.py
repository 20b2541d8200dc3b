"""Results survive closing, a crash or a restart: each piece is saved as soon as it exists.

Every result gets ``<id>.mid`` (what a user would want back) and ``<id>.json`` (the notes,
bar grid and metadata, so restoring needs no MIDI parsing). The folder is
``<user data dir>/session`` (``MUSER_GUI_DATA_DIR`` overrides the data dir, for tests).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musER.piece import Piece

from .settings import APP_NAME, atomic_write_text

log = logging.getLogger(__name__)


def session_dir() -> Path:
    """Folder where unexported results are kept."""
    override = os.environ.get("MUSER_GUI_DATA_DIR")
    if override:
        return Path(override) / "session"
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "session"


@dataclass
class Result:
    """One piece in the results list, with its place on disk."""

    id: str
    piece: Piece
    kind: str = "generated"  # or "transfer"
    kept: bool = False
    created: float = field(default_factory=time.time)
    exported_to: list[str] = field(default_factory=list)


class SessionStore:
    """Saves, renames, deletes and restores results in one folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or session_dir()

    def midi_path(self, result_id: str) -> Path:
        """The session copy of a result's MIDI file."""
        return self.root / f"{result_id}.mid"

    def add(self, piece: Piece, kind: str = "generated") -> Result:
        """Save a new piece immediately and return its record."""
        result = Result(id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}", piece=piece, kind=kind)
        self.save(result)
        return result

    def save(self, result: Result) -> None:
        """Write (or rewrite) a result's MIDI and metadata atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            result.piece.save_midi(self.midi_path(result.id), overwrite=True)
        except Exception as exc:
            log.warning("could not write session MIDI for %s: %s", result.id, exc)
        atomic_write_text(self.root / f"{result.id}.json", json.dumps(_to_json(result), default=str))

    def remove(self, result_id: str) -> None:
        """Delete a result's files."""
        for suffix in (".json", ".mid"):
            (self.root / f"{result_id}{suffix}").unlink(missing_ok=True)

    def restore(self) -> list[Result]:
        """Every saved result, oldest first; damaged records are skipped with a log line."""
        out = []
        for path in sorted(self.root.glob("*.json")):
            try:
                out.append(_from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping damaged session record %s: %s", path, exc)
        return sorted(out, key=lambda r: r.created)


def _to_json(result: Result) -> dict:
    p = result.piece
    return {
        "id": result.id, "kind": result.kind, "kept": result.kept, "created": result.created,
        "exported_to": result.exported_to, "name": p.name, "valence": p.valence,
        "arousal": p.arousal, "seed": p.seed, "info": p.info,
        "notes": p.notes.tolist(), "bar_times": p.bar_times.tolist(),
    }


def _from_json(raw: dict) -> Result:
    piece = Piece(
        notes=np.asarray(raw["notes"], dtype=float).reshape(-1, 4),
        bar_times=np.asarray(raw["bar_times"], dtype=float),
        name=str(raw["name"]), valence=raw.get("valence"), arousal=raw.get("arousal"),
        seed=raw.get("seed"), info=dict(raw.get("info") or {}),
    )
    return Result(id=str(raw["id"]), piece=piece, kind=str(raw.get("kind", "generated")),
                  kept=bool(raw.get("kept", False)), created=float(raw.get("created", 0.0)),
                  exported_to=list(raw.get("exported_to", [])))
