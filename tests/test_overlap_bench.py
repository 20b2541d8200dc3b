"""bench/overlap.py's overlapping area on samples whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from overlap import overlap


def test_one_distribution_overlaps_itself_and_none_other():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 400), rng.normal(0, 1, 300)
    assert overlap(a, b) > 0.9
    assert overlap(a, b + 10) < 0.01


def test_half_shifted_normals_overlap_as_computed():
    # two unit normals one standard deviation apart overlap by 2 * Phi(-0.5) = 0.617
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 3000), rng.normal(1, 1, 3000)
    assert overlap(a, b) == pytest.approx(0.617, abs=0.04)


def test_a_statistic_mostly_zero_overlaps_as_its_zeros_do():
    a = np.r_[np.zeros(90), np.full(10, 0.2)]
    b = np.zeros(100)
    assert overlap(a, b) == pytest.approx(0.9, abs=0.03)
    assert overlap(np.zeros(50), np.zeros(80)) == 1.0
