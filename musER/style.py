"""A piece's style: a few texture figures read from its compound steps, standardised.

The prior's only piece-level input used to be the emotion, so the pieces of one quadrant shared
one texture (their spread was a median 0.66 of EMOPIA's clips'). A prior trained with each crop's
style as a second condition can be given, per piece, the style of a real clip of the asked
quadrant, drawn from a bank stored with the checkpoint: pieces then differ as clips do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batching import bar_line_steps
from .elements import COLUMN
from .vocab import Vocab

FEATURES = ("register", "notes_per_bar", "notes_per_onset", "loudness", "log_duration", "pitch_class_entropy")
CLIP_Z = 3.0  # standardised figures are clipped here, so one odd crop cannot dominate


def raw_style(steps: np.ndarray, vocab: Vocab) -> np.ndarray | None:
    """The FEATURES of content steps (L, 8), in their own units; None without notes or bars."""
    note = steps[:, COLUMN["type"]] == vocab.id_of("type", "note")
    if not note.any():
        return None
    metrical = steps[:, COLUMN["type"]] == vocab.id_of("type", "metrical")
    onsets = metrical & (steps[:, COLUMN["beat"]] != vocab.id_of("beat", "bar"))
    pitch = np.asarray(vocab.values["pitch"], dtype=float)[steps[note, COLUMN["pitch"]] - 1]
    duration = np.asarray(vocab.values["duration"], dtype=float)[np.maximum(steps[note, COLUMN["duration"]], 1) - 1]
    velocity = np.asarray(vocab.values["velocity"], dtype=float)[np.maximum(steps[note, COLUMN["velocity"]], 1) - 1]
    classes = np.bincount(pitch.astype(int) % 12, minlength=12) / len(pitch)
    entropy = -float(np.sum(classes[classes > 0] * np.log2(classes[classes > 0])))
    n = float(note.sum())
    return np.array([pitch.mean(), n / max(len(bar_line_steps(steps, vocab)), 1), n / max(int(onsets.sum()), 1),
                     velocity.mean(), np.log(duration).mean(), entropy])


@dataclass(frozen=True)
class StyleBank:
    """Standardisation of the FEATURES and the standardised styles of the training clips by
    quadrant (1..4), from which generation draws one per piece."""

    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    clips: dict[int, np.ndarray]  # quadrant -> (N, F) standardised

    def standardise(self, raw: np.ndarray | None) -> np.ndarray:
        """Raw figures -> clipped z-scores; None (no notes) -> zeros, the unknown style."""
        if raw is None:
            return np.zeros(len(FEATURES), dtype=np.float32)
        return np.clip((raw - self.mean) / self.std, -CLIP_Z, CLIP_Z).astype(np.float32)

    @classmethod
    def fit(cls, clips: list[np.ndarray], quadrants: np.ndarray, vocab: Vocab) -> StyleBank:
        """From content steps (L, 8) of whole clips and their quadrant labels."""
        raw = [raw_style(c, vocab) for c in clips]
        known = np.stack([r for r in raw if r is not None])
        mean, std = known.mean(0), np.maximum(known.std(0), 1e-6)
        bank = cls(mean, std, {})
        for q in (1, 2, 3, 4):
            rows = [bank.standardise(r) for r, label in zip(raw, quadrants) if r is not None and label == q]
            if rows:
                bank.clips[q] = np.stack(rows)
        return bank

    def draw(self, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(B, 4) quadrant weights -> (B, F): each piece takes the style of one clip, of a quadrant
        drawn by its weights (a blend of emotions takes clips of the quadrants it blends)."""
        out = np.zeros((len(weights), len(FEATURES)), dtype=np.float32)
        for i, w in enumerate(np.asarray(weights, dtype=float)):
            if w.sum() <= 0:
                continue  # the null condition has no style of its own
            q = int(rng.choice(4, p=w / w.sum())) + 1
            if q in self.clips:
                out[i] = self.clips[q][rng.integers(len(self.clips[q]))]
        return out

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.round(5).tolist(), "std": self.std.round(5).tolist(),
                "clips": {str(q): np.round(v, 3).tolist() for q, v in self.clips.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> StyleBank:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"style features {data['features']} are not this version's {list(FEATURES)}")
        clips = {int(q): np.asarray(v, dtype=np.float32).reshape(-1, len(FEATURES)) for q, v in data["clips"].items()}
        return cls(np.asarray(data["mean"], dtype=float), np.asarray(data["std"], dtype=float), clips)
