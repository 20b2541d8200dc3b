"""Tokenized clips -> training batches: bar-aligned crops, transposition, padding."""

from __future__ import annotations

import numpy as np
import torch

from .data import TokenizedSet
from .elements import COLUMN
from .vocab import CHORD_QUALITIES, Vocab

N_QUALITIES = len(CHORD_QUALITIES)


def transpose_ids(ids: np.ndarray, semitones: int, vocab: Vocab) -> np.ndarray:
    """Shift pitches and chord roots; returns the input unchanged if a pitch would leave the range."""
    if semitones == 0:
        return ids
    out = ids.copy()
    pitch = out[:, COLUMN["pitch"]]
    notes = pitch > 0
    shifted = pitch[notes] + semitones
    if notes.any() and (shifted.min() < 1 or shifted.max() >= vocab.size("pitch")):
        return ids
    pitch[notes] = shifted
    chord = out[:, COLUMN["chord"]]
    named = chord >= 2  # ids >= 2 are root:quality; 1 is "N"
    k = chord[named] - 2
    root, quality = k // N_QUALITIES, k % N_QUALITIES
    chord[named] = 2 + ((root + semitones) % 12) * N_QUALITIES + quality
    return out


def crop(ids: np.ndarray, window: int, rng: np.random.Generator, bar_id: int) -> np.ndarray:
    """A window of at most `window` steps: the emotion step + content starting at a bar."""
    if len(ids) <= window:
        return ids
    bars = np.nonzero((ids[1:, COLUMN["beat"]] == bar_id) & (np.arange(1, len(ids)) <= len(ids) - window))[0] + 1
    start = int(rng.choice(bars)) if len(bars) else 1
    return np.concatenate([ids[:1], ids[start: start + window - 1]])


def batches(data: TokenizedSet, vocab: Vocab, batch_size: int, window: int, transpose: int,
            rng: np.random.Generator, shuffle: bool = True, rank: int = 0, world: int = 1):
    """Yield (ids (B, T, 8), lengths (B,), quadrants (B,)) tensors; similar lengths batched together."""
    order = rng.permutation(len(data)) if shuffle else np.arange(len(data))
    lengths = np.minimum(np.diff(data.offsets), window)
    # sort chunks of 8 batches by length to limit padding, then shuffle the batches
    chunk = batch_size * 8
    groups = [sorted(order[i:i + chunk], key=lambda j: lengths[j]) for i in range(0, len(order), chunk)]
    flat = [j for g in groups for j in g]
    batch_list = [flat[i:i + batch_size] for i in range(0, len(flat), batch_size)]
    if shuffle:
        rng.shuffle(batch_list)
    bar_id = vocab.id_of("beat", "bar")
    for b, idx in enumerate(batch_list):
        if b % world != rank:
            continue
        clips = []
        for j in idx:
            ids = crop(data.clip(j), window, rng, bar_id)
            k = int(rng.integers(-transpose, transpose + 1)) if transpose else 0
            clips.append(transpose_ids(ids, k, vocab))
        yield collate(clips) + (torch.as_tensor(data.quadrants[idx]),)


def collate(clips: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad clips (T_i, 8) into (B, T_max, 8) with zeros; returns ids and lengths."""
    longest = max(len(c) for c in clips)
    ids = np.zeros((len(clips), longest, clips[0].shape[1]), dtype=np.int64)
    for i, c in enumerate(clips):
        ids[i, : len(c)] = c
    return torch.from_numpy(ids), torch.tensor([len(c) for c in clips])


def bar_line_steps(ids: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Indices of the bar-line steps of an id array (T, 8)."""
    bar, metrical = vocab.id_of("beat", "bar"), vocab.id_of("type", "metrical")
    return np.flatnonzero((ids[:, COLUMN["beat"]] == bar) & (ids[:, COLUMN["type"]] == metrical))


def bar_windows(content: np.ndarray, vocab: Vocab, limit: int) -> list[tuple[int, int]]:
    """Split content steps into pieces of at most `limit` steps, cut at bar lines."""
    bar_steps = bar_line_steps(content, vocab)
    out, start = [], 0
    while start < len(content):
        end = min(start + limit, len(content))
        if end < len(content):
            inside = bar_steps[(bar_steps > start) & (bar_steps <= end)]
            end = int(inside[-1]) if len(inside) else end
        out.append((start, end))
        start = end
    return out
