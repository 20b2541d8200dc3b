"""EMOPIA loading: the data folder setting, labels, splits, cache reuse and invalidation, augmentation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from musER.batching import batches, transpose_ids
from musER.data import data_dir, load_split, quadrant_of
from musER.elements import COLUMN
from musER.errors import DataError
from musER.vocab import Vocab

VOCAB = Vocab.default()


def fake_emopia(root, emopia=None):
    """A small EMOPIA-shaped folder: real clips when available, else synthetic ones."""
    from musER.testing import synthetic_piece

    (root / "midis").mkdir(parents=True)
    (root / "split").mkdir()
    names = []
    for i in range(8):
        name = f"Q{i % 4 + 1}_song{i // 4}_{i}.mid"
        if emopia is not None:
            source = sorted((emopia / "midis").glob(f"Q{i % 4 + 1}_*.mid"))[i // 4]
            shutil.copy(source, root / "midis" / name)
        else:
            synthetic_piece(i, bars=8).save_midi(root / "midis" / name)
        names.append(name)
    for split, chosen in (("train", names[:6]), ("val", names[6:])):
        rows = ",clip_name\n" + "".join(f"{k},{n}\n" for k, n in enumerate(chosen))
        (root / "split" / f"{split}_clip.csv").write_text(rows)
    return root


def test_data_folder_comes_from_flag_or_environment(tmp_path, monkeypatch):
    root = fake_emopia(tmp_path / "emopia")
    monkeypatch.delenv("MUSER_DATA", raising=False)
    with pytest.raises(DataError, match="MUSER_DATA"):
        data_dir(None)
    monkeypatch.setenv("MUSER_DATA", str(root))
    assert data_dir(None) == root
    with pytest.raises(DataError, match="not an EMOPIA folder"):
        data_dir(tmp_path)


def test_labels_come_from_file_names():
    assert quadrant_of("Q3_egYSmNuIFGk_1.mid") == "Q3"
    with pytest.raises(DataError):
        quadrant_of("happy_song.mid")


def test_split_is_cached_then_reused_and_a_new_vocabulary_rebuilds(tmp_path):
    root = fake_emopia(tmp_path / "emopia")
    cache = tmp_path / "cache"
    train = load_split("train", VOCAB, root, cache, workers=1)
    assert len(train) == 6 and set(train.quadrants) == {1, 2, 3, 4}
    assert all(train.clip(i)[0, COLUMN["emotion"]] == train.quadrants[i] for i in range(len(train)))
    files = list(cache.glob("*.npz"))
    assert len(files) == 1
    again = load_split("train", VOCAB, root, cache)
    assert np.array_equal(again.ids, train.ids)
    other = Vocab(values={**VOCAB.values, "velocity": list(range(2, 128, 4))})
    load_split("train", other, root, cache, workers=1)
    assert len(list(cache.glob("*.npz"))) == 2


def test_real_clips_load(tmp_path, emopia):
    root = fake_emopia(tmp_path / "emopia", emopia)
    val = load_split("val", VOCAB, root, tmp_path / "cache", workers=1)
    assert len(val) == 2 and len(val.clip(0)) > 50


def test_transposition_moves_pitches_and_chord_roots():
    from musER.testing import synthetic_piece
    from musER.tokenizer import encode_notes

    ids = encode_notes(synthetic_piece(1).notes, VOCAB).ids
    up = transpose_ids(ids, 2, VOCAB)
    notes = ids[:, COLUMN["pitch"]] > 0
    assert np.array_equal(up[notes, COLUMN["pitch"]], ids[notes, COLUMN["pitch"]] + 2)
    named = ids[:, COLUMN["chord"]] >= 2
    roots = lambda a: (a[named, COLUMN["chord"]] - 2) // 11  # noqa: E731
    assert np.array_equal(roots(up), (roots(ids) + 2) % 12)
    too_far = transpose_ids(ids, 100, VOCAB)
    assert np.array_equal(too_far, ids)


def test_batches_are_bar_aligned_crops(tmp_path):
    root = fake_emopia(tmp_path / "emopia")
    train = load_split("train", VOCAB, root, tmp_path / "cache", workers=1)
    seen = 0
    for ids, lengths, quadrants in batches(train, VOCAB, 4, 40, 3, np.random.default_rng(0)):
        assert ids.shape[1] <= 40 and len(lengths) == len(quadrants)
        assert (ids[:, 0, COLUMN["type"]] == VOCAB.id_of("type", "emotion")).all()
        assert (ids[:, 1, COLUMN["beat"]] == VOCAB.id_of("beat", "bar")).all()
        seen += len(lengths)
    assert seen == 6
