"""Training throughput (content steps per second) of the VQ-VAE on this machine.

    python bench/train_speed.py --data ../shared/data/emopia [--steps 6] [--presets default paper]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from musER.batching import batches
from musER.config import preset
from musER.data import load_split
from musER.model.factory import build_vqvae
from musER.model.vqvae import emotion_weights
from musER.vocab import Vocab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--presets", nargs="+", default=["default", "paper"])
    args = ap.parse_args()
    vocab = Vocab.default()
    train = load_split("train", vocab, args.data)
    print(f"| config | parameters (M) | steps/s (batch 8, window 512, {torch.get_num_threads()} threads) |")
    print("|---|---|---|")
    for name in args.presets:
        cfg = preset(name)[0]
        torch.manual_seed(0)
        model = build_vqvae(cfg, vocab)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        done, spent = 0, 0.0
        for i, (ids, lengths, q) in enumerate(batches(train, vocab, 8, 512, 0, np.random.default_rng(0))):
            start = time.perf_counter()
            _, losses = model(ids, lengths, emotion_weights(q))
            opt.zero_grad()
            losses.total.backward()
            opt.step()
            if i > 0:  # the first step warms up
                spent += time.perf_counter() - start
                done += int((lengths - 1).sum())
            if i >= args.steps:
                break
        print(f"| {name} | {sum(p.numel() for p in model.parameters()) / 1e6:.2f} | {done / spent:.0f} |")


if __name__ == "__main__":
    main()
