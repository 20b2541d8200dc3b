"""Emotion classifier: features, a fit on synthetic pieces, JSON round trip, training on EMOPIA."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from musER.emotion_classifier import FEATURE_NAMES, EmotionClassifier, note_features, song_of
from musER.errors import CheckpointError
from musER.piece import Piece

QUADRANT_STYLE = {0: (9.0, 85, 0), 1: (9.0, 85, 3), 2: (3.0, 50, 3), 3: (3.0, 50, 0)}  # notes/s, velocity, third


def emopia_root() -> Path | None:
    """EMOPIA from $MUSER_DATA or ../shared/data/emopia beside the repository, if present."""
    raw = os.environ.get("MUSER_DATA")
    path = Path(raw) if raw else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emopia"
    return path if (path / "midis").is_dir() and (path / "split").is_dir() else None


needs_emopia = pytest.mark.skipif(
    emopia_root() is None,
    reason="needs the EMOPIA data folder: set MUSER_DATA or place it at ../shared/data/emopia")


def synthetic_piece(quadrant: int, seed: int) -> Piece:
    """Arpeggios whose density/loudness follow arousal and whose third follows valence."""
    rng = np.random.default_rng(seed)
    rate, velocity, third = QUADRANT_STYLE[quadrant]
    tonic = 48 + int(rng.integers(0, 12))
    onsets = np.arange(0, 8.0, 1.0 / rate)
    pitches = tonic + np.array([0, 4 - third // 3, 7, 12])[np.arange(len(onsets)) % 4]
    notes = np.stack([onsets, onsets + 2.0 / rate, pitches, velocity + rng.normal(0, 5, len(onsets))], axis=1)
    return Piece(notes, np.arange(5) * 2.0, name=f"Q{quadrant + 1}_{seed}")


@pytest.fixture(scope="module")
def synthetic_classifier() -> EmotionClassifier:
    labels = np.repeat(np.arange(4), 6)
    pieces = [synthetic_piece(int(q), i) for i, q in enumerate(labels)]
    x = np.stack([note_features(p.notes) for p in pieces])
    return EmotionClassifier.fit(x, labels, groups=np.arange(len(labels)) % 6, c_grid=(0.1, 1.0))


def test_features_are_finite_and_named():
    f = note_features(synthetic_piece(0, 1).notes)
    assert f.shape == (len(FEATURE_NAMES),)
    assert np.all(np.isfinite(f))


def test_song_of_keeps_underscores_inside_youtube_ids():
    assert song_of("Q1_Cg2u_Ldjv8g_1.mid") == "Cg2u_Ldjv8g"


def test_fit_separates_synthetic_quadrants(synthetic_classifier):
    pieces = [synthetic_piece(q, 100 + q) for q in range(4)]
    verdicts = synthetic_classifier.judge(pieces)
    assert [v["quadrant"] for v in verdicts] == ["Q1", "Q2", "Q3", "Q4"]
    assert [v["arousal_high"] for v in verdicts] == [True, True, False, False]
    assert [v["valence_high"] for v in verdicts] == [True, False, False, True]
    proba = synthetic_classifier.predict_proba(pieces)
    assert proba.shape == (4, 4) and np.allclose(proba.sum(1), 1.0)


def test_json_round_trip_gives_identical_probabilities(synthetic_classifier, tmp_path):
    path = synthetic_classifier.save(tmp_path / "clf.json")
    json.loads(path.read_text())  # plain JSON, no pickle
    loaded = EmotionClassifier.load(path)
    pieces = [synthetic_piece(q, 200 + q) for q in range(4)]
    assert np.array_equal(loaded.predict_proba(pieces), synthetic_classifier.predict_proba(pieces))
    assert loaded.judge(pieces) == synthetic_classifier.judge(pieces)


@pytest.mark.parametrize("text", ["not json", '{"format": "something else"}', '{"format": "muser-emotion-classifier"}'])
def test_wrong_or_damaged_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CheckpointError):
        EmotionClassifier.load(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError):
        EmotionClassifier.load(tmp_path / "absent.json")


@needs_emopia
@pytest.mark.emopia
def test_train_on_a_handful_of_real_clips(tmp_path):
    clf = EmotionClassifier.train(emopia_root(), max_clips=24)
    assert set(clf.val_accuracy) == {"quadrant", "arousal", "valence", "n"}
    assert clf.val_accuracy["n"] == 24
    assert all(0.0 <= clf.val_accuracy[k] <= 1.0 for k in ("quadrant", "arousal", "valence"))
    loaded = EmotionClassifier.load(clf.save(tmp_path / "clf.json"))
    assert loaded.val_accuracy == clf.val_accuracy
