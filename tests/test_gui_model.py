"""End-to-end GUI tests on the real tiny model from ``musER.testing`` (skipped until it exists)."""

from __future__ import annotations

import pretty_midi
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from gui.session import SessionStore
from gui.worker import Generate, LoadModel, WorkerHost

pytest_plugins = ["conftest_gui"]  # fixtures shared by the GUI tests

pytestmark = [pytest.mark.gui, pytest.mark.slow, pytest.mark.usefixtures("gui_dirs")]


def test_worker_reports_progress_and_pieces(qtbot, tiny_checkpoint):
    host = WorkerHost()
    try:
        with qtbot.waitSignal(host.finished, timeout=60_000):
            host.submit(LoadModel(str(tiny_checkpoint)))
        request = {"valence": 0.5, "arousal": 0.5, "bars": 2, "n": 2, "seed": 3}
        done = []
        host.finished.connect(done.append)
        with qtbot.waitSignals([host.progress, host.finished], timeout=60_000):
            host.submit(Generate(request=request))
        pieces = done[-1].result
        assert len(pieces) == 2 and all(p.n_bars >= 1 for p in pieces)
        assert not host.busy
    finally:
        host.shutdown()


def test_generate_list_roll_latents_export(qtbot, window, monkeypatch, tmp_path):
    w = window
    w.compose.emotion.set_value(0.8, 0.6)
    w.compose.bars.setValue(2)
    w.compose.variations.setValue(2)
    assert w.compose.generate_button.isEnabled()
    qtbot.mouseClick(w.compose.generate_button, Qt.MouseButton.LeftButton)
    assert w.compose.cancel_button.isEnabled()  # busy while generating
    qtbot.waitUntil(lambda: w.results_list.count() == 2, timeout=60_000)
    assert len(SessionStore().restore()) == 2  # saved at once
    assert w.current is not None and w.current.name.startswith("Q1")
    assert w.roll.drawn_note_count() == w.current.n_notes
    assert w.roll.drawn_bar_count() == len(w.current.bar_times)
    if w.latent_view._reference is not None:
        qtbot.waitUntil(lambda: w.latent_view.current_point() is not None, timeout=30_000)
    qtbot.waitUntil(w.compose.generate_button.isEnabled, timeout=30_000)

    target = tmp_path / "export.mid"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    w.actions.export_midi.trigger()
    notes = [n for inst in pretty_midi.PrettyMIDI(str(target)).instruments for n in inst.notes]
    assert len(notes) == w.current.n_notes


def test_transfer_flow_with_ab_preview(qtbot, window, midi_file, monkeypatch):
    w = window
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(midi_file), ""))
    w.actions.open_midi.trigger()
    qtbot.waitUntil(lambda: w.transfer.source is not None, timeout=30_000)
    assert w.tabs.currentWidget() is w.transfer_tab
    assert w.roll.drawn_note_count() == w.transfer.source.n_notes  # A is shown
    w.transfer.set_elements(["velocity", "duration"])
    w.compose.emotion.set_value(-0.9, -0.9)
    qtbot.mouseClick(w.transfer.transfer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.transfer.result is not None, timeout=60_000)
    assert "(duration, velocity)" in w.transfer.result.name
    assert w.results_list.count() == 1 and w.current is w.transfer.result
    assert w.transfer.play_b.isEnabled()
    with qtbot.waitSignal(w.player.playing_changed, timeout=20_000):
        qtbot.mouseClick(w.transfer.play_a, Qt.MouseButton.LeftButton)
    assert w.current is w.transfer.source
    w.player.stop()

    # The same source, moved towards a reference file instead of the pad.
    w.actions.open_reference.trigger()
    qtbot.waitUntil(lambda: w.transfer.reference is not None, timeout=30_000)
    assert w.transfer.target_is_reference()
    qtbot.waitUntil(w.transfer.transfer_button.isEnabled, timeout=30_000)
    qtbot.mouseClick(w.transfer.transfer_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.results_list.count() == 2, timeout=60_000)


def test_bad_midi_file_gives_a_dialog(qtbot, window, dialogs, tmp_path, monkeypatch):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd this is not a MIDI file")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    window.actions.open_midi.trigger()
    qtbot.waitUntil(lambda: bool(dialogs), timeout=30_000)
    title, text = dialogs[0]
    assert title == "Could not open the MIDI file" and "broken.mid" in text
    assert window.transfer.source is None and window.isVisible()


def test_cancel_stops_generation(qtbot, window):
    w = window
    w.compose.bars.setValue(64)
    w.compose.variations.setValue(16)
    with qtbot.waitSignal(w.worker.cancelled, timeout=60_000):
        w.actions.generate.trigger()
        qtbot.waitSignal(w.worker.progress, timeout=30_000).wait()
        w.actions.cancel.trigger()
    assert w.results_list.count() == 0
    assert w.compose.generate_button.isEnabled() and not w.compose.cancel_button.isEnabled()
