"""Training entry points on a tiny model: resume after a stop, and two-process DDP on CPU (gloo)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from test_data import fake_emopia

from musER.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_args(root, tmp_path, *extra, stage="all", run="run"):
    return ["train", stage, "--preset", "tiny", "--data", str(root), "--cache", str(tmp_path / "cache"),
            "--run-dir", str(tmp_path / run), "--out", str(tmp_path / "ckpt"), "--quiet",
            "--set", "train.window=96", "--set", "train.batch_size=3", *extra]


@pytest.mark.slow
def test_train_all_resumes_and_exports_a_loadable_checkpoint(tmp_path):
    from musER.api import GenerationRequest, MusER

    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=1", "--set", "prior_train.epochs=1")) == 0
    assert main(train_args(root, tmp_path, "--set", "train.epochs=2", "--set", "prior_train.epochs=2")) == 0
    rows = list(csv.DictReader((tmp_path / "run" / "vqvae_log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]  # the second run went on from epoch 1
    model = MusER.load(tmp_path / "ckpt")
    assert model.generate(GenerationRequest(bars=1))[0].n_bars <= 1
    assert len(model.reference_map().names) == 8
    assert model._engine.gaps.counts.sum() > 0  # EMOPIA's gaps between onsets, counted at export


@pytest.mark.slow
def test_a_prior_that_reads_the_decoded_tokens_trains_and_generates_past_its_window(tmp_path, monkeypatch):
    from musER.api import GenerationRequest, MusER
    from musER.generation import StepDecoder

    slides = []
    reprime = StepDecoder.reprime
    monkeypatch.setattr(StepDecoder, "reprime", lambda self, *a: slides.append(1) or reprime(self, *a))

    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=1", "--set", "prior_train.epochs=1",
                           "--set", "prior.reads_tokens=true")) == 0
    model = MusER.load(tmp_path / "ckpt")
    assert model._engine.prior.token_embed is not None
    model._engine.window = 16  # slide often: each slide re-reads the window's codes and tokens
    pieces = model.generate(GenerationRequest(bars=8, n=2))
    assert len(pieces) == 2 and all(p.n_bars <= 8 for p in pieces)
    assert max(p.n_notes for p in pieces) > 16 and slides


def test_the_prior_trains_on_every_transposition_the_setting_names(tmp_path, monkeypatch):
    from musER import train_prior

    code_sets = []
    encode = train_prior.encode_codes
    monkeypatch.setattr(train_prior, "encode_codes", lambda *a: code_sets.append(encode(*a)) or code_sets[-1])
    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=1", "--set", "prior_train.epochs=1",
                           "--set", "prior_train.transpose=3")) == 0
    train, val = code_sets
    # each training clip in seven keys, each one's steps different; validation clips as played
    assert all(len({t.tobytes() for t in versions}) == 7 for versions in train.tokens)
    assert all(len(versions) == 1 for versions in val.tokens)


def test_bad_training_settings_are_clear(tmp_path, capsys):
    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=many")) == 2
    assert "takes a int" in capsys.readouterr().err
    assert main(train_args(root, tmp_path, "--set", "vqvae.colour=1")) == 2


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path):
    root = fake_emopia(tmp_path / "emopia")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "musER", *train_args(root, tmp_path, "--set", "train.epochs=1", stage="vqvae")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr[:4000]  # the failing rank's traceback comes first
    rows = list(csv.DictReader((tmp_path / "run" / "vqvae_log.csv").open()))
    assert len(rows) == 1  # only rank 0 writes
    assert (tmp_path / "run" / "vqvae_best.pt").is_file()


@pytest.mark.slow
def test_mixed_precision_path_trains(tmp_path, monkeypatch):
    """The GPU's bf16 autocast path, run under CPU autocast: every stage trains and exports."""
    import musER.train

    monkeypatch.setattr(musER.train, "amp_enabled", lambda device: True)
    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=2", "--set", "prior_train.epochs=1")) == 0
    rows = list(csv.DictReader((tmp_path / "run" / "vqvae_log.csv").open()))
    assert all(float(r["val_loss"]) == float(r["val_loss"]) for r in rows)  # no NaN


