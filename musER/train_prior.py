"""`muser train prior`: fit the emotion-conditioned prior on the codes of the trained VQ-VAE."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import torch

from .batching import bar_line_steps, bar_windows, transpose_ids
from .config import PriorConfig, TrainConfig, VQVAEConfig
from .data import TokenizedSet, load_split
from .model.factory import build_prior, build_vqvae
from .model.vqvae import emotion_weights
from .train import device_name, fit, pick_device
from .vocab import Vocab

log = logging.getLogger(__name__)


class CodeSet:
    """Code tuples (L, G) of every clip under several transpositions, the content steps (L, 8)
    they were encoded from, and bar-line steps."""

    def __init__(self, codes: list[list[np.ndarray]], tokens: list[list[np.ndarray]], bars: list[np.ndarray],
                 quadrants: np.ndarray) -> None:
        self.codes, self.tokens, self.bars, self.quadrants = codes, tokens, bars, quadrants  # codes[clip][shift]

    def __len__(self) -> int:
        return len(self.codes)


@torch.no_grad()
def encode_codes(vqvae, data: TokenizedSet, vocab: Vocab, shifts: list[int], window: int, device) -> CodeSet:
    vqvae.eval()
    all_codes, all_tokens, all_bars = [], [], []
    for i in range(len(data)):
        clip = data.clip(i)
        per_shift, tokens = [], []
        for k in shifts:
            content = transpose_ids(clip, k, vocab)[1:]
            tokens.append(content.astype(np.int16))
            parts = []
            for a, b in bar_windows(content, vocab, window - 1):
                x = torch.from_numpy(content[a:b])[None].to(device)
                _, q = vqvae.encode(x, torch.ones(x.shape[:2], dtype=torch.bool, device=device))
                parts.append(q.codes[0].cpu().numpy().astype(np.int16))
            per_shift.append(np.concatenate(parts))
        all_codes.append(per_shift)
        all_tokens.append(tokens)
        all_bars.append(bar_line_steps(clip[1:], vocab))
    return CodeSet(all_codes, all_tokens, all_bars, np.asarray(data.quadrants))


def code_batches(data: CodeSet, batch_size: int, window: int, rng: np.random.Generator, shuffle: bool = True,
                 condition_dropout: float = 0.0, rank: int = 0, world: int = 1):
    """(codes (B, T, G), lengths (B,), emotion (B, 4), tokens (B, T, 8)); windows start at bar lines."""
    order = rng.permutation(len(data)) if shuffle else np.arange(len(data))
    for b, start in enumerate(range(0, len(order), batch_size)):
        if b % world != rank:
            continue
        seqs, token_seqs = [], []
        for j in order[start:start + batch_size]:
            shift = int(rng.integers(len(data.codes[j]))) if shuffle else len(data.codes[j]) // 2
            codes, tokens = data.codes[j][shift], data.tokens[j][shift]
            if len(codes) > window:
                bars = data.bars[j][data.bars[j] <= len(codes) - window]
                s = int(rng.choice(bars)) if shuffle and len(bars) else 0
                codes, tokens = codes[s:s + window], tokens[s:s + window]
            seqs.append(codes)
            token_seqs.append(tokens)
        longest = max(len(s) for s in seqs)
        out = np.zeros((len(seqs), longest, seqs[0].shape[1]), dtype=np.int64)
        out_tokens = np.zeros((len(seqs), longest, token_seqs[0].shape[1]), dtype=np.int64)
        for i, (s, t) in enumerate(zip(seqs, token_seqs)):
            out[i, :len(s)] = s
            out_tokens[i, :len(t)] = t
        emotion = emotion_weights(torch.as_tensor(data.quadrants[order[start:start + batch_size]]))
        if condition_dropout:
            drop = torch.from_numpy(rng.random(len(seqs)) < condition_dropout)
            emotion[drop] = 0.0
        yield torch.from_numpy(out), torch.tensor([len(s) for s in seqs]), emotion, torch.from_numpy(out_tokens)


def prior_step(net, batch):
    codes, lengths, emotion, tokens = batch
    loss = net(codes, lengths, emotion, tokens)
    return loss, {"nll": float(loss.detach())}


@torch.no_grad()
def evaluate_prior(model, data: CodeSet, window: int, device) -> dict[str, float]:
    total, n = 0.0, 0
    for codes, lengths, emotion, tokens in code_batches(data, 16, window, np.random.default_rng(0), shuffle=False):
        loss = model(codes.to(device), lengths.to(device), emotion.to(device), tokens.to(device))
        total += float(loss) * int(lengths.sum())
        n += int(lengths.sum())
    return {"val_loss": total / max(n, 1)}


def train_prior(run_dir: Path, data_root=None, cache=None, prior_cfg: PriorConfig | None = None,
                train_cfg: TrainConfig | None = None, device: str = "auto", progress: bool = True) -> dict:
    run_dir = Path(run_dir)
    saved = json.loads((run_dir / "vqvae_config.json").read_text())
    vocab = Vocab.from_dict(saved["vocab"])
    vq_cfg = VQVAEConfig.from_dict(saved["model"])
    window = TrainConfig.from_dict(saved["train"]).window
    prior_cfg = prior_cfg or PriorConfig()
    train_cfg = train_cfg or TrainConfig()
    dev = pick_device(device)
    torch.manual_seed(train_cfg.seed)
    vqvae = build_vqvae(vq_cfg, vocab)
    vqvae.load_state_dict(torch.load(run_dir / "vqvae_best.pt", map_location="cpu")["model"])
    vqvae.to(dev)
    # the codes of every transposition are encoded once; each epoch draws one per clip
    shifts = list(range(-train_cfg.transpose, train_cfg.transpose + 1))
    train = encode_codes(vqvae, load_split("train", vocab, data_root, cache), vocab, shifts, window, dev)
    val = encode_codes(vqvae, load_split("val", vocab, data_root, cache), vocab, [0], window, dev)
    (run_dir / "prior_config.json").write_text(json.dumps({"model": prior_cfg.to_dict(), "train": train_cfg.to_dict(),
                                                             "device": device_name(dev)}, indent=1))
    prior = build_prior(prior_cfg, vq_cfg, vocab)
    log.info("prior: %.2f M parameters on %s", sum(p.numel() for p in prior.parameters()) / 1e6, dev)

    return fit("prior", prior, run_dir,
               lambda rng, ddp: code_batches(train, train_cfg.batch_size, window, rng, True,
                                             prior_cfg.condition_dropout, ddp.rank, ddp.world),
               prior_step, lambda m: evaluate_prior(m, val, window, dev),
               math.ceil(len(train) / train_cfg.batch_size), train_cfg, dev, progress=progress)
