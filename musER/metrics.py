"""Objective statistics of one piece: the numbers the field reports, plus a mode cue.

Every metric reads a Piece (notes in seconds and the bar grid) and returns a float; none needs
a model. Beats are the bar grid split in four (the representation is 4/4 throughout).

- pitch_class_entropy: entropy (bits) of the duration-weighted pitch-class histogram.
- grooving_similarity: mean over all pairs of bars of 1 - XOR(onset patterns) / grid size,
  with onsets on a 1/12-beat grid (Wu & Yang's Jazz Transformer, MusPy's groove consistency).
- empty_beat_rate: fraction of beats during which no note sounds (inside the notes' span).
- pitch_range, n_pitch_classes: semitones between lowest and highest note; classes used.
- polyphony: mean number of notes sounding, over the time when at least one sounds.
- notes_per_second, mean_velocity.
- major_minor_strength: best Krumhansl-Kessler major-key correlation minus best minor-key
  correlation (> 0 leans major, < 0 leans minor); a valence cue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .piece import Piece

BEATS_PER_BAR = 4
STEPS_PER_BEAT = 12
GRID_PER_BAR = BEATS_PER_BAR * STEPS_PER_BEAT
# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
METRIC_NAMES: tuple[str, ...] = (
    "pitch_class_entropy", "grooving_similarity", "empty_beat_rate", "pitch_range",
    "n_pitch_classes", "polyphony", "notes_per_second", "mean_velocity", "major_minor_strength",
)


def pitch_class_histogram(notes: np.ndarray) -> np.ndarray:
    """Duration-weighted pitch-class histogram (12,), summing to 1 (zeros for no notes)."""
    hist = np.zeros(12)
    if len(notes):
        np.add.at(hist, notes[:, 2].astype(int) % 12, np.maximum(notes[:, 1] - notes[:, 0], 0.0))
    total = hist.sum()
    return hist / total if total > 0 else hist


def pitch_class_entropy(notes: np.ndarray) -> float:
    """Entropy in bits of the duration-weighted pitch-class histogram (0 to log2 12)."""
    p = pitch_class_histogram(notes)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _standardised(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(-1, keepdims=True)
    return x / np.sqrt((x * x).sum(-1, keepdims=True))


# rows: the profile rotated to each tonic, standardised once (generation asks at every note)
_KEY_PROFILES = _standardised(np.stack([np.roll(p, k) for p in (KK_MAJOR, KK_MINOR) for k in range(12)]))


def key_correlations(hist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of a pitch-class histogram with the 12 major and 12 minor keys."""
    hist = np.asarray(hist, dtype=float)
    if np.ptp(hist) == 0:
        return np.zeros(12), np.zeros(12)
    r = _KEY_PROFILES @ _standardised(hist)
    return r[:12], r[12:]


def major_minor_strength(notes: np.ndarray) -> float:
    """Best major-key correlation minus best minor-key correlation (Krumhansl-Kessler)."""
    major, minor = key_correlations(pitch_class_histogram(notes))
    return float(major.max() - minor.max())


def beat_times(bar_times: np.ndarray) -> np.ndarray:
    """Beat starts plus the end of the last beat: every bar split into four equal beats."""
    bar_times = np.asarray(bar_times, dtype=float)
    if len(bar_times) < 2:
        return bar_times.copy()
    frac = np.arange(BEATS_PER_BAR) / BEATS_PER_BAR
    starts = (bar_times[:-1, None] + np.diff(bar_times)[:, None] * frac).ravel()
    return np.append(starts, bar_times[-1])


def empty_beat_rate(notes: np.ndarray, bar_times: np.ndarray) -> float:
    """Fraction of beats during which no note sounds, over the beats from the first onset
    to the last release (leading and trailing silence of the grid does not count).
    """
    beats = beat_times(bar_times)
    if len(beats) < 2 or not len(notes):
        return 0.0
    starts, ends = beats[:-1], beats[1:]
    inside = (ends > notes[:, 0].min()) & (starts < notes[:, 1].max())
    starts, ends = starts[inside], ends[inside]
    if not len(starts):
        return 0.0
    sounding = np.zeros(len(starts), dtype=bool)
    for on, off in _merged_intervals(notes[:, 0], notes[:, 1]):
        sounding |= (starts < off) & (ends > on)
    return float(1.0 - sounding.mean())


def _merged_intervals(onsets: np.ndarray, offsets: np.ndarray) -> list[tuple[float, float]]:
    """Union of [onset, offset) intervals as sorted disjoint intervals."""
    order = np.argsort(onsets)
    merged: list[list[float]] = []
    for on, off in zip(onsets[order], offsets[order]):
        if merged and on <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], off)
        else:
            merged.append([float(on), float(off)])
    return [(a, b) for a, b in merged]


