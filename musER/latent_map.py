"""The EMOPIA reference map: per element, clips' mean slices projected to 2-D by PCA.

PCA rather than t-SNE because a new piece must land in the same view without refitting.
Silhouette scores per element and quadrant pair measure how the slices separate emotion.
"""

from __future__ import annotations

import itertools

import numpy as np

from .elements import ELEMENTS


def fit_projection(vectors: np.ndarray) -> dict:
    """PCA to 2-D: {'mean': (16,), 'components': (2, 16)}."""
    mean = vectors.mean(0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    components = vt[:2] if vt.shape[0] >= 2 else np.vstack([vt, np.zeros_like(vt)])[:2]
    return {"mean": mean.tolist(), "components": components.tolist()}


def silhouettes(vectors: np.ndarray, quadrants: np.ndarray) -> dict[str, float]:
    """Silhouette score of each pair of quadrants ("Q1-Q2": s), on the full 16-dim vectors."""
    from sklearn.metrics import silhouette_score

    out = {}
    for a, b in itertools.combinations(range(1, 5), 2):
        keep = (quadrants == a) | (quadrants == b)
        if len(set(quadrants[keep])) == 2 and keep.sum() > 2:
            out[f"Q{a}-Q{b}"] = round(float(silhouette_score(vectors[keep], quadrants[keep])), 4)
    return out


def build_reference_map(vectors: dict[str, np.ndarray], quadrants: np.ndarray, names: list[str]) -> dict:
    """JSON-ready map stored in checkpoint meta: points, projection, silhouettes per element."""
    quadrants = np.asarray(quadrants)
    ref = {"names": list(names), "quadrants": quadrants.tolist(), "points": {}, "projection": {}, "silhouette": {}}
    for e in ELEMENTS:
        proj = fit_projection(vectors[e])
        ref["projection"][e] = proj
        points = (vectors[e] - np.asarray(proj["mean"])) @ np.asarray(proj["components"]).T
        ref["points"][e] = np.round(points, 4).tolist()
        ref["silhouette"][e] = silhouettes(vectors[e], quadrants)
    return ref
