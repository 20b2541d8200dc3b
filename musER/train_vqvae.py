"""`muser train vqvae`: fit the element-regularised VQ-VAE on EMOPIA's train split."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import torch

from .batching import batches
from .config import TrainConfig, VQVAEConfig
from .data import load_split
from .elements import ELEMENTS
from .model.factory import build_vqvae
from .model.vqvae import emotion_weights
from .train import device_name, fit, pick_device
from .vocab import Vocab

log = logging.getLogger(__name__)


def vqvae_step(net, batch):
    ids, lengths, quadrants = batch
    _, losses = net(ids, lengths, emotion_weights(quadrants))
    parts = {"recon": float(losses.reconstruction.detach()), "commit": float(losses.commitment.detach()),
             "reg": float(losses.regularization.detach())}
    return losses.total, parts


@torch.no_grad()
def evaluate_vqvae(model, data, vocab: Vocab, window: int, device) -> dict[str, float]:
    """Teacher-forced loss and per-element accuracy on steps where the element applies."""
    hits = dict.fromkeys(ELEMENTS, 0.0)
    counts = dict.fromkeys(ELEMENTS, 0.0)
    loss_sum, n = 0.0, 0
    codes_seen = []
    for ids, lengths, quadrants in batches(data, vocab, 16, window, 0, np.random.default_rng(0), shuffle=False):
        ids, lengths, quadrants = ids.to(device), lengths.to(device), quadrants.to(device)
        _, losses = model(ids, lengths, emotion_weights(quadrants))
        applies = int((lengths - 1).sum())
        loss_sum += float(losses.reconstruction) * applies
        n += applies
        x = ids[:, 1:]
        valid = torch.arange(x.shape[1], device=device)[None] < (lengths[:, None] - 1)
        for i, e in enumerate(ELEMENTS):
            mask = valid & (x[..., i] > 0)
            counts[e] += float(mask.sum())
            hits[e] += float(losses.accuracy[e]) * float(mask.sum())
        _, q = model.encode(x, valid)
        codes_seen.append(q.codes[valid])
    codes = torch.cat(codes_seen)  # (N, G)
    used = np.mean([len(torch.unique(codes[:, g])) / model.cfg.codebook_size for g in range(codes.shape[1])])
    row = {"val_loss": loss_sum / max(n, 1), "val_code_use": float(used)}
    row.update({f"val_acc_{e}": hits[e] / max(counts[e], 1) for e in ELEMENTS})
    return row


def train_vqvae(run_dir: Path, data_root=None, cache=None, model_cfg: VQVAEConfig | None = None,
                train_cfg: TrainConfig | None = None, device: str = "auto", progress: bool = True) -> dict:
    model_cfg = model_cfg or VQVAEConfig()
    train_cfg = train_cfg or TrainConfig()
    vocab = Vocab.default()
    torch.manual_seed(train_cfg.seed)
    dev = pick_device(device)
    train = load_split("train", vocab, data_root, cache)
    val = load_split("val", vocab, data_root, cache)
    model = build_vqvae(model_cfg, vocab)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "vqvae_config.json").write_text(json.dumps(
        {"model": model_cfg.to_dict(), "train": train_cfg.to_dict(), "vocab": vocab.to_dict(),
         "device": device_name(dev)}, indent=1))
    log.info("VQ-VAE: %.2f M parameters, %d train / %d val clips on %s",
             sum(p.numel() for p in model.parameters()) / 1e6, len(train), len(val), dev)

    return fit("vqvae", model, run_dir,
               lambda rng, ddp: batches(train, vocab, train_cfg.batch_size, train_cfg.window,
                                        train_cfg.transpose, rng, rank=ddp.rank, world=ddp.world),
               vqvae_step, lambda m: evaluate_vqvae(m, val, vocab, model_cfg.max_len, dev),
               math.ceil(len(train) / train_cfg.batch_size), train_cfg, dev, progress=progress)
