"""Bad and unusual MIDI input: each gets a clear MidiReadError or a documented behaviour."""

from __future__ import annotations

import mido
import numpy as np
import pytest
from conftest import scale_notes, write_midi
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from musER.errors import MidiReadError, TokenizationError
from musER.grammar import Grammar
from musER.midi_io import read_midi
from musER.piece import Piece
from musER.tokenizer import decode_ids, encode_notes
from musER.vocab import Vocab

VOCAB = Vocab.default()


def test_corrupt_bytes_raise_a_clear_error(tmp_path):
    path = tmp_path / "corrupt.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06garbage-not-midi" * 3)
    with pytest.raises(MidiReadError, match="not a readable MIDI file"):
        read_midi(path)


def test_cryptic_reader_errors_are_said_plainly(tmp_path):
    """A file without tracks, one timed in SMPTE frames, one cut short and a text file: each named
    for what it is."""
    whole = tmp_path / "whole.mid"
    midi = mido.MidiFile(type=1)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=80, time=0),
                            mido.Message("note_off", note=60, time=480)])
    midi.tracks.append(track)
    midi.save(whole)
    data = whole.read_bytes()
    cases = {"no_tracks.mid": data[:10] + b"\x00\x00" + data[12:14],
             "smpte.mid": data[:12] + bytes([0xE7, 0x28]) + data[14:],  # -25 frames/s, 40 ticks a frame
             "cut.mid": data[:-6], "text.mid": b"notes: C E G\n" * 4}
    expected = {"no_tracks.mid": "holds no tracks", "smpte.mid": "SMPTE frames", "cut.mid": "cut short",
                "text.mid": "does not start with a MIDI header"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(MidiReadError, match=f"not a readable MIDI file \\(.*{expected[name]}"):
            read_midi(tmp_path / name)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mid"
    path.write_bytes(b"")
    with pytest.raises(MidiReadError, match="empty"):
        read_midi(path)


def test_missing_file(tmp_path):
    with pytest.raises(MidiReadError, match="no such file"):
        read_midi(tmp_path / "nope.mid")


def test_midi_without_notes(tmp_path):
    with pytest.raises(MidiReadError, match="no notes"):
        read_midi(write_midi(tmp_path / "silent.mid", []))


def test_drums_only_is_refused(tmp_path):
    path = write_midi(tmp_path / "drums.mid", [], drums=[(i, 0.5, 36, 100) for i in range(8)])
    with pytest.raises(MidiReadError, match="only drums"):
        read_midi(path)


def test_drums_are_dropped_beside_piano(tmp_path):
    path = write_midi(tmp_path / "mixed.mid", scale_notes(8), drums=[(i, 0.5, 36, 100) for i in range(8)])
    midi = read_midi(path)
    assert midi.dropped_drum_notes == 8 and len(midi.notes) == 8 + 2


def test_many_instruments_are_merged(tmp_path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    for program, pitch in ((0, 60), (40, 67), (73, 72)):
        inst = pretty_midi.Instrument(program)
        inst.notes.append(pretty_midi.Note(80, pitch, 0.0, 1.0))
        pm.instruments.append(inst)
    pm.write(str(tmp_path / "band.mid"))
    midi = read_midi(tmp_path / "band.mid")
    assert sorted(midi.notes[:, 2]) == [60, 67, 72] and midi.instruments == 3


@pytest.mark.parametrize("midi_type", [0, 1, 2])
def test_midi_types(tmp_path, midi_type):
    midi = read_midi(write_midi(tmp_path / f"type{midi_type}.mid", scale_notes(16), midi_type=midi_type))
    assert len(midi.notes) >= 16


@pytest.mark.parametrize("tpb", [24, 97, 960, 15360])
def test_odd_ticks_per_beat_give_the_same_seconds(tmp_path, tpb):
    midi = read_midi(write_midi(tmp_path / f"tpb{tpb}.mid", scale_notes(16), tpb=tpb, tempos=((0, 90.0),)))
    # [0], [1]: bass and melody at 0; one tick of rounding allowed (half a beat is 48.5 ticks at 97)
    assert midi.notes[2, 0] == pytest.approx(0.5 * 60 / 90, abs=60 / 90 / tpb)


def test_tempo_and_metre_changes_are_read(tmp_path):
    path = write_midi(tmp_path / "changes.mid", scale_notes(48), tempos=((0, 70.0), (8, 140.0)),
                      time_sigs=((0, 4, 4), (8, 3, 4)))
    midi = read_midi(path)
    assert midi.beat_times is not None
    enc = encode_notes(midi.notes, VOCAB, midi.beat_times)
    assert Grammar(VOCAB).errors(enc.ids) == []
    assert decode_ids(enc.ids, VOCAB).n_notes == len(midi.notes)


def test_thirty_minute_file_is_read_and_tokenized(tmp_path):
    # 30 minutes at 120 BPM = 3600 beats of eighth notes
    notes = [(i * 0.5, 0.5, 60 + i % 24, 70) for i in range(7200)]
    midi = read_midi(write_midi(tmp_path / "long.mid", notes, tempos=((0, 120.5),)))
    assert midi.notes[-1, 0] == pytest.approx(1800 * 120 / 120.5 - 0.5 * 60 / 120.5, abs=0.05)
    enc = encode_notes(midi.notes, VOCAB, midi.beat_times)
    assert enc.stats["notes"] == 7200 and enc.stats["bars"] >= 890


def test_empty_note_list_is_a_tokenization_error():
    with pytest.raises(TokenizationError):
        encode_notes(np.zeros((0, 4)), VOCAB)


def test_piece_refuses_to_overwrite(tmp_path):
    piece = Piece(np.array([[0, 1, 60, 80]]), np.array([0.0, 2.0]))
    piece.save_midi(tmp_path / "a.mid")
    with pytest.raises(Exception, match="exists"):
        piece.save_midi(tmp_path / "a.mid")
    piece.save_midi(tmp_path / "a.mid", overwrite=True)
    assert read_midi(tmp_path / "a.mid").notes[0, 2] == 60


def test_unicode_names_are_written(tmp_path):
    piece = Piece(np.array([[0, 1, 60, 80]]), np.array([0.0, 2.0]), name="calme → joyeux ♥ 平静")
    piece.save_midi(tmp_path / "u.mid")
    assert len(read_midi(tmp_path / "u.mid").notes) == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_never_crash(tmp_path, data):
    path = tmp_path / "random.mid"
    path.write_bytes(data)
    try:
        midi = read_midi(path)
    except MidiReadError:
        return
    assert np.all(np.isfinite(midi.notes))


note_rows = st.tuples(st.floats(0, 120), st.floats(0.001, 10), st.integers(0, 127), st.integers(1, 127))


@settings(max_examples=40, deadline=None)
@example([(10.46875, 0.015625, 0, 1)])  # an onset that rounds onto the last bar line (found by hypothesis)
@given(st.lists(note_rows, min_size=1, max_size=80))
def test_random_note_lists_tokenize_into_valid_grammar(rows):
    notes = np.array([(s, s + d, p, v) for s, d, p, v in rows], dtype=float)
    enc = encode_notes(notes, VOCAB)
    assert Grammar(VOCAB).errors(enc.ids) == []
    piece = decode_ids(enc.ids, VOCAB)
    assert piece.n_notes + piece.info["merged_notes"] == len(notes)  # a key struck twice on one grid step is one note
    assert piece.notes[:, 2].min() >= 21 and piece.notes[:, 2].max() <= 108


def test_a_written_file_is_readable_by_other_programs(tmp_path):
    from musER.midi_io import write_midi
    from musER.piece import Piece

    path = write_midi(Piece([(0.0, 0.5, 60, 80)], [0.0, 2.0]), tmp_path / "one.mid")
    assert path.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temp file


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    import errno

    from musER.atomic import atomic_path
    from musER.errors import MusERError

    target = tmp_path / "report.md"
    target.write_text("old")

    def write_half_and_fill_the_disk():
        with atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(MusERError, match=r"could not write .*report\.md: No space left on device"):
        write_half_and_fill_the_disk()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
