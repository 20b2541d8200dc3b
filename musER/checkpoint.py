"""Inference checkpoints are folders: weights.safetensors + meta.json (+ a model card).

meta.json carries everything needed to rebuild the models: format version, configs, the
vocabularies with their hash, the generation window, the EMOPIA reference latent map and
the training/licence note. Training-only parts (the regulariser's DR network, optimiser
state) are left out, which keeps the file small.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from . import __version__
from .config import PriorConfig, VQVAEConfig
from .errors import CheckpointError, MusERError
from .vocab import Vocab

FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
META = "meta.json"
LICENCE_NOTE = ("Weights trained on EMOPIA 1.0 (Hung et al., ISMIR 2021), licensed CC BY-NC-SA 4.0: "
                "non-commercial use, attribution, share-alike. The weights inherit these terms.")


def inference_state(vqvae, prior) -> dict[str, torch.Tensor]:
    state = {f"vqvae.{k}": v for k, v in vqvae.state_dict().items() if not k.startswith("regularizer.")}
    state.update({f"prior.{k}": v for k, v in prior.state_dict().items()})
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5, check=False)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def save_checkpoint(folder: Path, vqvae, prior, vocab: Vocab, window: int, extra_meta: dict,
                    model_card: str = "") -> Path:
    """Write a checkpoint folder atomically (written beside, then renamed into place)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    meta = {
        "format": "muser-studio-checkpoint", "format_version": FORMAT_VERSION,
        "muser_version": __version__, "git_commit": git_commit(),
        "vqvae_config": vqvae.cfg.to_dict(), "prior_config": prior.cfg.to_dict(),
        "tokenizer": vocab.to_dict(), "window": window, "licence": LICENCE_NOTE, **extra_meta,
    }
    try:
        save_file(inference_state(vqvae, prior), str(tmp / WEIGHTS))
        (tmp / META).write_text(json.dumps(meta, indent=1))
        if model_card:
            (tmp / "README.md").write_text(model_card)
    except OSError as exc:  # a full disk: the old checkpoint stays, and no half-written folder
        shutil.rmtree(tmp, ignore_errors=True)
        raise MusERError(f"could not write {folder}: {exc.strerror or exc}") from None
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        os.replace(folder, old)
        os.replace(tmp, folder)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, folder)
    return folder


def read_meta(folder: Path) -> dict:
    folder = Path(folder)
    meta_path = folder / META
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder (train one with `muser train`, "
                              "or pass --checkpoint PATH)")
    if not meta_path.is_file() or not (folder / WEIGHTS).is_file():
        raise CheckpointError(f"{folder}: not a MusER checkpoint (needs {META} and {WEIGHTS})")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{meta_path}: damaged ({exc})") from None
    if meta.get("format") != "muser-studio-checkpoint":
        raise CheckpointError(f"{meta_path}: not a MusER Studio checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: format version {meta.get('format_version')} is not supported "
                              f"by this MusER Studio ({FORMAT_VERSION}); use a matching release")
    return meta


def load_checkpoint(folder: Path, device: torch.device):
    """(vqvae, prior, vocab, meta) in eval mode; raises CheckpointError with a clear message."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .model.factory import build_prior, build_vqvae

    folder = Path(folder)
    meta = read_meta(folder)
    try:
        vocab = Vocab.from_dict(meta["tokenizer"])
        vq_cfg = VQVAEConfig.from_dict(meta["vqvae_config"])
        prior_cfg = PriorConfig.from_dict(meta["prior_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{folder / META}: incomplete or mismatched ({exc})") from None
    try:
        state = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / WEIGHTS}: damaged weights file ({exc})") from None
    vqvae = build_vqvae(vq_cfg, vocab)
    vqvae.regularizer = None  # training-only
    prior = build_prior(prior_cfg, vq_cfg, vocab)
    try:
        vqvae.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("vqvae.")}, strict=True)
        prior.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("prior.")}, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{folder}: weights do not match the stored config ({str(exc)[:300]})") from None
    return vqvae.to(device).eval(), prior.to(device).eval(), vocab, meta
