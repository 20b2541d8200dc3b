"""Small dialog helpers: errors with details, and file choosers that never overwrite silently."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

MIDI_FILTER = "MIDI files (*.mid *.midi)"


def show_error(parent: QWidget, title: str, message: str, details: str = "") -> None:
    """A warning dialog with an optional details pane."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()


def ask_open_midi(parent: QWidget, title: str, start_dir: str) -> Path | None:
    """Choose an existing MIDI file."""
    path, _ = QFileDialog.getOpenFileName(parent, title, start_dir, MIDI_FILTER)
    return Path(path) if path else None


def ask_save_path(parent: QWidget, title: str, start: Path, file_filter: str) -> Path | None:
    """A save dialog (Qt's asks before replacing a file). If the suffix of ``start`` was left
    out, it is added, and replacing the file that names asks again."""
    chosen, _ = QFileDialog.getSaveFileName(parent, title, str(start), file_filter)
    if not chosen:
        return None
    path, suffix = Path(chosen), start.suffix.lower()
    if path.suffix.lower() not in {suffix, ".midi" if suffix == ".mid" else suffix}:
        path = path.with_name(path.name + suffix)
        answer = QMessageBox.question(parent, title, f"{path.name} exists. Replace it?") if path.exists() else None
        if answer not in (None, QMessageBox.StandardButton.Yes):
            return None
    return path


def safe_name(name: str) -> str:
    """A file-name-safe version of a result name."""
    return re.sub(r"[^\w+.-]+", "_", name).strip("_.")[:80] or "piece"


def is_midi(path: str | Path) -> bool:
    """True for a .mid / .midi file name."""
    return Path(path).suffix.lower() in (".mid", ".midi")
