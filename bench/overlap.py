"""How much generated pieces resemble real music of their quadrant, statistic by statistic: the
overlapping area of the two distributions of per-piece values (1 = the same distribution, 0 =
disjoint), as MusER and other emotion-music papers report it.

    python bench/overlap.py --data ../shared/data/emopia DIR [DIR ...]

DIR: folders of pieces with Q1..Q4 name prefixes or a manifest.csv (as `muser evaluate
--generate` writes them). The real distribution is that of EMOPIA's train clips of the quadrant.
The clips of the val split (other songs) against the same train clips give the overlap of real
music with real music; with a few dozen clips per quadrant their smoothed distribution is wider,
so their overlap is a little low. Unlike the evaluation report's distance, which compares means,
this reads every statistic's whole spread, the register (mean pitch, bass, melody) included.
Prints a Markdown table per quadrant and the mean overlap of each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.data import data_dir, quadrant_of, split_files
from musER.emotion_classifier import FEATURE_NAMES, QUADRANTS, note_features
from musER.errors import MusERError
from musER.evaluate import asked_pieces
from musER.metrics import METRIC_NAMES, piece_from_midi, piece_metrics
from musER.piece import Piece

# the classifier's note features that the report's metrics do not already cover
NOTE_STATISTICS = ("pitch_mean", "pitch_p05", "pitch_p95", "melody_mean", "bass_mean", "vel_std",
                   "notes_per_group", "log_dur_mean", "log_ioi_median", "ioi_cv",
                   "triad_maj", "triad_min", "triad_dim_aug")
STATISTICS = METRIC_NAMES + NOTE_STATISTICS
GRID = 512


def statistics(piece: Piece) -> np.ndarray:
    features = dict(zip(FEATURE_NAMES, note_features(piece.notes)))
    metrics = piece_metrics(piece)
    return np.array([metrics[s] if s in metrics else features[s] for s in STATISTICS])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlapping area of two samples' Gaussian-kernel densities, with one kernel width for
    both (Scott's rule on the pooled spread and the smaller sample), so that a statistic that is
    nearly always 0 in both overlaps as much as its zeros do."""
    pooled = np.concatenate([a, b])
    width = pooled.std() * min(len(a), len(b)) ** -0.2
    if width < 1e-9:
        return 1.0
    grid = np.linspace(pooled.min() - 4 * width, pooled.max() + 4 * width, GRID)
    pa, pb = (np.exp(-0.5 * ((grid[:, None] - x[None]) / width) ** 2).mean(1) / (width * np.sqrt(2 * np.pi))
              for x in (a, b))
    return float(np.minimum(pa, pb).sum() * (grid[1] - grid[0]))


def real_statistics(root: Path, split: str) -> dict[str, np.ndarray]:
    rows: dict[str, list[np.ndarray]] = {q: [] for q in QUADRANTS}
    for f in split_files(root, split):
        try:
            rows[quadrant_of(f.name)].append(statistics(piece_from_midi(f)))
        except MusERError:
            continue
    return {q: np.stack(r) for q, r in rows.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    root = data_dir(args.data)
    train, val = real_statistics(root, "train"), real_statistics(root, "val")
    try:
        pairs = asked_pieces(args.dirs)
    except MusERError as exc:
        sys.exit(str(exc))
    generated: dict[str, list[np.ndarray]] = {q: [] for q in QUADRANTS}
    for piece, q in pairs:
        if len(piece.notes) >= 2:  # the note features need two notes
            generated[q].append(statistics(piece))
    means = []
    for q in QUADRANTS:
        if not generated[q]:
            continue
        gen = np.stack(generated[q])
        print(f"\n{q}: {len(gen)} pieces; EMOPIA train {len(train[q])} clips, val {len(val[q])}\n")
        print("| statistic | pieces | val clips | mean: pieces / train |\n|---|---|---|---|")
        ours, real = [], []
        for k, s in enumerate(STATISTICS):
            ours.append(overlap(gen[:, k], train[q][:, k]))
            real.append(overlap(val[q][:, k], train[q][:, k]))
            print(f"| {s} | {ours[-1]:.2f} | {real[-1]:.2f} | {gen[:, k].mean():.2f} / {train[q][:, k].mean():.2f} |")
        means.append((q, len(gen), np.mean(ours), np.mean(real)))
    print("\n| quadrant | pieces | mean overlap: pieces | val clips |\n|---|---|---|---|")
    for q, n, ours_mean, real_mean in means:
        print(f"| {q} | {n} | {ours_mean:.3f} | {real_mean:.3f} |")


if __name__ == "__main__":
    main()
