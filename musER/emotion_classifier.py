"""An emotion judge for pieces: hand-made note features + logistic regression, trained on EMOPIA.

It answers "would a listener-trained model put this piece in the quadrant it was asked for?",
the field's emotion-accuracy check of generated music. Three linear models share one scaler:
four quadrants (multinomial), arousal (Q1/Q2 vs Q3/Q4) and valence (Q1/Q4 vs Q2/Q3). For each
of arousal and valence the judge uses the binary model or the 4-way model's marginal, whichever
did better in song-grouped cross-validation on the train split (never chosen on val).

The trained model is plain JSON (feature names, scaler, coefficients, accuracies), so it ships
inside a checkpoint folder without pickle. Features need notes only, not a beat grid.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import write_text
from .data import data_dir, quadrant_of, split_files
from .errors import CheckpointError, DataError, MusERError
from .metrics import key_correlations, pitch_class_entropy, pitch_class_histogram, polyphony
from .piece import Piece

log = logging.getLogger(__name__)
_REPO_COPY = Path(__file__).resolve().parent.parent / "checkpoints" / "emotion_classifier.json"
_INSTALLED_COPY = Path(__file__).resolve().parent / "_checkpoints" / "emotion_classifier.json"
# a source checkout keeps it in checkpoints/; a wheel carries it as package data
DEFAULT_PATH = _REPO_COPY if _REPO_COPY.is_file() or not _INSTALLED_COPY.is_file() else _INSTALLED_COPY
FORMAT = "muser-emotion-classifier"
FORMAT_VERSION = 1
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
AROUSAL_HIGH = np.array([True, True, False, False])  # Q1, Q2
VALENCE_HIGH = np.array([True, False, False, True])  # Q1, Q4
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
CHORD_WINDOW_S = 1.0
GROUP_S = 0.05  # onsets closer than this form one onset group (a chord)
_TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8)}
_TRIAD_MATRIX = np.stack([np.isin(np.arange(12), [(r + i) % 12 for i in iv]).astype(float)
                          for iv in _TRIADS.values() for r in range(12)])  # (48, 12)

FEATURE_NAMES: tuple[str, ...] = (
    "log_notes_per_s", "log_groups_per_s", "notes_per_group",
    "vel_mean", "vel_std", "vel_p10", "vel_p90",
    "pitch_mean", "pitch_std", "pitch_p05", "pitch_p95", "melody_mean", "bass_mean",
    "log_dur_mean", "log_dur_std", "log_ioi_median", "ioi_cv",
    "polyphony", "pc_entropy", "key_major_corr", "key_minor_corr", "major_minor",
    "triad_maj", "triad_min", "triad_dim_aug",
) + tuple(f"pc_rel_{k}" for k in range(12))


def note_features(notes: np.ndarray) -> np.ndarray:
    """The FEATURE_NAMES vector of one piece's notes (N, 4: onset_s, offset_s, pitch, velocity)."""
    notes = np.asarray(notes, dtype=float).reshape(-1, 4)
    if len(notes) < 2:
        raise MusERError("a piece needs at least two notes to be judged")
    onsets, pitch, vel = notes[:, 0], notes[:, 2], notes[:, 3]
    dur = np.maximum(notes[:, 1] - onsets, 1e-3)
    span = max(float(notes[:, 1].max() - onsets.min()), 1e-3)
    group_id = np.concatenate([[0], np.cumsum(np.diff(np.sort(onsets)) > GROUP_S)])
    n_groups = int(group_id[-1]) + 1
    group_starts = np.sort(onsets)[np.r_[0, np.nonzero(np.diff(group_id))[0] + 1]]
    ioi = np.diff(group_starts) if n_groups > 1 else np.array([span])
    order = np.argsort(onsets, kind="stable")
    top = np.full(n_groups, -np.inf)
    low = np.full(n_groups, np.inf)
    np.maximum.at(top, group_id, pitch[order])
    np.minimum.at(low, group_id, pitch[order])
    hist = pitch_class_histogram(notes)
    major, minor = key_correlations(hist)
    tonic = int(np.argmax(major)) if major.max() >= minor.max() else int(np.argmax(minor))
    return np.concatenate([[
        np.log(len(notes) / span), np.log(n_groups / span), len(notes) / n_groups,
        vel.mean(), vel.std(), np.percentile(vel, 10), np.percentile(vel, 90),
        pitch.mean(), pitch.std(), np.percentile(pitch, 5), np.percentile(pitch, 95),
        top.mean(), low.mean(),
        np.log(dur).mean(), np.log(dur).std(), np.log(max(np.median(ioi), 1e-3)),
        ioi.std() / max(ioi.mean(), 1e-3),
        polyphony(notes), pitch_class_entropy(notes), major.max(), minor.max(),
        major.max() - minor.max(),
    ], _triad_shares(notes), np.roll(hist, -tonic)])