def onset_patterns(notes: np.ndarray, bar_times: np.ndarray) -> np.ndarray:
    """Boolean (bars, 48) onset grid of the bars from the first to the last onset."""
    bar_times = np.asarray(bar_times, dtype=float)
    if len(bar_times) < 2 or not len(notes):
        return np.zeros((0, GRID_PER_BAR), dtype=bool)
    onsets = notes[:, 0]
    k = np.clip(np.searchsorted(bar_times, onsets, side="right") - 1, 0, len(bar_times) - 2)
    frac = (onsets - bar_times[k]) / np.diff(bar_times)[k]
    units = np.round((k + frac) * GRID_PER_BAR).astype(int)
    units -= units.min() // GRID_PER_BAR * GRID_PER_BAR
    grid = np.zeros((units.max() // GRID_PER_BAR + 1) * GRID_PER_BAR, dtype=bool)
    grid[units] = True
    return grid.reshape(-1, GRID_PER_BAR)


def grooving_similarity(notes: np.ndarray, bar_times: np.ndarray) -> float:
    """Mean over all pairs of bars of 1 - XOR(onset pattern) / 48 (1.0 for a single bar)."""
    patterns = onset_patterns(notes, bar_times).astype(np.int32)
    n = len(patterns)
    if n < 2:
        return 1.0
    counts = patterns.sum(1)
    shared = patterns @ patterns.T
    xor = counts[:, None] + counts[None, :] - 2 * shared
    upper = np.triu_indices(n, k=1)
    return float(1.0 - xor[upper].mean() / GRID_PER_BAR)


def polyphony(notes: np.ndarray) -> float:
    """Mean number of sounding notes, averaged over the time at least one note sounds."""
    if not len(notes):
        return 0.0
    times = np.concatenate([notes[:, 0], notes[:, 1]])
    steps = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    order = np.lexsort((steps, times))  # at equal times, releases before onsets
    times, count = times[order], np.cumsum(steps[order])
    spans = np.diff(times)
    active = count[:-1] > 0
    busy = spans[active].sum()
    return float((count[:-1][active] * spans[active]).sum() / busy) if busy > 0 else 1.0


def notes_per_second(notes: np.ndarray) -> float:
    """Notes divided by the time from the first onset to the last release."""
    if not len(notes):
        return 0.0
    span = float(notes[:, 1].max() - notes[:, 0].min())
    return float(len(notes) / max(span, 1e-3))


def piece_metrics(piece: Piece) -> dict[str, float]:
    """Every metric of METRIC_NAMES for one piece."""
    notes = piece.notes
    pitches = notes[:, 2]
    return {
        "pitch_class_entropy": pitch_class_entropy(notes),
        "grooving_similarity": grooving_similarity(notes, piece.bar_times),
        "empty_beat_rate": empty_beat_rate(notes, piece.bar_times),
        "pitch_range": float(np.ptp(pitches)) if len(notes) else 0.0,
        "n_pitch_classes": float(len(np.unique(pitches.astype(int) % 12))),
        "polyphony": polyphony(notes),
        "notes_per_second": notes_per_second(notes),
        "mean_velocity": float(notes[:, 3].mean()) if len(notes) else 0.0,
        "major_minor_strength": major_minor_strength(notes),
    }


def piece_from_midi(path: str | Path) -> Piece:
    """Read a MIDI file into a Piece with a bar grid: the file's own beats when its tempo
    map is real, else beats estimated from the notes (musER.beats), grouped in fours from
    the strongest beat phase. Notes keep their performed timing (nothing is quantised).
    """
    from .beats import downbeat_phase, estimate_beats
    from .midi_io import read_midi

    midi = read_midi(path)
    notes = midi.notes
    if midi.beat_times is not None:
        beats, phase = midi.beat_times, 0
    else:
        beats = estimate_beats(notes[:, 0], notes[:, 3])
        phase = downbeat_phase(beats, notes[:, 0], notes[:, 3])
    bars = _covering_bars(beats[phase::BEATS_PER_BAR], notes)
    return Piece(notes, bars, name=Path(path).name)


def _covering_bars(bars: np.ndarray, notes: np.ndarray) -> np.ndarray:
    """Extend bar starts at the outer bar lengths so they cover every note."""
    bars = np.asarray(bars, dtype=float)
    if len(bars) < 2:
        start = float(notes[:, 0].min()) if len(notes) else 0.0
        bars = np.array([start, start + 2.0])
    first, last = float(notes[:, 0].min()), float(notes[:, 1].max())
    head, tail = bars[1] - bars[0], bars[-1] - bars[-2]
    n_head = max(int(np.ceil((bars[0] - first) / head)), 0)
    n_tail = max(int(np.ceil((last - bars[-1]) / tail)), 0)
    before = bars[0] - head * np.arange(n_head, 0, -1)
    after = bars[-1] + tail * np.arange(1, n_tail + 1)
    return np.concatenate([before, bars, after])
