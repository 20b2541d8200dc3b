"""VQ-VAE reconstruction of held-out clips: encode -> decode freely (greedy), nothing transferred.

    python bench/reconstruction.py --data ../shared/data/emopia [--clips 40] [--checkpoint DIR]

Note F1 of the decoded piece against the tokenized input, two ways: in seconds (onset within
50 ms, same pitch; every tempo token missed shifts all later bars) and on the grid (same bar,
position and pitch). Also token accuracy per element where the sequences stay aligned.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import MusER
from musER.data import load_split
from musER.elements import COLUMN, ELEMENTS
from musER.generation import SamplingSettings, decode_latents
from musER.tokenizer import decode_ids
from musER.transfer_align import step_keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roundtrip import match


def grid_notes(ids, vocab) -> set[tuple[int, int, int]]:
    content = ids[1:]
    keys = step_keys(content, vocab)
    return {(k[1], k[2], int(row[COLUMN["pitch"]])) for k, row in zip(keys, content) if k[0] == "note"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    ap.add_argument("--clips", type=int, default=40)
    args = ap.parse_args()
    model = MusER.load(args.checkpoint)
    engine = model._engine
    val = load_split("val", engine.vocab, args.data)
    pick = np.linspace(0, len(val) - 1, min(args.clips, len(val))).astype(int)
    f1s, grid_f1s, hits, counts = [], [], dict.fromkeys(ELEMENTS, 0), dict.fromkeys(ELEMENTS, 0)
    for i in pick:
        ids = val.clip(int(i))
        content = ids[1:]
        _, z_q, _ = engine.latents_of(content)
        q = int(val.quadrants[i])
        emotion = engine._emotion(*[(1, 1), (-1, 1), (-1, -1), (1, -1)][q - 1], 1)
        out = decode_latents(engine.vqvae, engine.vocab, z_q[None], emotion, engine.window, SamplingSettings(), 0)[0]
        ref_notes = decode_ids(ids, engine.vocab).notes
        out_notes = decode_ids(out, engine.vocab).notes
        f1s.append(2 * len(match(ref_notes, out_notes)) / max(len(ref_notes) + len(out_notes), 1))
        a, b = grid_notes(ids, engine.vocab), grid_notes(out, engine.vocab)
        grid_f1s.append(2 * len(a & b) / max(len(a) + len(b), 1))
        n = min(len(out) - 1, len(content))
        for j, e in enumerate(ELEMENTS):
            applies = content[:n, j] > 0
            hits[e] += int((out[1:n + 1, j] == content[:n, j])[applies].sum())
            counts[e] += int(applies.sum())
    print(f"val clips: {len(pick)}; free-running note F1 in seconds (50 ms): mean {np.mean(f1s):.3f}, "
          f"median {np.median(f1s):.3f}, min {np.min(f1s):.3f}")
    print(f"free-running note F1 on the grid (bar, position, pitch): mean {np.mean(grid_f1s):.3f}, "
          f"median {np.median(grid_f1s):.3f}, min {np.min(grid_f1s):.3f}")
    print("free-running token accuracy per element: " +
          ", ".join(f"{e} {hits[e] / max(counts[e], 1):.3f}" for e in ELEMENTS))


if __name__ == "__main__":
    main()