def _triad_shares(notes: np.ndarray) -> np.ndarray:
    """Share of 1-second windows whose best-fitting triad is major, minor, dim or aug."""
    n_win = int(np.ceil(notes[:, 1].max() / CHORD_WINDOW_S)) + 1
    hist = np.zeros((n_win, 12))
    for on, off, p, _ in notes:
        for w in range(int(on // CHORD_WINDOW_S), int(off // CHORD_WINDOW_S) + 1):
            overlap = min(off, (w + 1) * CHORD_WINDOW_S) - max(on, w * CHORD_WINDOW_S)
            hist[w, int(p) % 12] += max(overlap, 0.0)
    hist = hist[hist.sum(1) > 0]
    if not len(hist):
        return np.zeros(3)
    best = np.argmax(hist @ _TRIAD_MATRIX.T, axis=1) // 12  # 0 maj, 1 min, 2 dim, 3 aug
    return np.array([(best == 0).mean(), (best == 1).mean(), (best >= 2).mean()])


@dataclass
class LinearModel:
    """A fitted logistic regression as plain numbers: classes, coef (K or 1, F), intercept."""

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    C: float

    def proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K) of standardised features z (N, F)."""
        logits = z @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # binary: sigmoid of the positive class
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def to_dict(self) -> dict:
        return {"classes": self.classes, "coef": self.coef.tolist(),
                "intercept": self.intercept.tolist(), "C": self.C}

    @classmethod
    def from_dict(cls, d: dict) -> LinearModel:
        return cls(list(d["classes"]), np.asarray(d["coef"], dtype=float),
                   np.asarray(d["intercept"], dtype=float), float(d["C"]))


@dataclass
class EmotionClassifier:
    """Scaler + quadrant/arousal/valence linear models, with their measured accuracies."""

    mean: np.ndarray
    scale: np.ndarray
    quadrant: LinearModel
    arousal: LinearModel
    valence: LinearModel
    use_binary: dict[str, bool] = field(default_factory=lambda: {"arousal": True, "valence": True})
    val_accuracy: dict[str, float] = field(default_factory=dict)
    cv_accuracy: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    # ----- training -------------------------------------------------------------------------
    @classmethod
    def train(cls, root: str | Path | None = None, max_clips: int | None = None) -> EmotionClassifier:
        """Fit on EMOPIA's train split and measure accuracy on its val split.

        `max_clips` keeps an even subset of each split (for quick tests).
        """
        root = data_dir(root)
        x_tr, y_tr, songs = split_features(root, "train", max_clips)
        x_val, y_val, _ = split_features(root, "val", max_clips)
        model = cls.fit(x_tr, y_tr, songs)
        model.val_accuracy = model.accuracy(x_val, y_val)
        model.info.update({"data": "EMOPIA (CC BY-NC-SA 4.0), train split", "n_train": len(y_tr),
                           "n_val": len(y_val)})
        log.info("emotion classifier, val accuracy: %s", model.val_accuracy)
        return model

    @classmethod
    def fit(cls, x: np.ndarray, quadrant_idx: np.ndarray, groups: np.ndarray,
            c_grid: tuple[float, ...] = C_GRID) -> EmotionClassifier:
        """Fit on a feature matrix (N, F) and quadrant indices 0..3, choosing C (from c_grid)
        and the arousal/valence source by cross-validation grouped by song (`groups`)."""
        mean, scale = x.mean(0), x.std(0)
        scale[scale < 1e-9] = 1.0
        z = (x - mean) / scale
        targets = _targets(quadrant_idx)
        models, cv = {}, {}
        for task, (y, classes) in targets.items():
            c, cv[task] = _choose_c(z, y, groups, c_grid)
            models[task] = _fit_linear(z, y, classes, c)
        clf = cls(mean, scale, models["quadrant"], models["arousal"], models["valence"], cv_accuracy=cv)
        derived = _cv_derived(z, quadrant_idx, groups, models["quadrant"].C)
        for task in ("arousal", "valence"):
            clf.use_binary[task] = bool(cv[task] >= derived.get(task, 0.0))
            cv[f"{task}_from_quadrant"] = derived.get(task, float("nan"))
        return clf

    # ----- inference ------------------------------------------------------------------------
    def features(self, pieces: list[Piece]) -> np.ndarray:
        """Feature matrix (N, F) of pieces."""
        return np.stack([note_features(p.notes) for p in pieces]) if pieces else np.zeros((0, len(self.mean)))

    def _probas(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(Q1..Q4) (N, 4), P(arousal high) (N,), P(valence high) (N,)."""
        z = (x - self.mean) / self.scale
        quad = self.quadrant.proba(z)
        aro = self.arousal.proba(z)[:, 1] if self.use_binary["arousal"] else quad[:, AROUSAL_HIGH].sum(1)
        val = self.valence.proba(z)[:, 1] if self.use_binary["valence"] else quad[:, VALENCE_HIGH].sum(1)
        return quad, aro, val

    def predict_proba(self, pieces: list[Piece]) -> np.ndarray:
        """Probabilities of Q1..Q4, shape (N, 4)."""
        return self._probas(self.features(pieces))[0]

    def judge(self, pieces: list[Piece]) -> list[dict]:
        """Per piece: quadrant ('Q1'..'Q4'), arousal_high and valence_high (bools)."""
        quad, aro, val = self._probas(self.features(pieces))
        return [{"quadrant": QUADRANTS[int(np.argmax(q))], "arousal_high": bool(a >= 0.5),
                 "valence_high": bool(v >= 0.5)} for q, a, v in zip(quad, aro, val)]

    def accuracy(self, x: np.ndarray, quadrant_idx: np.ndarray) -> dict[str, float]:
        """Quadrant, arousal and valence accuracy on features with true quadrant indices."""
        quad, aro, val = self._probas(x)
        return {
            "quadrant": float((quad.argmax(1) == quadrant_idx).mean()),
            "arousal": float(((aro >= 0.5) == AROUSAL_HIGH[quadrant_idx]).mean()),
            "valence": float(((val >= 0.5) == VALENCE_HIGH[quadrant_idx]).mean()),
            "n": len(quadrant_idx),
        }

    # ----- storage --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "feature_names": list(FEATURE_NAMES),
            "scaler": {"mean": self.mean.tolist(), "scale": self.scale.tolist()},
            "models": {"quadrant": self.quadrant.to_dict(), "arousal": self.arousal.to_dict(),
                       "valence": self.valence.to_dict()},
            "use_binary": self.use_binary, "val_accuracy": self.val_accuracy,
            "cv_accuracy": self.cv_accuracy, "info": self.info,
        }

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON (atomic: temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> EmotionClassifier:
        """Read a model written by save(); a wrong or damaged file raises CheckpointError."""
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: not a readable emotion classifier ({exc})") from None
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not an emotion classifier file")
        if d.get("format_version") != FORMAT_VERSION or d.get("feature_names") != list(FEATURE_NAMES):
            raise CheckpointError(f"{path}: made by another version of the classifier; retrain it")
        try:
            models = {k: LinearModel.from_dict(d["models"][k]) for k in ("quadrant", "arousal", "valence")}
            scaler = {k: np.asarray(d["scaler"][k], dtype=float) for k in ("mean", "scale")}
            return cls(scaler["mean"], scaler["scale"],
                       **models, use_binary=dict(d["use_binary"]), val_accuracy=dict(d["val_accuracy"]),
                       cv_accuracy=dict(d["cv_accuracy"]), info=dict(d.get("info", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: damaged emotion classifier ({exc})") from None


def song_of(name: str) -> str:
    """'Q1_eVMSeElk81Q_0.mid' -> 'eVMSeElk81Q' (clips of one song stay in one CV fold)."""
    return Path(name).stem[3:].rsplit("_", 1)[0]


def split_features(root: Path, split: str,
                   max_clips: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, quadrant indices and song ids of a split's readable clips."""
    from .midi_io import read_midi

    files = split_files(root, split)
    if max_clips and len(files) > max_clips:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_clips).astype(int)]
    rows, labels, songs = [], [], []
    for f in files:
        try:
            rows.append(note_features(read_midi(f).notes))
        except MusERError as exc:
            log.warning("skipped %s: %s", f.name, exc)
            continue
        labels.append(int(quadrant_of(f.name)[1]) - 1)
        songs.append(song_of(f.name))
    if len(set(labels)) < 4:
        raise DataError(f"{root}: the {split} split needs clips of all four quadrants")
    return np.stack(rows), np.array(labels), np.array(songs)


def _targets(quadrant_idx: np.ndarray) -> dict[str, tuple[np.ndarray, list[str]]]:
    return {
        "quadrant": (quadrant_idx, list(QUADRANTS)),
        "arousal": (AROUSAL_HIGH[quadrant_idx].astype(int), ["low", "high"]),
        "valence": (VALENCE_HIGH[quadrant_idx].astype(int), ["low", "high"]),
    }


def _fit_linear(z: np.ndarray, y: np.ndarray, classes: list[str], c: float) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=c, solver="newton-cg", max_iter=1000).fit(z, y)
    return LinearModel(classes, lr.coef_.copy(), lr.intercept_.copy(), c)


def _folds(groups: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold

    n = min(5, len(np.unique(groups)))
    return list(GroupKFold(n_splits=n).split(groups, groups=groups)) if n >= 2 else []


def _choose_c(z: np.ndarray, y: np.ndarray, groups: np.ndarray,
              c_grid: tuple[float, ...]) -> tuple[float, float]:
    """The C of c_grid with the best grouped CV accuracy, and that accuracy."""
    folds = [(tr, te) for tr, te in _folds(groups) if len(np.unique(y[tr])) == len(np.unique(y))]
    if not folds:
        return c_grid[len(c_grid) // 2], float("nan")
    scores = []
    for c in c_grid:
        hits = [(_fit_linear(z[tr], y[tr], [], c).proba(z[te]).argmax(1) == y[te]).mean() for tr, te in folds]
        scores.append(float(np.mean(hits)))
    best = int(np.argmax(scores))
    return c_grid[best], scores[best]


def _cv_derived(z: np.ndarray, quadrant_idx: np.ndarray, groups: np.ndarray, c: float) -> dict[str, float]:
    """CV accuracy of arousal and valence read off the 4-way model's marginals."""
    folds = [(tr, te) for tr, te in _folds(groups) if len(np.unique(quadrant_idx[tr])) == 4]
    if not folds:
        return {}
    hits: dict[str, list[float]] = {"arousal": [], "valence": []}
    for tr, te in folds:
        quad = _fit_linear(z[tr], quadrant_idx[tr], [], c).proba(z[te])
        for task, high in (("arousal", AROUSAL_HIGH), ("valence", VALENCE_HIGH)):
            hits[task].append(((quad[:, high].sum(1) >= 0.5) == high[quadrant_idx[te]]).mean())
    return {k: float(np.mean(v)) for k, v in hits.items()}


def main(argv: list[str] | None = None) -> int:
    """Train on EMOPIA, save the JSON model and print its val accuracies."""
    parser = argparse.ArgumentParser(prog="python -m musER.emotion_classifier",
                                     description="Train the emotion classifier on EMOPIA's train split.")
    parser.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    parser.add_argument("--out", default=str(DEFAULT_PATH), help="where to write the JSON model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        clf = EmotionClassifier.train(args.data)
    except MusERError as exc:
        parser.exit(2, f"error: {exc}\n")
    path = clf.save(args.out)
    print(f"saved {path}")
    for name, scores in (("val", clf.val_accuracy), ("train CV (by song)", clf.cv_accuracy)):
        shown = (f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items())
        print(f"{name}: " + ", ".join(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
