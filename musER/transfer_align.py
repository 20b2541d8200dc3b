"""Step alignment for element transfer: match steps by bar and position, not by raw index."""

from __future__ import annotations

import numpy as np

from .batching import bar_line_steps
from .elements import COLUMN
from .vocab import Vocab


def step_keys(content: np.ndarray, vocab: Vocab) -> list[tuple[str, int, int, int]]:
    """(kind, bar, position, rank) of every content step; rank counts notes at one position."""
    bar_id, metrical, note = vocab.id_of("beat", "bar"), vocab.id_of("type", "metrical"), vocab.id_of("type", "note")
    keys, bar, pos, rank = [], -1, -1, 0
    for row in content:
        kind = int(row[COLUMN["type"]])
        if kind == metrical and row[COLUMN["beat"]] == bar_id:
            bar, pos = bar + 1, -1
            keys.append(("bar", bar, -1, 0))
        elif kind == metrical:
            pos, rank = int(row[COLUMN["beat"]]) - bar_id - 1, 0
            keys.append(("pos", bar, pos, 0))
        elif kind == note:
            keys.append(("note", bar, pos, rank))
            rank += 1
        else:
            keys.append(("other", bar, pos, 0))
    return keys


def align_steps(source: np.ndarray, reference: np.ndarray, vocab: Vocab) -> np.ndarray:
    """For each source step, the index of the reference step at the same musical place, or -1.

    Bars of a shorter reference repeat; a position missing in the reference bar takes the
    nearest one; a note takes the note of the same rank (cycling) at that position.
    """
    ref_keys = step_keys(reference, vocab)
    n_ref_bars = max((k[1] for k in ref_keys), default=-1) + 1
    bars: dict[int, int] = {}
    positions: dict[int, dict[int, int]] = {}
    notes: dict[tuple[int, int], list[int]] = {}
    for i, (kind, bar, pos, _) in enumerate(ref_keys):
        if kind == "bar":
            bars[bar] = i
        elif kind == "pos":
            positions.setdefault(bar, {})[pos] = i
        elif kind == "note":
            notes.setdefault((bar, pos), []).append(i)
    out = np.full(len(source), -1, dtype=np.int64)
    if n_ref_bars == 0:
        return out
    for t, (kind, bar, pos, rank) in enumerate(step_keys(source, vocab)):
        rb = bar % n_ref_bars if bar >= 0 else -1
        if kind == "bar":
            out[t] = bars.get(rb, -1)
            continue
        candidates = positions.get(rb, {})
        if kind not in ("pos", "note") or not candidates:
            continue
        nearest = min(candidates, key=lambda p: (abs(p - pos), p))
        if kind == "pos":
            out[t] = candidates[nearest]
        else:
            played = notes.get((rb, nearest), [])
            out[t] = played[rank % len(played)] if played else -1
    return out


def copy_bar_tempi(ids: np.ndarray, donor: np.ndarray, vocab: Vocab, match_pace: bool = False) -> np.ndarray:
    """A copy of `ids` whose k-th bar takes the tempo of the donor's k-th bar (a shorter donor
    repeats, as in align_steps). The codes name a bar's tempo for only about 38 % of bars
    (bench/code_content.py), so transfer takes tempo from tokens, not from the latents.
    `match_pace`: the donor's tempi taken at the octave pace_octave chooses."""
    tempi = donor[bar_line_steps(donor, vocab), COLUMN["tempo"]]
    out = ids.copy()
    if len(tempi):
        lines = bar_line_steps(out, vocab)
        taken = tempi[np.arange(len(lines)) % len(tempi)]
        if match_pace:
            factor = pace_octave(note_count(ids, vocab), bpm(taken, vocab), note_count(donor, vocab), bpm(tempi, vocab))
            if factor != 1.0:
                taken = np.array([vocab.nearest_id("tempo", vocab.value_of("tempo", int(t)) * factor) if t else 0
                                  for t in taken])
        out[lines, COLUMN["tempo"]] = taken
    return out


def pace_octave(notes: int, tempi: np.ndarray, donor_notes: int, donor_tempi: np.ndarray) -> float:
    """The factor, 1/2, 1 or 2, on the bar tempi `tempi` (BPM) that brings `notes` notes played
    over those bars nearest the donor's notes per second. EMOPIA's tempi come from a beat tracker,
    which may count a piece's beat at half or twice the rate a listener feels: a sparse, slow
    clip tracked at 133 BPM took a dense input from 9 to 16 notes per second when its tempo was
    moved in to make the input calmer."""
    if not notes or not donor_notes or not len(tempi) or not len(donor_tempi):
        return 1.0
    # a bar lasts 1 / tempo up to a constant factor, the same on both sides
    wanted = (donor_notes / np.sum(1 / donor_tempi)) / (notes / np.sum(1 / tempi))
    return float(2.0 ** np.clip(np.round(np.log2(wanted)), -1, 1))


def bpm(tempo_ids: np.ndarray, vocab: Vocab) -> np.ndarray:
    """The tempo (BPM) of each bar from its tempo id; id 0 keeps the previous bar's, and bars
    before the first tempo are left out."""
    tempi, current = [], None
    for t in tempo_ids:
        current = vocab.value_of("tempo", int(t)) if t > 0 else current
        if current is not None:
            tempi.append(current)
    return np.array(tempi, dtype=float)


def note_count(content: np.ndarray, vocab: Vocab) -> int:
    return int(np.sum(content[:, COLUMN["type"]] == vocab.id_of("type", "note")))
