"""Widget tests: change state, assert the view (no model needed)."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import QPoint, QPointF, Qt

from gui import audio
from gui.gui_thread_gc import GuiThreadCollector
from gui.playback import Player
from gui.widgets.compose_panel import ComposePanel
from gui.widgets.piano_roll import PianoRoll
from gui.widgets.va_pad import SLIDER_STEPS, EmotionPicker
from musER.elements import ELEMENTS

pytest_plugins = ["conftest_gui"]  # fixtures shared by the GUI tests

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("gui_dirs")]


@pytest.fixture
def picker(qtbot):
    w = EmotionPicker()
    qtbot.addWidget(w)
    w.resize(300, 400)
    w.show()
    return w


def test_sliders_move_the_pad(qtbot, picker):
    with qtbot.waitSignal(picker.changed) as blocker:
        picker.valence_slider.setValue(50)
    assert blocker.args == pytest.approx([0.5, 0.0])
    picker.arousal_slider.setValue(-SLIDER_STEPS)
    assert picker.pad.value() == pytest.approx((0.5, -1.0))
    assert "+0.50" in picker.readout.text() and "-1.00" in picker.readout.text()


def test_pad_moves_the_sliders_and_is_clamped(picker):
    picker.pad.set_value(-0.3, 0.8)
    assert (picker.valence_slider.value(), picker.arousal_slider.value()) == (-30, 80)
    picker.pad.target.setPos(QPointF(5.0, -7.0))  # a drag past the edge
    assert picker.value() == (1.0, -1.0)
    assert (picker.valence_slider.value(), picker.arousal_slider.value()) == (100, -100)


def test_quadrant_presets(qtbot, picker):
    for q, expected in {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}.items():
        qtbot.mouseClick(picker.preset_buttons[q], Qt.MouseButton.LeftButton)
        assert picker.value() == expected
        assert picker.valence_slider.value() == expected[0] * SLIDER_STEPS


def test_click_on_pad_moves_target(qtbot, picker):
    pad = picker.pad
    scene_point = pad.getPlotItem().vb.mapViewToScene(QPointF(0.5, -0.5))
    view_point = pad.mapFromScene(scene_point)
    qtbot.mouseClick(pad.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(view_point.x(), view_point.y()))
    v, a = picker.value()
    assert v == pytest.approx(0.5, abs=0.05) and a == pytest.approx(-0.5, abs=0.05)
    assert picker.valence_slider.value() == pytest.approx(50, abs=5)


def test_compose_panel_request_fields(qtbot):
    panel = ComposePanel()
    qtbot.addWidget(panel)
    panel.emotion.set_value(0.25, -0.75)
    panel.bars.setValue(100)  # clamped by the spin box
    panel.variations.setValue(3)
    panel.element_temperature["velocity"].setValue(2.5)
    fields = panel.request_fields()
    assert fields["valence"] == 0.25 and fields["arousal"] == -0.75
    assert fields["bars"] == 64 and fields["n"] == 3
    assert set(fields["element_temperature"]) == set(ELEMENTS)
    assert fields["element_temperature"]["velocity"] == 2.5
    assert fields["top_p"] == 0.9 and fields["element_top_p"] == {}  # every element at "overall"
    assert panel.element_top_p["pitch"].text() == "overall"
    panel.top_p.setValue(0.8)
    panel.element_top_p["pitch"].setValue(0.5)
    fields = panel.request_fields()
    assert fields["top_p"] == 0.8 and fields["element_top_p"] == {"pitch": 0.5}
    assert fields["key_lock"] is True and fields["pedal"] is True and fields["spread_chords"] is True
    assert fields["repeats"] is True
    panel.key_lock.setChecked(False)
    panel.pedal.setChecked(False)
    panel.spread_chords.setChecked(False)
    panel.repeats.setChecked(False)
    from musER.api import GenerationRequest

    request = GenerationRequest(**panel.request_fields())
    assert request.key_lock is False and request.pedal is False and request.spread_chords is False
    assert request.repeats is False
    panel.set_state(model_ready=False, busy=False)
    assert not panel.generate_button.isEnabled()
    panel.set_state(model_ready=True, busy=False)
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.set_state(model_ready=True, busy=True)
    assert not panel.generate_button.isEnabled() and panel.cancel_button.isEnabled()


def test_piano_roll_draws_notes_bars_and_playhead(qtbot, make_piece):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    piece = make_piece(bars=3)
    roll.set_piece(piece)
    assert roll.drawn_note_count() == piece.n_notes
    assert roll.drawn_bar_count() == len(piece.bar_times)
    np.testing.assert_allclose(roll._notes.opts["y0"], piece.notes[:, 2] - 0.4)
    colors = {c.name() for c in roll._notes.opts["brushes"]}
    assert len(colors) > 1  # velocity shows as colour
    assert not roll.playhead.isVisible()
    roll.set_playhead(1.5)
    assert roll.playhead.isVisible() and roll.playhead.value() == 1.5
    roll.set_piece(None)
    assert roll.drawn_note_count() == 0


def test_player_runs_the_playhead_and_reports_output(qtbot, make_piece):
    player = Player(sample_rate=8_000)
    piece = make_piece(bars=1, seconds_per_bar=0.5)
    messages: list[str] = []
    player.message.connect(messages.append)
    with qtbot.waitSignal(player.playing_changed, timeout=10_000) as started:
        player.play(piece)
    assert started.args == [True]
    with qtbot.waitSignal(player.position, check_params_cb=lambda s: s is not None and s > 0, timeout=5_000):
        pass
    assert any(m == "playing" or m.startswith("no audio output") for m in messages)
    with qtbot.waitSignal(player.playing_changed, timeout=5_000) as stopped:
        pass  # stops by itself at the end
    assert stopped.args == [False] and not player.is_playing
    # exporting what was just played reuses its audio; another piece is rendered afresh
    delivered = []
    other = make_piece(bars=2, seconds_per_bar=0.5)
    for p in (piece, piece, other):
        player.render_later(p, delivered.append)
    qtbot.waitUntil(lambda: len(delivered) == 3, timeout=10_000)
    played = next(x for x in delivered if len(x) == audio.rendered_length(piece, 8_000))
    assert sum(x is played for x in delivered) == 2 and len(played) == audio.rendered_length(piece, 8_000)
    assert sum(len(x) == audio.rendered_length(other, 8_000) for x in delivered) == 1


def test_a_piece_that_cannot_be_rendered_is_reported_and_not_left_playing(qtbot, make_piece, monkeypatch):
    player = Player(sample_rate=8_000)

    def broken(piece):
        raise RuntimeError("the synthesiser failed")

    monkeypatch.setattr(player, "render", broken)
    with qtbot.waitSignal(player.message, check_params_cb=lambda m: m.startswith("could not render"), timeout=10_000):
        player.play(make_piece(bars=1))
    assert not player.is_playing


def test_cycles_are_collected_on_the_gui_thread_only(qtbot):
    # the worker freeing a closed window's Qt wrappers once froze the app (gui_thread_gc.py)
    assert gc.isenabled()
    freed_on: list[threading.Thread] = []

    class Node:
        def __del__(self) -> None:
            freed_on.append(threading.current_thread())

    def make_cycles() -> None:
        for _ in range(3):
            node = Node()
            node.me = node
        _ = [[] for _ in range(100)]  # past the lowered threshold many times over

    limits = gc.get_threshold()
    gc.set_threshold(1, 10, 10)
    collector = GuiThreadCollector()
    try:
        worker = threading.Thread(target=make_cycles)
        worker.start()
        worker.join()
        assert freed_on == [] and not gc.isenabled()  # the worker collected nothing
        qtbot.waitUntil(lambda: len(freed_on) == 3, timeout=5_000)
        assert set(freed_on) == {threading.main_thread()}
    finally:
        collector.stop()
        gc.set_threshold(*limits)
    assert gc.isenabled()
