"""Objective metrics on small hand-made pieces whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from musER.metrics import (
    METRIC_NAMES,
    empty_beat_rate,
    grooving_similarity,
    major_minor_strength,
    piece_from_midi,
    piece_metrics,
    pitch_class_entropy,
    polyphony,
)
from musER.piece import Piece

BAR_S = 2.0  # 120 BPM: one beat is 0.5 s


def _bars(n: int, bar_s: float = BAR_S) -> np.ndarray:
    return np.arange(n + 1) * bar_s


def _c_major_scale() -> Piece:
    """C4 D E F G A B C5, each half a second, velocity 64."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [(0.5 * i, 0.5 * (i + 1), p, 64) for i, p in enumerate(pitches)]
    return Piece(np.array(notes), _bars(2))


def test_c_major_scale_has_seven_classes_and_known_entropy():
    m = piece_metrics(_c_major_scale())
    assert m["n_pitch_classes"] == 7
    # C holds 2/8 of the time, the six other classes 1/8 each: 0.5 + 6 * 0.375 bits
    assert m["pitch_class_entropy"] == pytest.approx(2.75)
    assert m["pitch_range"] == 12
    assert m["polyphony"] == pytest.approx(1.0)
    assert m["notes_per_second"] == pytest.approx(2.0)
    assert m["mean_velocity"] == pytest.approx(64.0)
    assert m["empty_beat_rate"] == 0.0
    assert m["major_minor_strength"] > 0.0
    assert set(m) == set(METRIC_NAMES)


def test_entropy_of_one_pitch_class_is_zero_and_of_all_twelve_is_log2_12():
    one = np.array([(0.0, 1.0, 60, 80), (1.0, 2.0, 72, 80)])
    chromatic = np.array([(i, i + 1.0, 60 + i, 80) for i in range(12)])
    assert pitch_class_entropy(one) == 0.0
    assert pitch_class_entropy(chromatic) == pytest.approx(np.log2(12))


def test_minor_triads_lean_minor():
    a_minor = np.array([(0.0, 2.0, p, 70) for p in (57, 60, 64)] + [(2.0, 4.0, p, 70) for p in (62, 65, 69)]
                       + [(4.0, 6.0, p, 70) for p in (64, 68, 71)] + [(6.0, 8.0, p, 70) for p in (57, 60, 64)])
    c_major = np.array([(0.0, 2.0, p, 70) for p in (60, 64, 67)] + [(2.0, 4.0, p, 70) for p in (65, 69, 72)]
                       + [(4.0, 6.0, p, 70) for p in (67, 71, 74)] + [(6.0, 8.0, p, 70) for p in (60, 64, 67)])
    assert major_minor_strength(a_minor) < 0 < major_minor_strength(c_major)


def test_steady_four_notes_per_bar_grooves_perfectly():
    notes = np.array([(b * BAR_S + k * 0.5, b * BAR_S + k * 0.5 + 0.4, 60 + k, 70)
                      for b in range(4) for k in range(4)])
    assert grooving_similarity(notes, _bars(4)) == 1.0


def test_grooving_counts_differing_grid_cells():
    bar_a = [(k * 0.5, k * 0.5 + 0.4, 60, 70) for k in range(4)]  # beats 1-4
    bar_b = [(BAR_S + k * 0.5, BAR_S + k * 0.5 + 0.4, 60, 70) for k in (0, 2)]  # beats 1 and 3
    # two of the 48 cells differ
    assert grooving_similarity(np.array(bar_a + bar_b), _bars(2)) == pytest.approx(1 - 2 / 48)


def test_empty_beat_rate_counts_silent_beats_inside_the_piece():
    notes = np.array([(0.0, 0.5, 60, 70), (1.5, 2.0, 64, 70)])  # beats 1 and 4 of one bar
    assert empty_beat_rate(notes, _bars(3)) == pytest.approx(0.5)  # the two trailing bars do not count


def test_polyphony_is_time_weighted_while_sounding():
    notes = np.array([(0.0, 1.0, 60, 70), (0.0, 1.0, 64, 70), (0.0, 1.0, 67, 70), (1.0, 2.0, 72, 70),
                      (5.0, 6.0, 60, 70)])  # the silence 2..5 s does not count
    assert polyphony(notes) == pytest.approx((3 * 1 + 1 * 1 + 1 * 1) / 3)


def test_empty_piece_gives_finite_numbers():
    m = piece_metrics(Piece(np.zeros((0, 4)), _bars(1)))
    assert all(np.isfinite(v) for v in m.values())


def test_piece_from_midi_keeps_the_written_bar_grid(tmp_path):
    bar_s = 2.4  # 100 BPM: a real tempo map, so the file's own beats are used
    notes = np.array([(b * bar_s + k * 0.6, b * bar_s + k * 0.6 + 0.5, 60 + 2 * k, 80)
                      for b in range(4) for k in range(4)])
    path = Piece(notes, _bars(4, bar_s), name="steady").save_midi(tmp_path / "steady.mid")
    piece = piece_from_midi(path)
    assert piece.bar_times[:5] == pytest.approx(_bars(4, bar_s), abs=1e-3)
    assert piece_metrics(piece)["grooving_similarity"] == 1.0
    assert piece.n_notes == len(notes)
