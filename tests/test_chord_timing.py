"""Chords struck as EMOPIA's pianists strike them: measured per quadrant and size, replayed on generated chords."""

import numpy as np
import pytest

from musER.api import GenerationRequest, MusER
from musER.chord_timing import MAX_SIZE, MIN_SOUNDING_S, ChordTiming
from musER.cli import main
from musER.piece import Piece
from musER.testing import ROLL_S
from musER.vocab import Vocab

BEATS = np.arange(0, 16.5, 0.5)  # 120 BPM, four bars of four beats and more


def test_a_chord_is_measured_as_each_notes_delay_after_the_first_in_pitch_order():
    notes = [(0.015, 0.4, 64, 70), (0.0, 0.4, 48, 70), (0.004, 0.4, 60, 70),  # rolled up
             (1.01, 1.4, 60, 70), (1.0, 1.4, 72, 70),  # the top note first
             (2.0, 2.4, 55, 70)]  # alone: no chord
    timing = ChordTiming.measure([(np.array(notes, float), BEATS, 3)], Vocab.default())
    assert set(timing.timings) == {(3, 3), (3, 2)}
    np.testing.assert_allclose(timing.timings[(3, 3)], [[0.0, 0.004, 0.015]])
    np.testing.assert_allclose(timing.timings[(3, 2)], [[0.01, 0.0]])


def test_a_chord_is_struck_with_a_measured_timing_of_its_size_and_releases_stay():
    table = ChordTiming({(1, 3): np.array([[0.0, 0.004, 0.015]]), (1, MAX_SIZE): 0.001 * np.arange(MAX_SIZE)[None]})
    ten = [(1.0, 1.5, 40 + 3 * k, 60) for k in range(10)]
    notes = [(0.0, 0.4, 60, 80), (0.0, 0.012, 48, 80), (0.0, 0.4, 64, 80),  # its middle note is short
             (0.5, 0.9, 67, 80), *ten]
    piece = Piece(notes, np.array([0.0, 2.0]))
    struck = table.strike(piece, (1, 0, 0, 0), np.random.default_rng(0))
    by_pitch = {(round(n[1], 3), int(n[2])): n[0] for n in struck.notes}
    assert by_pitch[(0.4, 60)] == pytest.approx(0.004)
    assert by_pitch[(0.4, 64)] == pytest.approx(0.015)
    assert by_pitch[(0.012, 48)] == 0.0  # the lowest leads
    assert by_pitch[(0.9, 67)] == 0.5  # a single note keeps its onset
    big = struck.notes[struck.notes[:, 2] >= 40][-10:]
    big = big[np.argsort(big[:, 2])]
    np.testing.assert_allclose(big[:MAX_SIZE, 0] - 1.0, 0.001 * np.arange(MAX_SIZE), atol=1e-12)
    assert set(np.round((big[MAX_SIZE:, 0] - 1.0) * 1e3)) <= set(range(MAX_SIZE))  # drawn from the same timing
    np.testing.assert_array_equal(np.sort(struck.notes[:, 1]), np.sort(piece.notes[:, 1]))
    assert (struck.notes[:, 1] - struck.notes[:, 0] >= MIN_SOUNDING_S - 1e-12).all()
    assert (np.diff(struck.notes[:, 0]) >= 0).all()  # still sorted by onset


def test_a_chord_size_or_quadrant_without_measurements_is_left_as_written():
    table = ChordTiming({(2, 2): np.array([[0.0, 0.02]])})
    piece = Piece([(0.0, 0.4, 60, 80), (0.0, 0.4, 64, 80)], np.array([0.0, 2.0]))
    assert (table.strike(piece, (1, 0, 0, 0), np.random.default_rng(0)).notes == piece.notes).all()
    assert table.strike(piece, (0, 1, 0, 0), np.random.default_rng(0)).notes[1, 0] == pytest.approx(0.02)


def test_the_table_survives_its_round_trip_through_the_checkpoints_json():
    table = ChordTiming({(1, 2): np.array([[0.0, 0.0123], [0.004, 0.0]]), (4, 3): np.array([[0.0, 0.0001, 0.05]])})
    back = ChordTiming.from_dict(table.to_dict())
    assert set(back.timings) == set(table.timings)
    for key, rows in table.timings.items():
        np.testing.assert_allclose(back.timings[key], rows)


def test_generated_chords_are_spread_unless_asked_not_and_the_seed_decides(tiny_ckpt):
    model = MusER.load(tiny_ckpt)
    ask = GenerationRequest(bars=4, seed=0)
    spread, again = model.generate(ask)[0], model.generate(ask)[0]
    plain = model.generate(GenerationRequest(bars=4, seed=0, spread_chords=False))[0]
    np.testing.assert_array_equal(spread.notes, again.notes)
    assert spread.info["spread_chords"] and not plain.info["spread_chords"]
    # the same notes, each chord rolled upwards as the tiny checkpoint's table says
    key = np.lexsort((plain.notes[:, 2], plain.notes[:, 0]))
    written = plain.notes[key]
    chord_start = np.maximum.accumulate(np.where(np.r_[True, np.diff(written[:, 0]) > 0], np.arange(len(written)), 0))
    expected = written[:, 0] + ROLL_S * np.minimum(np.arange(len(written)) - chord_start, MAX_SIZE - 1)
    assert (np.arange(len(written)) > chord_start).any()  # the piece has chords
    struck = spread.notes[np.lexsort((spread.notes[:, 2], spread.notes[:, 1]))]
    by_release = written[np.lexsort((written[:, 2], written[:, 1]))]
    np.testing.assert_array_equal(struck[:, 1:], by_release[:, 1:])
    onsets = dict(zip(map(tuple, written[:, 1:3]), np.minimum(expected, written[:, 1] - MIN_SOUNDING_S)))
    np.testing.assert_allclose([onsets[tuple(n[1:3])] for n in struck], struck[:, 0], atol=1e-9)


def test_no_spread_writes_every_chord_on_the_grid(tiny_ckpt, tmp_path):
    from musER.midi_io import read_midi

    def onsets(*flags):
        out = tmp_path / ("plain" if flags else "spread")
        assert main(["generate", "--quadrant", "Q2", "--bars", "4", "--seed", "1", *flags,
                     "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
        return read_midi(out / "Q2_0001.mid").notes[:, 0]

    spread, plain = onsets(), onsets("--no-spread")
    assert np.mean(np.diff(np.sort(plain)) == 0) > np.mean(np.diff(np.sort(spread)) == 0)


def test_emopias_chords_are_spread_by_milliseconds(emopia):
    from musER.data import quadrant_of, split_files
    from musER.midi_io import read_midi

    clips = []
    for path in split_files(emopia, "train")[:40]:
        midi = read_midi(path)
        clips.append((midi.notes, midi.beat_times, int(quadrant_of(path.name)[1])))
    timing = ChordTiming.measure(clips, Vocab.default())
    spreads = np.concatenate([rows.max(1) for rows in timing.timings.values()])
    assert 0.001 < np.median(spreads) < 0.02
    assert np.mean(spreads == 0) < 0.5
