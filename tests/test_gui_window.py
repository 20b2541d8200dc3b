"""Main-window tests that need no model: restore after restart, export, drag-out, and a
missing checkpoint shown as a dialog (the window stays usable)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from gui.main_window import MainWindow
from gui.session import SessionStore
from gui.settings import load_settings

pytest_plugins = ["conftest_gui"]  # fixtures shared by the GUI tests

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("gui_dirs")]


@pytest.fixture
def open_window(qtbot, dialogs, tmp_path):
    """Opens windows whose checkpoint does not exist; waits for the load-failure dialog."""

    def make() -> MainWindow:
        dialogs.clear()
        w = MainWindow(checkpoint=str(tmp_path / "no-such-checkpoint"))
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: bool(dialogs), timeout=30_000)
        return w

    return make


def test_missing_checkpoint_gives_a_dialog_not_a_crash(open_window, dialogs):
    w = open_window()
    assert dialogs[0][0] == "Model not loaded"
    assert w.model_info is None
    assert "not loaded" in w.model_label.text()
    assert not w.compose.generate_button.isEnabled()
    assert not w.actions.generate.isEnabled()
    assert not w.transfer.transfer_button.isEnabled()


def test_the_window_fits_a_laptop_screen_with_every_section_open(qtbot, open_window):
    w = open_window()
    w.compose.advanced_toggle.setChecked(True)
    w.resize(1280, 680)  # a 1280 x 720 screen less a task bar
    qtbot.waitUntil(lambda: w.height() <= 680, timeout=5_000)
    assert w.minimumSizeHint().height() <= 680
    # the Generate button is reached by scrolling the panel, not cut off below the screen
    w.compose_tab.ensureWidgetVisible(w.compose.generate_button)
    qtbot.waitUntil(lambda: w.compose.generate_button.visibleRegion().boundingRect().height() > 0, timeout=5_000)


def test_results_and_settings_survive_a_restart(qtbot, open_window, make_piece):
    store = SessionStore()
    for i in range(3):
        store.add(make_piece(bars=2 + i, name=f"piece {i}"))
    w = open_window()
    assert w.results_list.count() == 3
    assert w.current is not None and w.current.name == "piece 2"  # the newest is shown
    assert w.roll.drawn_note_count() == w.current.n_notes
    item = w.results_list.item(0)
    item.setText("my favourite")
    item.setCheckState(Qt.CheckState.Checked)
    w.results_list.select(w.results_list.ids()[1])
    w.actions.delete.trigger()
    w.compose.emotion.set_value(-0.5, 0.75)
    w.compose.bars.setValue(24)
    w.close()
    assert load_settings().bars == 24

    w2 = open_window()
    names = [w2.results_list.item(i).text() for i in range(w2.results_list.count())]
    assert names == ["my favourite", "piece 2"]
    assert w2.results_list.item(0).checkState() == Qt.CheckState.Checked
    assert w2.compose.emotion.value() == (-0.5, 0.75) and w2.compose.bars.value() == 24


def test_export_midi_and_wav_through_the_save_dialog(qtbot, open_window, monkeypatch, tmp_path, dialogs, make_piece):
    SessionStore().add(make_piece(bars=2, name="export me"))
    w = open_window()
    target = tmp_path / "out" / "song"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    w.actions.export_midi.trigger()
    midi = target.with_suffix(".mid")
    notes = pretty_midi.PrettyMIDI(str(midi)).instruments[0].notes
    assert len(notes) == w.current.n_notes
    w.actions.export_wav.trigger()  # rendered off the GUI thread, then written
    qtbot.waitUntil(target.with_suffix(".wav").is_file, timeout=20_000)
    assert target.with_suffix(".wav").stat().st_size > 44

    # The dialog added no suffix and the suffixed file exists: ask first; a "No" keeps the file.
    before = midi.read_bytes()
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    w.results_list.currentItem().setText("renamed")
    w.actions.export_midi.trigger()
    assert midi.read_bytes() == before
    assert SessionStore().restore()[0].exported_to == [str(midi), str(target.with_suffix(".wav"))]


def test_a_wav_that_cannot_be_rendered_is_a_dialog_and_no_file(qtbot, open_window, monkeypatch, tmp_path, dialogs,
                                                             make_piece):
    SessionStore().add(make_piece(bars=1, name="silent"))
    w = open_window()
    target = tmp_path / "song.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))

    def broken(piece):
        raise RuntimeError("the synthesiser failed")

    monkeypatch.setattr(w.player, "render", broken)
    dialogs.clear()
    w.actions.export_wav.trigger()
    qtbot.waitUntil(lambda: bool(dialogs), timeout=10_000)
    assert dialogs[0][0] == "Export failed" and "the synthesiser failed" in dialogs[0][1]
    assert not target.exists() and SessionStore().restore()[0].exported_to == []


def test_drag_out_and_play_the_selected_result(qtbot, open_window, make_piece):
    SessionStore().add(make_piece(bars=2, name="drag me/please"))
    w = open_window()
    with qtbot.waitSignal(w.player.playing_changed, timeout=20_000) as started:
        w.actions.play.trigger()
    assert started.args == [True]
    w.actions.stop.trigger()
    assert not w.player.is_playing and not w.roll.playhead.isVisible()
    data = w.results_list.mimeData([w.results_list.item(0)])
    path = Path(data.urls()[0].toLocalFile())
    assert path.name == "drag_me_please.mid"
    assert len(pretty_midi.PrettyMIDI(str(path)).instruments[0].notes) == w.current.n_notes


def test_window_module_does_not_import_torch():
    code = "import sys, gui.main_window, gui.app; assert 'torch' not in sys.modules, 'torch imported'"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, timeout=60)
