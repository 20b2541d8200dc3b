"""Helpers for tests and demos: a tiny, really built (untrained) checkpoint made in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import save_checkpoint
from .chord_timing import MAX_SIZE, ChordTiming
from .config import preset
from .elements import ELEMENTS
from .model.factory import build_prior, build_vqvae
from .piece import Piece
from .rhythm import GapModel
from .vocab import Vocab

ROLL_S = 0.012  # the tiny checkpoint's chords: each note this much after the one below it


def synthetic_piece(seed: int, bars: int = 4, bpm: float = 100.0) -> Piece:
    """A small random piano piece on a steady grid (chords and a melody)."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    notes = []
    root = int(rng.integers(48, 60))
    for b in range(bars * 4):
        t = b * beat
        notes.append((t, t + beat * 0.9, root + int(rng.choice([0, 4, 7, 12])), int(rng.integers(40, 100))))
        if b % 2 == 0:
            notes.append((t, t + beat * 1.8, root - 12, int(rng.integers(40, 90))))
    bar_times = np.arange(bars + 1) * 4 * beat
    return Piece(np.array(notes, dtype=float), bar_times, name=f"synthetic{seed}")


def tiny_checkpoint(folder: str | Path, seed: int = 0) -> Path:
    """Build the 'tiny' preset, give it a reference map from synthetic pieces, save it."""
    from .engine import Engine
    from .latent_map import build_reference_map

    torch.manual_seed(seed)
    vocab = Vocab.default()
    vq_cfg, prior_cfg = preset("tiny")
    vqvae, prior = build_vqvae(vq_cfg, vocab).eval(), build_prior(prior_cfg, vq_cfg, vocab).eval()
    vqvae.quantizer.initialised.fill_(True)
    engine = Engine(vqvae, prior, vocab, {"window": 256, "format_version": 1}, torch.device("cpu"))
    pieces = [synthetic_piece(i) for i in range(8)]
    vectors = engine.latent_vectors(pieces)
    ref = build_reference_map(vectors, np.arange(8) % 4 + 1, [p.name for p in pieces])
    beat_codes = engine.count_beat_codes(engine.encode_piece(p) for p in pieces)
    gaps = GapModel.count(((engine.encode_piece(p), i % 4 + 1) for i, p in enumerate(pieces)), vocab)
    # chords rolled upwards, 12 ms a note (the synthetic pieces strike theirs at once)
    rolled = ChordTiming({(q, n): ROLL_S * np.arange(n)[None] for q in range(1, 5) for n in range(2, MAX_SIZE + 1)})
    meta = {"reference_map": ref, "beat_codes": beat_codes.to_dict(), "onset_gaps": gaps.to_dict(),
            "chord_timing": rolled.to_dict(),
            "training": {"dataset": "none (untrained test model)"}}
    return save_checkpoint(Path(folder), vqvae, prior, vocab, 256, meta)


__all__ = ["ELEMENTS", "synthetic_piece", "tiny_checkpoint"]