@pytest.mark.slow
def test_fine_tuning_starts_from_the_given_weights(tmp_path):
    import torch

    root = fake_emopia(tmp_path / "emopia")

    def vqvae_run(name, *extra):
        assert main(train_args(root, tmp_path, "--set", "train.epochs=1", *extra, stage="vqvae", run=name)) == 0
        weights = torch.load(tmp_path / name / "vqvae_best.pt")["model"]
        return torch.cat([v.flatten() for k, v in weights.items() if k.startswith("encoder.")])

    first = vqvae_run("first", "--set", "train.seed=1")
    # with a vanishing learning rate the weights stay where they started: the given ones, or a fresh draw
    start = tmp_path / "first" / "vqvae_best.pt"
    tuned = vqvae_run("tuned", "--set", "train.lr=1e-9", "--set", f"train.init_from={start}")
    fresh = vqvae_run("fresh", "--set", "train.lr=1e-9")
    assert torch.allclose(tuned, first, atol=1e-6)
    assert not torch.allclose(fresh, first, atol=1e-3)
    # the fine-tune keeps where it started (a fresh run starts from nothing)
    assert [h["row"]["epoch"] for h in torch.load(tmp_path / "tuned" / "vqvae_best.pt")["started_from"]] == [1]
    assert torch.load(tmp_path / "fresh" / "vqvae_best.pt")["started_from"] == []


@pytest.mark.slow
def test_a_prior_that_reads_tokens_can_start_from_one_that_does_not(tmp_path, capsys):
    import torch

    root = fake_emopia(tmp_path / "emopia")
    assert main(train_args(root, tmp_path, "--set", "train.epochs=1", "--set", "prior_train.epochs=1")) == 0

    def prior_run(name, start, *extra):
        run = tmp_path / name
        run.mkdir()
        for f in ("vqvae_best.pt", "vqvae_config.json"):
            (run / f).write_bytes((tmp_path / "run" / f).read_bytes())
        return main(train_args(root, tmp_path, "--set", "prior_train.epochs=1", "--set", "prior_train.lr=1e-9",
                               "--set", f"prior_train.init_from={start}", *extra, stage="prior", run=name))

    start = tmp_path / "run" / "prior_best.pt"
    assert prior_run("tuned", start, "--set", "prior.reads_tokens=true") == 0
    before, after = torch.load(start)["model"], torch.load(tmp_path / "tuned" / "prior_best.pt")["model"]
    assert all(torch.allclose(after[k], v, atol=1e-6) for k, v in before.items())
    assert "token_embed.proj.weight" in after
    # the fine-tune keeps where it started, and its model card says so
    assert [h["row"]["epoch"] for h in torch.load(tmp_path / "tuned" / "prior_best.pt")["started_from"]] == [1]
    assert main(train_args(root, tmp_path, stage="export", run="tuned")) == 0
    card = " ".join((tmp_path / "ckpt" / "README.md").read_text().split())
    vqvae_part, prior_part = card.split("The VQ-VAE reached its best", 1)[1].split("the prior", 1)
    assert ", then" not in vqvae_part  # its VQ-VAE was trained once
    assert "(val NLL" in prior_part and ", then after" in prior_part
    # the other way round stays an error: a code-only prior has no place for the token weights
    capsys.readouterr()
    assert prior_run("back", tmp_path / "tuned" / "prior_best.pt") == 2
    assert "not weights of this model" in capsys.readouterr().err


def test_fine_tuning_from_a_missing_file_is_a_clear_error(tmp_path, capsys):
    root = fake_emopia(tmp_path / "emopia")
    missing = tmp_path / "nope.pt"
    assert main(train_args(root, tmp_path, "--set", f"train.init_from={missing}", stage="vqvae")) == 2
    assert "init_from" in capsys.readouterr().err
