"""Qt-free parts of the GUI: audio rendering, settings and the session store."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from gui import audio
from gui.session import SessionStore, session_dir
from gui.settings import SCHEMA_VERSION, Settings, config_dir, load_settings, save_settings
from musER.errors import MusERError
from musER.piece import Piece

pytest_plugins = ["conftest_gui"]  # fixtures shared by the GUI tests

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("gui_dirs")]


def test_additive_render_is_audible_and_has_the_right_length(make_piece):
    piece = make_piece(bars=2)
    samples = audio.render(piece, sample_rate=22_050, engine="additive")
    assert samples.dtype == np.float32
    assert len(samples) == audio.rendered_length(piece, 22_050) == round((4.0 + audio.RELEASE_S) * 22_050)
    assert np.abs(samples).max() <= 1.0
    # Every bar sounds, and the release tail fades out.
    for b in range(2):
        bar = samples[b * 2 * 22_050 : (b + 1) * 2 * 22_050]
        assert np.sqrt(np.mean(bar**2)) > 0.01
    assert np.abs(samples[-100:]).max() < 0.01


needs_soundfont = pytest.mark.skipif(not audio.soundfont_available(),
                                     reason="tinysoundfont is not installed (installer/setup.sh adds it)")


@needs_soundfont
def test_soundfont_piano_sounds_each_note_and_rings_out(make_piece):
    piece = make_piece(bars=2)
    samples = audio.render(piece, sample_rate=22_050, engine="soundfont")
    assert samples.dtype == np.float32 and len(samples) == audio.rendered_length(piece, 22_050)
    assert 0 < np.abs(samples).max() <= 1.0
    onset = int(piece.notes[0, 0] * 22_050)
    assert not samples[:max(onset - 10, 0)].any()  # silent before the first strike
    for b in range(2):
        bar = samples[b * 2 * 22_050: (b + 1) * 2 * 22_050]
        assert np.sqrt(np.mean(bar**2)) > 0.005
    assert np.abs(samples[-100:]).max() < 0.5 * np.abs(samples).max()  # the release tail fades
    assert audio.best_engine() == "soundfont"  # what the app plays


@needs_soundfont
def test_soundfont_piano_plays_the_right_pitch_and_loudness():
    def tone(pitch, velocity):
        piece = Piece(np.array([[0.0, 1.0, pitch, velocity]]), np.array([0.0, 2.0]))
        return audio.render(piece, 22_050, "soundfont")[:22_050]

    spectrum = np.abs(np.fft.rfft(tone(69, 100)))
    peak_hz = np.argmax(spectrum[:2000])  # over one second, bin k is k Hz
    assert abs(peak_hz - 440) < 8  # A4
    quiet, loud = (np.sqrt(np.mean(tone(60, v) ** 2)) for v in (30, 120))
    assert loud > 2 * quiet


def test_louder_notes_render_louder():
    quiet = Piece(np.array([[0.0, 1.0, 60, 30]]), np.array([0.0, 2.0]))
    loud = Piece(np.array([[0.0, 1.0, 60, 120]]), np.array([0.0, 2.0]))
    rms = [np.sqrt(np.mean(audio.render(p, 22_050, "additive") ** 2)) for p in (quiet, loud)]
    assert rms[1] > 2 * rms[0]


def test_empty_piece_renders_silence():
    piece = Piece(np.zeros((0, 4)), np.array([0.0, 2.0]))
    samples = audio.render(piece, 8_000, "additive")
    assert len(samples) == audio.rendered_length(piece, 8_000) and not samples.any()


def test_write_wav_refuses_to_overwrite(tmp_path, make_piece):
    samples = audio.render(make_piece(bars=1), 8_000, "additive")
    path = audio.write_wav(tmp_path / "a.wav", samples, 8_000)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (8_000, 1, len(samples))
    with pytest.raises(MusERError, match="exists"):
        audio.write_wav(path, samples, 8_000)
    audio.write_wav(path, samples[:100], 8_000, overwrite=True)
    with wave.open(str(path)) as w:
        assert w.getnframes() == 100


def test_settings_round_trip_and_env_override(gui_dirs):
    assert config_dir() == gui_dirs / "config"
    s = Settings(valence=0.5, arousal=-0.25, bars=32, element_temperature={"pitch": 1.5}, key_lock=False,
                 pedal=False, spread_chords=False, repeats=False, top_p=0.8, element_top_p={"velocity": 0.6})
    save_settings(s)
    back = load_settings()
    assert (back.valence, back.arousal, back.bars, back.schema_version) == (0.5, -0.25, 32, SCHEMA_VERSION)
    assert back.key_lock is False and back.pedal is False and back.spread_chords is False and back.repeats is False
    assert back.element_temperature["pitch"] == 1.5 and back.element_temperature["tempo"] == 1.0
    assert back.top_p == 0.8 and back.element_top_p == {"velocity": 0.6}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"bars": "many"}', '{"schema_version": 99}'])
def test_damaged_settings_fall_back_to_defaults(gui_dirs, text):
    (gui_dirs / "config").mkdir()
    (gui_dirs / "config" / "settings.json").write_text(text)
    assert load_settings() == Settings()


def test_out_of_range_settings_are_clamped(gui_dirs):
    (gui_dirs / "config").mkdir()
    saved = {"bars": 500, "valence": 3, "extra": 1, "top_p": 0, "element_top_p": {"pitch": 2, "timbre": 0.5}}
    (gui_dirs / "config" / "settings.json").write_text(json.dumps(saved))
    s = load_settings()
    assert (s.bars, s.valence, s.top_p, s.element_top_p) == (64, 1.0, 0.05, {"pitch": 1.0})


def test_session_store_round_trip(gui_dirs, make_piece):
    store = SessionStore()
    assert store.root == session_dir() == gui_dirs / "data" / "session"
    piece = make_piece(name="first")
    piece.valence, piece.arousal = 0.5, -0.5
    result = store.add(piece)
    assert store.midi_path(result.id).is_file()
    result.kept, result.piece.name = True, "renamed"
    store.save(result)
    store.add(make_piece(name="second"))
    (store.root / "zz-damaged.json").write_text("{")
    restored = SessionStore().restore()
    assert [r.piece.name for r in restored] == ["renamed", "second"]
    first = restored[0]
    assert first.kept and first.piece.valence == 0.5 and first.piece.seed == 7
    np.testing.assert_allclose(first.piece.notes, piece.notes)
    np.testing.assert_allclose(first.piece.bar_times, piece.bar_times)
    store.remove(result.id)
    assert [r.piece.name for r in SessionStore().restore()] == ["second"]
