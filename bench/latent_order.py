"""Does each latent slice follow its element, and does it separate emotion? For one or more
training runs (the DR network is not shipped, so this needs run folders):

- Spearman correlation between the DR network's scalar r of a slice and the element's value id,
  on val steps where the element has an ordered value. In a run trained without the regulariser
  the DR network learnt on detached latents, so r is the best order a probe finds there.
- silhouette of the EMOPIA quadrants (all 990 clips, each clip's mean slice), averaged over the
  six quadrant pairs, as in the checkpoint's reference map.

    python bench/latent_order.py --data ../shared/data/emopia --run-dir runs/a --run-dir runs/b
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from scipy.stats import spearmanr

from musER.batching import bar_windows
from musER.config import TrainConfig, VQVAEConfig
from musER.data import load_split
from musER.elements import ELEMENTS, latent_slice
from musER.latent_map import silhouettes
from musER.model.factory import build_vqvae
from musER.vocab import Vocab


def load_run(run: Path):
    saved = json.loads((run / "vqvae_config.json").read_text())
    vocab = Vocab.from_dict(saved["vocab"])
    cfg = VQVAEConfig.from_dict(saved["model"])
    model = build_vqvae(cfg, vocab)
    model.load_state_dict(torch.load(run / "vqvae_best.pt", map_location="cpu")["model"])
    return model.eval(), vocab, cfg, TrainConfig.from_dict(saved["train"]).window


@torch.no_grad()
def measure(run: Path, data_root) -> dict[str, tuple[float, float]]:
    """element -> (Spearman on val steps, mean quadrant-pair silhouette over all clips)."""
    model, vocab, _, window = load_run(run)
    r_all = {e: [] for e in ELEMENTS}
    a_all = {e: [] for e in ELEMENTS}
    means, quadrants = [], []
    for split in ("train", "val"):
        data = load_split(split, vocab, data_root)
        for i in range(len(data)):
            content = data.clip(i)[1:]
            z_parts = []
            for a, b in bar_windows(content, vocab, window - 1):
                x = torch.from_numpy(content[a:b]).long()[None]
                z_e, _ = model.encode(x, torch.ones(x.shape[:2], dtype=torch.bool))
                z_parts.append(z_e[0])
                if split == "val":
                    for j, e in enumerate(ELEMENTS):
                        ordered = torch.from_numpy(vocab.ordered_mask(e))[x[0, :, j]]
                        r_all[e].append(model.regularizer.scalars(z_e, e)[0][ordered].numpy())
                        a_all[e].append(x[0, :, j][ordered].numpy())
            means.append(torch.cat(z_parts).mean(0).numpy())
            quadrants.append(int(data.quadrants[i]))
    means, quadrants = np.stack(means), np.array(quadrants)
    out = {}
    for e in ELEMENTS:
        rho = spearmanr(np.concatenate(r_all[e]), np.concatenate(a_all[e]))[0]
        sil = np.mean(list(silhouettes(means[:, latent_slice(e)], quadrants).values()))
        out[e] = (float(rho), float(sil))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--run-dir", action="append", help="a training run folder (repeat to compare)")
    args = ap.parse_args()
    runs = [Path(r) for r in (args.run_dir or ["runs/default"])]
    results = {}
    for run in runs:
        _, _, cfg, _ = load_run(run)
        label = f"{run.name} ({'regulariser' if cfg.use_regularizer else 'no regulariser'})"
        results[label] = measure(run, args.data)
    print("Spearman(r, value) on val steps / mean quadrant silhouette per slice\n")
    print("| element | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for e in ELEMENTS:
        print(f"| {e} | " + " | ".join(f"{r[e][0]:+.3f} / {r[e][1]:+.3f}" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
