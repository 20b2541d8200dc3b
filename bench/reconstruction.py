"""VQ-VAE reconstruction of held-out clips: encode -> decode freely (greedy), nothing transferred.

    python bench/reconstruction.py --data ../shared/data/emopia [--clips 40] [--checkpoint DIR]

Note F1 of the decoded piece against the tokenized input, two ways: in seconds (onset within
50 ms, same pitch; every tempo token missed shifts all later bars) and on the grid (same bar,
position and pitch), and in seconds again with each bar's tempo taken from the input, as
transfer does when tempo is not moved. Also accuracy of the other elements on steps found at the same place in
both: tempo of each bar, chord of each position, duration and velocity of each (bar, position,
pitch) note. (Decoding may hold a position and drop the repeated step, so steps are matched by
place, not by index.)
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import MusER
from musER.data import load_split
from musER.elements import COLUMN
from musER.generation import SamplingSettings, decode_latents
from musER.tokenizer import decode_ids
from musER.transfer_align import copy_bar_tempi, step_keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roundtrip import match


def places(ids, vocab) -> dict[tuple, np.ndarray]:
    """Each bar, position and note of a sequence by its place: (kind, bar, position[, pitch]) -> row."""
    content = ids[1:]
    found = {}
    for k, row in zip(step_keys(content, vocab), content):
        if k[0] in ("bar", "pos"):
            found[k[:3]] = row
        elif k[0] == "note":
            found[("note", k[1], k[2], int(row[COLUMN["pitch"]]))] = row
    return found


CHECKED = {"bar": ("tempo",), "pos": ("chord",), "note": ("duration", "velocity")}


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
    f1s, grid_f1s, kept_tempo_f1s = [], [], []
    hits, counts = Counter(), Counter()
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
        kept = decode_ids(copy_bar_tempi(out, content, engine.vocab), engine.vocab).notes
        kept_tempo_f1s.append(2 * len(match(ref_notes, kept)) / max(len(ref_notes) + len(kept), 1))
        ref, dec = places(ids, engine.vocab), places(out, engine.vocab)
        a, b = {k for k in ref if k[0] == "note"}, {k for k in dec if k[0] == "note"}
        grid_f1s.append(2 * len(a & b) / max(len(a) + len(b), 1))
        for key in ref.keys() & dec.keys():
            for e in CHECKED[key[0]]:
                hits[e] += int(ref[key][COLUMN[e]] == dec[key][COLUMN[e]])
                counts[e] += 1
    print(f"val clips: {len(pick)}; free-running note F1 in seconds (50 ms): mean {np.mean(f1s):.3f}, "
          f"median {np.median(f1s):.3f}, min {np.min(f1s):.3f}")
    print(f"the same with the input's bar tempi (as transfer keeps them): mean {np.mean(kept_tempo_f1s):.3f}, "
          f"median {np.median(kept_tempo_f1s):.3f}, min {np.min(kept_tempo_f1s):.3f}")
    print(f"free-running note F1 on the grid (bar, position, pitch): mean {np.mean(grid_f1s):.3f}, "
          f"median {np.median(grid_f1s):.3f}, min {np.min(grid_f1s):.3f}")
    print("free-running accuracy at matching places: " +
          ", ".join(f"{e} {hits[e] / max(counts[e], 1):.3f} (n={counts[e]})" for e in counts))


if __name__ == "__main__":
    main()
