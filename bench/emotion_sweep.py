"""Slider response: sweep arousal and valence, the other axis at 0 (or --at), measure the music.

    python bench/emotion_sweep.py [--checkpoint DIR] [--n 16] [--bars 8] [--at 0]

--at puts the other axis elsewhere: --at 1 sweeps arousal at valence 1 and valence at arousal 1,
along the pad's edges (--at -1, the other two).

Arousal should drive density and loudness, valence the major/minor strength; Spearman
correlations are computed over all pieces (and over the per-setting means).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from scipy.stats import spearmanr

from musER.api import GenerationRequest, MusER
from musER.emotion_classifier import DEFAULT_PATH, EmotionClassifier
from musER.metrics import piece_metrics

LEVELS = (-1.0, -0.5, 0.0, 0.5, 1.0)


def sweep(model: MusER, axis: str, n: int, bars: int, guidance: dict, clf, at: float = 0.0) -> list[dict]:
    rows = []
    for k, level in enumerate(LEVELS):
        va = {"valence": at, "arousal": at, axis: level}
        pieces = model.generate(GenerationRequest(**va, bars=bars, n=n, seed=100 + k, **guidance))
        probs = clf._probas(clf.features(pieces)) if clf else None
        for i, piece in enumerate(pieces):
            m = piece_metrics(piece)
            rows.append({"level": level, "notes_per_s": m["notes_per_second"], "velocity": m["mean_velocity"],
                         "major_minor": m["major_minor_strength"],
                         "p_arousal": float(probs[1][i]) if probs else np.nan,
                         "p_valence": float(probs[2][i]) if probs else np.nan})
    return rows


def report(axis: str, rows: list[dict], keys: list[str], at: float = 0.0) -> None:
    levels = np.array([r["level"] for r in rows])
    print(f"\n{axis} sweep (the other axis at {at:+g}), {len(rows)} pieces")
    print("| " + axis + " | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for level in LEVELS:
        sel = [r for r in rows if r["level"] == level]
        print(f"| {level:+.1f} | " + " | ".join(f"{np.mean([r[k] for r in sel]):.3f}" for k in keys) + " |")
    for k in keys:
        values = np.array([r[k] for r in rows])
        means = [np.mean(values[levels == lv]) for lv in LEVELS]
        print(f"Spearman({axis}, {k}): pieces {spearmanr(levels, values)[0]:+.3f}, "
              f"setting means {spearmanr(LEVELS, means)[0]:+.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint")
    ap.add_argument("--n", type=int, default=16, help="pieces per setting (8 were too few to rank settings)")
    ap.add_argument("--bars", type=int, default=8)
    ap.add_argument("--guidance", type=float, help="default: the library's")
    ap.add_argument("--valence-guidance", type=float, help="default: the library's")
    ap.add_argument("--at", type=float, default=0.0, help="the other axis's value during each sweep")
    args = ap.parse_args()
    guidance = {k: v for k, v in (("guidance", args.guidance), ("valence_guidance", args.valence_guidance))
                if v is not None}
    model = MusER.load(args.checkpoint)
    clf = EmotionClassifier.load(DEFAULT_PATH) if DEFAULT_PATH.is_file() else None
    report("arousal", sweep(model, "arousal", args.n, args.bars, guidance, clf, args.at),
           ["notes_per_s", "velocity", "p_arousal"], args.at)
    report("valence", sweep(model, "valence", args.n, args.bars, guidance, clf, args.at),
           ["major_minor", "p_valence"], args.at)


if __name__ == "__main__":
    main()
