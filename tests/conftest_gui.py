"""Fixtures for the GUI tests, loaded by ``pytest_plugins = ["conftest_gui"]`` in tests/test_gui_*.py.

Everything here is real: real MIDI files, the real tiny model from ``musER.testing``. Qt is
imported inside fixtures only, so loading this plugin works without PySide6.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from musER.piece import Piece

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def gui_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings and the session folder live in tmp_path, never in the user's folders.

    Every GUI test module applies it to all its tests through ``pytestmark``.
    """
    monkeypatch.setenv("MUSER_GUI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MUSER_GUI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Capture message boxes instead of blocking: a list of (title, text); questions answer Yes."""
    from PySide6.QtWidgets import QMessageBox

    seen: list[tuple[str, str]] = []

    def fake_exec(box: QMessageBox) -> int:
        seen.append((box.windowTitle(), box.text()))
        return int(QMessageBox.StandardButton.Ok.value)

    def fake_question(_parent, title, text, *args, **kwargs):
        seen.append((title, text))
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(QMessageBox, "question", fake_question)
    monkeypatch.setattr(QMessageBox, "about", lambda _parent, title, text: seen.append((title, text)))
    return seen


def build_piece(bars: int = 4, seconds_per_bar: float = 2.0, name: str = "test piece") -> Piece:
    """A real little piano piece: a I-vi-IV-V progression with a melody, varied velocities."""
    chords = [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)]
    rows = []
    for b in range(bars):
        t0 = b * seconds_per_bar
        rows.extend((t0, t0 + seconds_per_bar * 0.9, p - 12, 50 + 5 * b) for p in chords[b % 4])
        for k in range(4):
            on = t0 + k * seconds_per_bar / 4
            rows.append((on, on + seconds_per_bar / 4 * 0.8, chords[b % 4][k % 3] + 12, 70 + 10 * (k % 3)))
    return Piece(np.array(rows, float), np.arange(bars + 1) * seconds_per_bar, name=name, seed=7)


@pytest.fixture(name="make_piece")
def make_piece_fixture():
    """The ``build_piece`` function, for tests."""
    return build_piece


@pytest.fixture
def midi_file(tmp_path: Path) -> Path:
    """A real MIDI file on disk."""
    return build_piece(name="source").save_midi(tmp_path / "source.mid")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised real model, built once per test session."""
    testing = pytest.importorskip("musER.testing", reason="musER.testing.tiny_checkpoint not available yet")
    return testing.tiny_checkpoint(tmp_path_factory.mktemp("tiny_ckpt"))


@pytest.fixture
def window(qtbot, tiny_checkpoint: Path, dialogs):
    """The main window with the tiny model loaded."""
    from gui.main_window import MainWindow

    w = MainWindow(checkpoint=str(tiny_checkpoint))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_info is not None or bool(dialogs), timeout=60_000)
    assert w.model_info is not None, dialogs
    return w
