"""Representation: value-ordered vocabularies and the MIDI -> compound words -> MIDI round trip."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import scale_notes, write_midi

from musER.elements import COLUMN
from musER.grammar import Grammar
from musER.midi_io import read_midi
from musER.tokenizer import decode_ids, encode_notes
from musER.vocab import Vocab

VOCAB = Vocab.default()


def note_f1(reference: np.ndarray, decoded: np.ndarray, tol: float = 0.05) -> float:
    """Onset within tol seconds and same pitch, one-to-one."""
    used = np.zeros(len(decoded), dtype=bool)
    hits = 0
    for onset, _, pitch, _ in reference:
        cand = np.nonzero((decoded[:, 2] == pitch) & (np.abs(decoded[:, 0] - onset) <= tol) & ~used)[0]
        if len(cand):
            used[cand[0]] = True
            hits += 1
    return 2 * hits / max(len(reference) + len(decoded), 1)


def roundtrip(notes, beats=None):
    enc = encode_notes(notes, VOCAB, beats)
    piece = decode_ids(enc.ids, VOCAB)
    decoded = piece.notes.copy()
    decoded[:, :2] += enc.time_offset
    return enc, piece, decoded


@pytest.mark.parametrize("family", ["tempo", "pitch", "duration", "velocity"])
def test_numeric_vocabularies_are_ordered_by_value(family):
    values = VOCAB.values[family]
    assert values == sorted(values)
    assert VOCAB.id_of(family, values[0]) == 1  # id 0 is "ignore"


def test_positions_are_ordered_and_bar_is_first():
    beat = VOCAB.values["beat"]
    assert beat[0] == "bar" and beat[1:] == sorted(beat[1:])


def test_vocab_round_trips_through_dict_and_rejects_tampering():
    data = VOCAB.to_dict()
    assert Vocab.from_dict(data).hash() == VOCAB.hash()
    data["values"]["pitch"] = data["values"]["pitch"][::-1]
    with pytest.raises(Exception, match="hash"):
        Vocab.from_dict(data)


def test_synthetic_midi_round_trip_is_exact_in_time_and_pitch(tmp_path):
    path = write_midi(tmp_path / "scale.mid", scale_notes(48), tempos=((0, 96.0),))
    midi = read_midi(path)
    assert midi.beat_times is not None  # a real tempo map (96 BPM) is kept
    enc, piece, decoded = roundtrip(midi.notes, midi.beat_times)
    assert Grammar(VOCAB).errors(enc.ids) == []
    assert note_f1(midi.notes, decoded, tol=0.03) == 1.0  # half a grid unit at 96 BPM
    assert np.allclose(np.diff(piece.bar_times), 4 * 60 / 96, rtol=0.045)  # within one tempo bin


def test_tempo_change_in_file_is_followed(tmp_path):
    path = write_midi(tmp_path / "tempo.mid", scale_notes(64), tempos=((0, 80.0), (16, 150.0)))
    midi = read_midi(path)
    _, piece, decoded = roundtrip(midi.notes, midi.beat_times)
    assert note_f1(midi.notes, decoded) == 1.0
    bar_len = np.diff(piece.bar_times)
    assert bar_len[0] > 1.6 * bar_len[-1]  # slow bars, then fast bars


def test_a_tempo_slower_than_the_slowest_bin_still_covers_every_note(tmp_path):
    # 10 BPM: each real bar is three bars of the slowest bin (30 BPM); the grid keeps going
    path = write_midi(tmp_path / "slow.mid", scale_notes(32), tempos=((0, 10.0),))
    midi = read_midi(path)
    enc, piece, decoded = roundtrip(midi.notes, midi.beat_times)
    assert Grammar(VOCAB).errors(enc.ids) == []
    assert note_f1(midi.notes, decoded, tol=0.1) == 1.0  # half a grid unit at 30 BPM is 0.083 s
    assert np.allclose(np.diff(piece.bar_times), 8.0, rtol=0.045)  # bars of the slowest bin


def test_sustain_pedal_lengthens_notes(tmp_path):
    notes = [(0, 0.25, 60, 80), (1, 0.25, 64, 80)]
    plain = read_midi(write_midi(tmp_path / "plain.mid", notes, tempos=((0, 100.0),)))
    pedal = read_midi(write_midi(tmp_path / "pedal.mid", notes, tempos=((0, 100.0),), pedal=[(0, 3)]))
    assert plain.notes[0, 1] == pytest.approx(0.15, abs=1e-3)
    assert pedal.notes[0, 1] == pytest.approx(1.8, abs=1e-3)  # held to the pedal release (3 beats)


def test_notes_outside_the_piano_are_folded_and_counted():
    notes = np.array([[0.0, 0.5, 12, 80], [0.5, 1.0, 120, 80], [1.0, 1.5, 60, 80]])
    enc = encode_notes(notes, VOCAB)
    assert enc.stats["pitch_folded"] == 2
    pitches = sorted(decode_ids(enc.ids, VOCAB).notes[:, 2])
    assert pitches[0] % 12 == 0 and pitches[-1] % 12 == 0 and pitches[0] >= 21 and pitches[-1] <= 108


def test_a_key_named_twice_at_one_onset_is_one_note_the_longest_and_loudest():
    enc = encode_notes(np.array([[0.0, 0.5, 60, 80], [0.0, 0.5, 64, 80], [0.5, 1.0, 62, 80]]), VOCAB)
    ids = enc.ids.copy()
    note = np.nonzero(ids[:, COLUMN["type"]] == VOCAB.id_of("type", "note"))[0][0]  # the chord's first note
    louder = ids[note].copy()
    louder[COLUMN["duration"]] += 3
    louder[COLUMN["velocity"]] += 2
    ids = np.insert(ids, note + 1, louder, axis=0)  # the same key again at the same position
    plain, merged = decode_ids(enc.ids, VOCAB), decode_ids(ids, VOCAB)
    assert merged.info["merged_notes"] == 1 and plain.info["merged_notes"] == 0
    assert np.array_equal(merged.notes[:, [0, 2]], plain.notes[:, [0, 2]])
    first = merged.notes[merged.notes[:, 2] == plain.notes[0, 2]][0]
    assert first[1] > plain.notes[0, 1] and first[3] > plain.notes[0, 3]


def test_a_note_ends_where_its_key_is_struck_again():
    notes = np.array([[0.0, 2.0, 60, 80], [0.5, 1.0, 60, 70], [0.5, 1.0, 64, 70]])
    piece = decode_ids(encode_notes(notes, VOCAB).ids, VOCAB)
    c = piece.notes[piece.notes[:, 2] == 60]
    assert len(c) == 2 and c[0, 1] == pytest.approx(c[1, 0])  # cut at the second strike
    assert piece.notes[piece.notes[:, 2] == 64][0, 1] > c[1, 0]  # other keys untouched


def test_long_piece_beyond_the_training_window_round_trips(tmp_path):
    path = write_midi(tmp_path / "long.mid", scale_notes(1600, step=0.25), tempos=((0, 110.0),))
    midi = read_midi(path)
    enc, _, decoded = roundtrip(midi.notes, midi.beat_times)
    assert len(enc.ids) > 1024
    assert note_f1(midi.notes, decoded) == 1.0


@pytest.mark.emopia
def test_emopia_clips_round_trip_with_high_note_f1(emopia):
    files = sorted((emopia / "midis").glob("*.mid"))[::110]
    scores = []
    for f in files:
        midi = read_midi(f)
        assert midi.beat_times is None  # EMOPIA's 120 BPM is a placeholder: beats are estimated
        enc, _, decoded = roundtrip(midi.notes)
        assert Grammar(VOCAB).errors(enc.ids) == []
        scores.append(note_f1(midi.notes, decoded))
    assert min(scores) >= 0.97, scores
