"""Regenerate every file in midi_samples/ from the shipped checkpoint.

    python midi_samples/regenerate.py --data ../shared/data/emopia

Writes: quadrants/ (4 pieces of 16 bars per quadrant), sweep/ (arousal and valence sliders
from -1 to 1), transfer/ (three examples: input, reference, result) and manifest.csv.
Transfer inputs and references are EMOPIA val clips (CC BY-NC-SA 4.0, see the README).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from musER.api import GenerationRequest, MusER, load_piece  # noqa: E402
from musER.data import data_dir, split_files  # noqa: E402
from musER.elements import Quadrant  # noqa: E402

TRANSFERS = [  # (input quadrant, reference quadrant, elements, target valence, arousal)
    ("Q4", "Q1", ["velocity", "duration", "tempo"], 0.8, 0.9),
    ("Q1", "Q3", ["velocity", "duration", "tempo"], -0.8, -0.9),
    ("Q3", "Q1", ["pitch", "chord"], 0.9, -0.2),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    args = ap.parse_args()
    model = MusER.load(args.checkpoint)
    rows = []

    def save(piece, rel: str, kind: str, note: str = "") -> None:
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        piece.save_midi(path, overwrite=True)
        rows.append({"file": rel, "kind": kind, "valence": piece.valence, "arousal": piece.arousal,
                     "seed": piece.seed, "bars": piece.n_bars, "seconds": round(piece.seconds, 1),
                     "notes": piece.n_notes, "note": note})

    for sub in ("quadrants", "sweep", "transfer"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    for q in Quadrant:
        v, a = q.va
        for i, piece in enumerate(model.generate(GenerationRequest(v, a, bars=16, n=4, seed=q.value))):
            save(piece, f"quadrants/{q.name}_{i + 1}.mid", "quadrant", q.name)
    for axis in ("arousal", "valence"):
        for k, level in enumerate((-1.0, -0.5, 0.0, 0.5, 1.0)):
            va = {"valence": 0.0, "arousal": 0.0, axis: level}
            piece = model.generate(GenerationRequest(**va, bars=8, seed=50))[0]
            save(piece, f"sweep/{axis}_{k}_{level:+.1f}.mid", f"{axis} sweep", "same seed, one slider moved")
    val = split_files(data_dir(args.data), "val")
    for n, (src_q, ref_q, elements, v, a) in enumerate(TRANSFERS, start=1):
        src = load_piece(next(f for f in val if f.name.startswith(src_q)))
        ref = load_piece(next(f for f in val if f.name.startswith(ref_q) and f.name[3:14] != src.name[3:14]))
        out = model.transfer(src, elements, reference=ref, valence=v, arousal=a, seed=n)
        for role, piece in (("input", src), ("reference", ref), ("result", out)):
            save(piece, f"transfer/{n}_{role}.mid", f"transfer {role}",
                 f"{src.name} <- {'+'.join(elements)} of {ref.name}")
    with (HERE / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} files and manifest.csv under {HERE}")


if __name__ == "__main__":
    main()
