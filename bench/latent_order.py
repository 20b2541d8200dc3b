"""Does each latent slice follow its element? Spearman correlation between the regulariser's
scalar r (the DR network on the slice) and the element's value id, on val steps where the
element has an ordered value. Needs the training run (the DR network is not shipped).

    python bench/latent_order.py --data ../shared/data/emopia --run-dir runs/default
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from musER.config import VQVAEConfig  # noqa: E402
from musER.data import load_split  # noqa: E402
from musER.elements import ELEMENTS  # noqa: E402
from musER.model.factory import build_vqvae  # noqa: E402
from musER.vocab import Vocab  # noqa: E402


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--run-dir", default="runs/default")
    args = ap.parse_args()
    run = Path(args.run_dir)
    saved = json.loads((run / "vqvae_config.json").read_text())
    vocab = Vocab.from_dict(saved["vocab"])
    model = build_vqvae(VQVAEConfig.from_dict(saved["model"]), vocab)
    model.load_state_dict(torch.load(run / "vqvae_best.pt", map_location="cpu")["model"])
    model.eval()
    val = load_split("val", vocab, args.data)
    r_all = {e: [] for e in ELEMENTS}
    a_all = {e: [] for e in ELEMENTS}
    for i in range(len(val)):
        x = torch.from_numpy(val.clip(i)[1:512])[None]
        z_e, _ = model.encode(x, torch.ones(x.shape[:2], dtype=torch.bool))
        for j, e in enumerate(ELEMENTS):
            ordered = torch.from_numpy(vocab.ordered_mask(e))[x[0, :, j]]
            r_all[e].append(model.regularizer.scalars(z_e, e)[0][ordered].numpy())
            a_all[e].append(x[0, :, j][ordered].numpy())
    print("| element | Spearman(r, value) | steps |")
    print("|---|---|---|")
    for e in ELEMENTS:
        r, a = np.concatenate(r_all[e]), np.concatenate(a_all[e])
        print(f"| {e} | {spearmanr(r, a)[0]:+.3f} | {len(a)} |")


if __name__ == "__main__":
    main()
