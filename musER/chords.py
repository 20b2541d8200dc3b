"""Chord labels per half bar by template matching on duration-weighted pitch classes.

Our own 30 lines instead of a chord library: the one fit for symbolic piano (chorder)
works on miditoolkit objects per beat and is unmaintained; ours works on grid units directly.
"""

from __future__ import annotations

import numpy as np

from .vocab import CHORD_QUALITIES, CHORD_ROOTS, STEPS_PER_BAR, Vocab

HALF_BAR = STEPS_PER_BAR // 2
_TEMPLATES = []  # (root, quality, 12-vector)
for r in range(12):
    for q, intervals in CHORD_QUALITIES.items():
        vec = np.zeros(12)
        vec[[(r + i) % 12 for i in intervals]] = 1.0
        _TEMPLATES.append((r, q, vec))
_MATRIX = np.stack([t[2] for t in _TEMPLATES])  # (132, 12)
_SIZES = _MATRIX.sum(1)


def half_bar_chords(on_units: np.ndarray, off_units: np.ndarray, pitch: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Chord id of every half bar (index = unit // HALF_BAR)."""
    n_half = int(max(on_units.max(), 0) // HALF_BAR) + 1
    hist = np.zeros((n_half, 12))
    bass = np.full(n_half, 200)
    for on, off, p in zip(on_units, np.maximum(off_units, on_units + 1), pitch):
        for h in range(int(on // HALF_BAR), min(int((off - 1) // HALF_BAR), n_half - 1) + 1):
            overlap = min(off, (h + 1) * HALF_BAR) - max(on, h * HALF_BAR)
            hist[h, p % 12] += overlap
            bass[h] = min(bass[h], p)
    ids = np.full(n_half, vocab.id_of("chord", "N"), dtype=np.int64)
    total = hist.sum(1)
    # score: weight inside the template minus weight outside, small penalty for 4-note chords
    inside = hist @ _MATRIX.T
    score = (2 * inside - total[:, None]) / np.maximum(total[:, None], 1e-9) - 0.05 * (_SIZES - 3)
    bass_bonus = np.array([[0.1 if b < 200 and (b % 12) == t[0] else 0.0 for t in _TEMPLATES] for b in bass])
    best = np.argmax(score + bass_bonus, axis=1)
    for h in np.nonzero(total > 0)[0]:
        if score[h, best[h]] > 0:
            r, q, _ = _TEMPLATES[best[h]]
            ids[h] = vocab.id_of("chord", f"{CHORD_ROOTS[r]}:{q}")
    return ids
