"""Notes <-> MusER compound words (one row of 8 family ids per step).

A sequence is: one Emotion step, then per bar a Bar step (carrying the bar's tempo), then
per onset position a Position step (carrying the chord on the first position of each half
bar) followed by its Note steps (pitch, duration, velocity), and finally an EOS step.

Timing: bars are four beats of the beat grid; positions are 1/12 beat. Each bar's tempo is
chosen with error feedback (the quantised tempi accumulate to the real bar lines), so
decoded onsets do not drift however long the piece is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .beats import downbeat_phase, estimate_beats
from .chords import half_bar_chords
from .elements import COLUMN, FAMILIES
from .errors import TokenizationError
from .piece import Piece
from .vocab import PITCH_MAX, PITCH_MIN, STEPS_PER_BAR, Vocab

N_FAMILIES = len(FAMILIES)
HALF_BAR = STEPS_PER_BAR // 2
TEMPO_TOLERANCE = 1.5  # grid units (1/12 beat) a kept tempo may miss a bar line by


@dataclass
class Encoded:
    """Compound words of a piece, with what quantisation changed (SimpleNamespace-like)."""

    ids: np.ndarray  # (T, 8) int64
    bar_times: np.ndarray  # reconstructed bar starts, seconds from the source's time zero
    stats: dict = field(default_factory=dict)

    @property
    def time_offset(self) -> float:
        """Source time of decoded time zero."""
        return float(self.bar_times[0])


def _step(vocab: Vocab, **families) -> np.ndarray:
    row = np.zeros(N_FAMILIES, dtype=np.int64)
    for name, token_id in families.items():
        row[COLUMN[name]] = token_id
    return row


def encode_notes(
    notes: np.ndarray,
    vocab: Vocab,
    beat_times: np.ndarray | None = None,
    emotion: str | None = None,
) -> Encoded:
    """Turn notes (N, 4: onset_s, offset_s, pitch, velocity) into compound words."""
    notes = np.asarray(notes, dtype=float).reshape(-1, 4)
    if len(notes) == 0:
        raise TokenizationError("the piece has no notes")
    if not np.all(np.isfinite(notes)):
        raise TokenizationError("note times or values are not finite numbers")
    notes = notes[np.argsort(notes[:, 0], kind="stable")]
    notes[:, 0] -= min(0.0, notes[0, 0])  # negative onsets: shift the piece to start at 0
    stats = {"notes": len(notes)}
    bars = bar_lines(notes, beat_times)
    grid, tempo_ids = _quantised_bars(bars, vocab)
    on_units = to_units(notes[:, 0], grid)
    off_units = to_units(notes[:, 1], grid)
    pitch = notes[:, 2].round().astype(int)
    out_of_range = (pitch < PITCH_MIN) | (pitch > PITCH_MAX)
    stats["pitch_folded"] = int(out_of_range.sum())
    pitch = np.where(pitch < PITCH_MIN, PITCH_MIN + (pitch - PITCH_MIN) % 12, pitch)
    pitch = np.where(pitch > PITCH_MAX, PITCH_MAX - 11 + (pitch - PITCH_MAX + 11) % 12, pitch)
    dur_units = np.maximum(off_units - on_units, 1)
    max_dur = max(vocab.values["duration"])
    stats["duration_capped"] = int((dur_units > max_dur).sum())
    chords = half_bar_chords(on_units, off_units, pitch, vocab)
    rows = [_step(vocab, type=vocab.id_of("type", "emotion"),
                  emotion=vocab.id_of("emotion", emotion) if emotion else 0)]
    n_bars = int(on_units.max() // STEPS_PER_BAR) + 1
    order = np.lexsort((pitch, on_units))
    cursor = 0
    metrical, note_type = vocab.id_of("type", "metrical"), vocab.id_of("type", "note")
    for bar in range(n_bars):
        rows.append(_step(vocab, type=metrical, beat=vocab.id_of("beat", "bar"), tempo=tempo_ids[bar]))
        seen_halves = set()
        while cursor < len(order) and on_units[order[cursor]] // STEPS_PER_BAR == bar:
            unit = on_units[order[cursor]]
            pos = int(unit % STEPS_PER_BAR)
            half = int(unit // HALF_BAR)
            chord = chords[half] if half not in seen_halves else 0
            seen_halves.add(half)
            rows.append(_step(vocab, type=metrical, beat=vocab.id_of("beat", pos), chord=chord))
            while cursor < len(order) and on_units[order[cursor]] == unit:
                i = order[cursor]
                rows.append(_step(
                    vocab, type=note_type, pitch=vocab.id_of("pitch", int(pitch[i])),
                    duration=vocab.nearest_id("duration", float(dur_units[i])),
                    velocity=vocab.nearest_id("velocity", float(notes[i, 3]))))
                cursor += 1
    rows.append(_step(vocab, type=vocab.id_of("type", "eos")))
    stats["steps"] = len(rows)
    stats["bars"] = n_bars
    return Encoded(np.stack(rows), grid[: n_bars + 1], stats)


def bar_lines(notes: np.ndarray, beat_times: np.ndarray | None) -> np.ndarray:
    """Bar start times (s) covering every onset, from the file's beats or estimated ones."""
    if beat_times is None or len(beat_times) < 8:
        beat_times = estimate_beats(notes[:, 0], notes[:, 3])
    beat_times = np.asarray(beat_times, dtype=float)
    phase = downbeat_phase(beat_times, notes[:, 0], notes[:, 3])
    bars = beat_times[phase::4]
    if len(bars) < 2:
        bars = np.array([beat_times[0], beat_times[0] + 4 * np.median(np.diff(beat_times))])
    while bars[0] > notes[0, 0]:
        bars = np.concatenate([[bars[0] - (bars[1] - bars[0])], bars])
    last = max(notes[:, 0].max(), notes[:, 1].max())
    while bars[-1] <= last:
        bars = np.concatenate([bars, [2 * bars[-1] - bars[-2]]])
    # one spare bar: an onset just before the last line can round onto it
    return np.concatenate([bars, [2 * bars[-1] - bars[-2]]])


