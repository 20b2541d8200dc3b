"""Piece style (musER/style.py): figures read from compound steps, the bank of clip styles, and a
prior conditioned on it, from training to generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_data import fake_emopia
from test_training import train_args

from musER.cli import main
from musER.elements import COLUMN
from musER.style import FEATURES, StyleBank, raw_style
from musER.vocab import Vocab

VOCAB = Vocab.default()


def steps(notes_per_onset: int, onsets: int, pitch: int = 60, velocity: int = 60, duration: int = 4) -> np.ndarray:
    """One bar line, then `onsets` positions with `notes_per_onset` notes each (content steps)."""
    rows = []

    def row(**ids):
        r = np.zeros(len(COLUMN), dtype=np.int64)
        for name, value in ids.items():
            r[COLUMN[name]] = value
        rows.append(r)

    row(type=VOCAB.id_of("type", "metrical"), beat=VOCAB.id_of("beat", "bar"))
    for k in range(onsets):
        row(type=VOCAB.id_of("type", "metrical"), beat=VOCAB.id_of("beat", 4 * k))
        for j in range(notes_per_onset):
            row(type=VOCAB.id_of("type", "note"), pitch=VOCAB.id_of("pitch", pitch + 12 * j),
                velocity=VOCAB.id_of("velocity", velocity), duration=VOCAB.id_of("duration", duration))
    return np.stack(rows)


def test_the_figures_of_hand_made_steps():
    style = dict(zip(FEATURES, raw_style(steps(2, 3), VOCAB)))
    assert style["register"] == 66  # C4 and C5
    assert style["notes_per_bar"] == 6 and style["notes_per_onset"] == 2
    assert style["loudness"] == 60 and style["log_duration"] == pytest.approx(np.log(4))
    assert style["pitch_class_entropy"] == 0  # one pitch class
    assert raw_style(steps(0, 3), VOCAB) is None  # no notes: no style


def test_the_bank_standardises_and_draws_clips_of_the_asked_quadrants():
    clips = [steps(1, 2, velocity=30), steps(3, 4, velocity=90), steps(2, 3), steps(0, 2)]
    bank = StyleBank.fit(clips, np.array([1, 1, 3, 3]), VOCAB)
    assert len(bank.clips[1]) == 2 and len(bank.clips[3]) == 1  # the clip without notes is left out
    assert np.allclose(np.concatenate(list(bank.clips.values())).mean(0), 0, atol=1e-6)
    assert np.all(np.abs(bank.standardise(np.full(len(FEATURES), 1e6))) == 3)  # clipped
    happy_sad = np.array([[0.5, 0, 0.5, 0]] * 200)
    drawn = bank.draw(happy_sad, np.random.default_rng(0))
    rows = {tuple(r) for r in np.concatenate(list(bank.clips.values()))}
    assert {tuple(r) for r in drawn} == rows  # both quadrants' clips, nothing else
    assert np.array_equal(drawn, bank.draw(happy_sad, np.random.default_rng(0)))
    assert not bank.draw(np.zeros((2, 4)), np.random.default_rng(0)).any()  # the null condition
    again = StyleBank.from_dict(bank.to_dict())
    assert np.allclose(again.mean, bank.mean) and np.allclose(again.clips[1], bank.clips[1], atol=1e-3)


def test_a_bank_of_other_figures_is_refused():
    data = StyleBank.fit([steps(1, 2)], np.array([1]), VOCAB).to_dict()
    data["features"] = ["register"]
    with pytest.raises(ValueError, match="not this version"):
        StyleBank.from_dict(data)


@pytest.mark.slow
def test_a_prior_with_style_starts_from_one_without_and_gives_each_piece_a_drawn_style(tmp_path, monkeypatch):
    from musER.api import GenerationRequest, MusER
    from musER.generation import StepDecoder

    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=1", "--set", "prior_train.epochs=1",
                           run="plain")) == 0
    start = tmp_path / "plain" / "prior_best.pt"
    run = tmp_path / "styled"
    run.mkdir()
    for f in ("vqvae_best.pt", "vqvae_config.json"):
        (run / f).write_bytes((tmp_path / "plain" / f).read_bytes())
    assert main(train_args(root, tmp_path, "--set", "prior_train.epochs=1", "--set", f"prior_train.init_from={start}",
                           "--set", f"prior.style_features={len(FEATURES)}", stage="prior", run="styled")) == 0
    assert main(train_args(root, tmp_path, stage="export", run="styled")) == 0
    tuned = torch.load(run / "prior_best.pt")
    assert tuned["model"]["style.weight"].abs().sum() > 0  # it learned to read it
    assert [h["row"]["epoch"] for h in tuned["started_from"]] == [1]  # where it started is kept
    assert ", then after" in (tmp_path / "ckpt" / "README.md").read_text()

    styles = []
    init = StepDecoder.__init__

    def recording(self, *a, **k):  # the style each decoder is given (None: not drawn)
        init(self, *a, **k)
        styles.append(a[9] if len(a) > 9 else k.get("style"))

    monkeypatch.setattr(StepDecoder, "__init__", recording)
    model = MusER.load(tmp_path / "ckpt")
    bank = model._engine.styles
    request = GenerationRequest(bars=2, n=3, seed=5)
    first, again = model.generate(request), model.generate(request)
    assert [p.notes.tolist() for p in first] == [p.notes.tolist() for p in again]  # the seed fixes the styles
    clips = {tuple(r) for r in np.concatenate(list(bank.clips.values()))}
    assert len(styles[0]) == 3 and all(tuple(r) in clips for r in styles[0].numpy())  # each a real clip's
    model.generate(GenerationRequest(bars=2, n=3, seed=5, draw_style=False))
    assert styles[-1] is None
    args = ["generate", "--quadrant", "Q1", "--bars", "2", "--checkpoint", str(tmp_path / "ckpt")]
    assert main([*args, "--out", str(tmp_path / "drawn")]) == 0 and styles[-1] is not None
    assert main([*args, "--no-style", "--out", str(tmp_path / "average")]) == 0 and styles[-1] is None