def _quantised_bars(bars: np.ndarray, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Bar lines as the decoder will rebuild them from tempo ids, with error feedback.

    A bar keeps the previous bar's tempo while that lands within TEMPO_TOLERANCE grid units
    of the real bar line: beat trackers jitter by a few per cent, and a tempo token that
    changes every bar is noise the model would have to learn. Bars slower than the slowest
    tempo bin fall behind the real ones; more bars at the last tempo then cover the piece.
    """
    tempi = np.asarray(vocab.values["tempo"])
    grid = [bars[0]]
    ids: list[int] = []
    for k in range(len(bars) - 1):
        wanted = max(bars[k + 1] - grid[k], 240.0 / tempi[-1])
        if k and abs(240.0 / tempi[ids[k - 1] - 1] - wanted) * STEPS_PER_BAR / wanted <= TEMPO_TOLERANCE:
            ids.append(ids[k - 1])
        else:
            ids.append(vocab.nearest_id("tempo", 240.0 / wanted))
        grid.append(grid[k] + 240.0 / tempi[ids[k] - 1])
    while grid[-1] < bars[-2]:  # bars[-2] lies past every note (bar_lines)
        ids.append(ids[-1])
        grid.append(grid[-1] + 240.0 / tempi[ids[-1] - 1])
    return np.array(grid), np.array(ids, dtype=np.int64)


def to_units(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Seconds -> grid units (1/12 beat) along the quantised bar lines."""
    k = np.clip(np.searchsorted(grid, times, side="right") - 1, 0, len(grid) - 2)
    frac = (times - grid[k]) / (grid[k + 1] - grid[k])
    return np.round((k + frac) * STEPS_PER_BAR).astype(np.int64)


def decode_ids(ids: np.ndarray, vocab: Vocab, name: str = "piece") -> Piece:
    """Compound words -> Piece. Steps out of grammar are skipped and counted in info."""
    ids = np.asarray(ids).reshape(-1, N_FAMILIES)
    tempi = vocab.values["tempo"]
    bar_starts: list[float] = []
    bar_len, pos, skipped = 2.0, None, 0
    notes = []
    for row in ids:
        kind = vocab.value_of("type", int(row[COLUMN["type"]]))
        if kind == "eos":
            break
        if kind == "metrical":
            beat = vocab.value_of("beat", int(row[COLUMN["beat"]]))
            if beat == "bar":
                start = bar_starts[-1] + bar_len if bar_starts else 0.0
                bar_starts.append(start)
                tempo_id = int(row[COLUMN["tempo"]])
                if 0 < tempo_id <= len(tempi):
                    bar_len = 240.0 / tempi[tempo_id - 1]
                pos = None
            elif beat is not None and bar_starts:
                pos = int(beat)
            else:
                skipped += 1
        elif kind == "note" and pos is not None:
            p, d, v = (vocab.value_of(f, int(row[COLUMN[f]])) for f in ("pitch", "duration", "velocity"))
            if None in (p, d, v):
                skipped += 1
                continue
            unit = bar_len / STEPS_PER_BAR
            onset = bar_starts[-1] + pos * unit
            notes.append((onset, onset + d * unit, p, v))
        elif kind != "emotion":
            skipped += 1
    if bar_starts:
        bar_starts.append(bar_starts[-1] + bar_len)
    emotion = next((vocab.value_of("emotion", int(r[COLUMN["emotion"]])) for r in ids[:1]), None)
    notes, merged = _strike_each_key_once(np.array(notes, dtype=float).reshape(-1, 4))
    return Piece(notes, np.array(bar_starts), name=name,
                 info={"skipped_steps": skipped, "merged_notes": merged, "emotion": emotion})


def _strike_each_key_once(notes: np.ndarray) -> tuple[np.ndarray, int]:
    """One sounding note per key, as on a piano and in a MIDI file: a key named twice at one onset
    is one note, the longest and loudest of those named (generated chords named a pitch twice in
    4-12 % of notes), and a note ends where its key is struck again. Returns the notes and how
    many were merged away."""
    keys, inverse = np.unique(notes[:, [0, 2]], axis=0, return_inverse=True)
    merged = np.full((len(keys), 4), -np.inf)
    merged[:, 0], merged[:, 2] = keys[:, 0], keys[:, 1]
    np.maximum.at(merged[:, 1], inverse.ravel(), notes[:, 1])
    np.maximum.at(merged[:, 3], inverse.ravel(), notes[:, 3])
    by_key = np.lexsort((merged[:, 0], merged[:, 2]))  # each key's notes in time order
    earlier, later = by_key[:-1], by_key[1:]
    restruck = merged[earlier, 2] == merged[later, 2]
    earlier, later = earlier[restruck], later[restruck]
    merged[earlier, 1] = np.minimum(merged[earlier, 1], merged[later, 0])
    return merged, len(notes) - len(keys)
