"""The only module that touches MIDI libraries: read user files, write our pieces.

Reading uses pretty_midi (times in seconds, tempo maps resolved); writing uses miditoolkit,
which writes a tempo event per bar so that bar lines line up in a DAW.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import MidiReadError, MusERError
from .piece import Piece

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NOTES = 200_000
PEDAL_CC = 64
TICKS_PER_BEAT = 480


@dataclass
class MidiNotes:
    """What a MIDI file holds for us: piano notes, and beats if its tempo map is real."""

    notes: np.ndarray  # (N, 4) onset_s, offset_s, pitch, velocity (pedal applied)
    beat_times: np.ndarray | None  # None when the file has only the 120 BPM placeholder
    dropped_drum_notes: int = 0
    instruments: int = 1


def read_midi(path: str | Path) -> MidiNotes:
    """Read a MIDI file into piano notes, merging every non-drum track and applying sustain.

    Raises MidiReadError with a plain message for anything unusable.
    """
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise MidiReadError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise MidiReadError(f"{path}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise MidiReadError(f"{path}: {size / 1e6:.0f} MB is too large for a MIDI file")
    data = b""
    try:
        data = path.read_bytes()  # read once: the parser reads these bytes, _why_unreadable their header
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # pretty_midi/mido raise many types on bad bytes
        raise MidiReadError(f"{path}: not a readable MIDI file ({_why_unreadable(data, exc)})") from None
    return _collect(pm, str(path))


def _why_unreadable(data: bytes, exc: Exception) -> str:
    """pretty_midi's error, in plain words where its own are cryptic ("max() arg is an empty
    sequence" for a file without tracks). `data`: the file's bytes (empty if it could not be read)."""
    if not data:
        return f"{type(exc).__name__}: {exc}"
    head = data[:14]  # "MThd", header length, format, number of tracks, time division
    if head[:4] != b"MThd":
        return "it does not start with a MIDI header; it may be another kind of file"
    if len(head) == 14:
        if head[12] & 0x80:
            return "its time is counted in SMPTE frames, not beats, which is not supported"
        if int.from_bytes(head[10:12], "big") == 0:
            return "it holds no tracks"
    if isinstance(exc, EOFError):
        return "it ends in the middle of a track; it may be cut short"
    return f"{type(exc).__name__}: {exc}"


def _collect(pm, label: str) -> MidiNotes:
    rows, drums = [], 0
    for inst in pm.instruments:
        if inst.is_drum:
            drums += len(inst.notes)
            continue
        notes = np.array([[n.start, n.end, n.pitch, n.velocity] for n in inst.notes], dtype=float)
        if len(notes):
            rows.append(apply_sustain(notes, _pedal_intervals(inst)))
    if not rows:
        what = "only drums" if drums else "no notes"
        raise MidiReadError(f"{label}: the file holds {what}; a piano part is needed")
    notes = np.concatenate(rows)
    if len(notes) > MAX_NOTES:
        raise MidiReadError(f"{label}: {len(notes)} notes is more than the {MAX_NOTES} supported")
    notes = notes[np.lexsort((notes[:, 2], notes[:, 0]))]
    notes[:, 1] = np.maximum(notes[:, 1], notes[:, 0] + 1e-3)
    return MidiNotes(notes, _real_beats(pm), drums, len(rows))


def _pedal_intervals(inst) -> list[tuple[float, float]]:
    """(down, up) times of the sustain pedal."""
    out, down = [], None
    for cc in sorted((c for c in inst.control_changes if c.number == PEDAL_CC), key=lambda c: c.time):
        if cc.value >= 64 and down is None:
            down = cc.time
        elif cc.value < 64 and down is not None:
            out.append((down, cc.time))
            down = None
    if down is not None:
        out.append((down, float("inf")))
    return out


def apply_sustain(notes: np.ndarray, pedals: list[tuple[float, float]]) -> np.ndarray:
    """Lengthen notes released under the pedal to the pedal release (or the next same-pitch onset)."""
    notes = notes.copy()
    if not pedals:
        return notes
    downs = np.array([p[0] for p in pedals])
    ups = np.array([p[1] for p in pedals])
    k = np.searchsorted(downs, notes[:, 1], side="right") - 1
    held = (k >= 0) & (notes[:, 1] < ups[np.clip(k, 0, None)])
    new_end = np.where(held, ups[np.clip(k, 0, None)], notes[:, 1])
    order = np.lexsort((notes[:, 0], notes[:, 2]))
    for a, b in itertools.pairwise(order):  # same pitch struck again: cut the earlier note
        if notes[a, 2] == notes[b, 2]:
            new_end[a] = min(new_end[a], max(notes[b, 0], notes[a, 1]))
    last = np.isinf(new_end)
    new_end[last] = notes[last, 1]
    notes[:, 1] = new_end
    return notes


def _real_beats(pm) -> np.ndarray | None:
    """Beats of the file's tempo map, or None for the single-120-BPM placeholder."""
    _, tempi = pm.get_tempo_changes()
    placeholder = len(tempi) <= 1 and (len(tempi) == 0 or abs(tempi[0] - 120.0) < 1e-3)
    if placeholder:
        return None
    beats = np.asarray(pm.get_beats(), dtype=float)
    return beats if len(beats) >= 2 else None


def write_midi(piece: Piece, path: str | Path, overwrite: bool = False) -> Path:
    """Write a piece as a one-track piano MIDI with a tempo event at every bar (atomic)."""
    import miditoolkit

    path = Path(path)
    if path.exists() and not overwrite:
        raise MusERError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    if not path.parent.is_dir():
        raise MusERError(f"{path.parent}: no such folder")
    midi = miditoolkit.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    bars = _grid_for(piece)
    bar_ticks = np.arange(len(bars)) * 4 * TICKS_PER_BEAT
    last_bpm = None
    for i in range(len(bars) - 1):
        bpm = 240.0 / max(bars[i + 1] - bars[i], 1e-3)
        if last_bpm is None or abs(bpm - last_bpm) > 1e-3:
            midi.tempo_changes.append(miditoolkit.TempoChange(round(bpm, 3), int(bar_ticks[i])))
            last_bpm = bpm
    midi.time_signature_changes.append(miditoolkit.TimeSignature(4, 4, 0))
    inst = miditoolkit.Instrument(program=0, is_drum=False, name="Piano")
    for onset, offset, pitch, vel in piece.notes:
        # _seconds_to_ticks can return a numpy float64, which round() leaves a float64 on NumPy 1.x
        start = int(round(_seconds_to_ticks(onset, bars, bar_ticks)))  # noqa: RUF046
        end = max(int(round(_seconds_to_ticks(offset, bars, bar_ticks))), start + 1)  # noqa: RUF046
        inst.notes.append(miditoolkit.Note(int(np.clip(vel, 1, 127)), int(pitch), start, end))
    midi.instruments.append(inst)
    if piece.name:
        # MIDI text is latin-1: keep what it can carry, replace the rest
        label = f"MusER Studio: {piece.name}".encode("latin-1", "replace").decode("latin-1")
        midi.markers.append(miditoolkit.Marker(label, 0))
    with atomic_path(path, ".mid.part") as tmp:
        midi.dump(str(tmp))
    return path


def _grid_for(piece: Piece) -> np.ndarray:
    """Bar start times covering every note; extends the piece's grid at its last tempo."""
    bars = piece.bar_times if len(piece.bar_times) >= 2 else np.array([0.0, 2.0])
    end = piece.seconds
    step = bars[-1] - bars[-2]
    if end > bars[-1]:
        extra = np.arange(1, int(np.ceil((end - bars[-1]) / step)) + 1) * step + bars[-1]
        bars = np.concatenate([bars, extra])
    return bars


def _seconds_to_ticks(t: float, bars: np.ndarray, bar_ticks: np.ndarray) -> float:
    if t <= bars[0]:
        return max(0.0, (t - bars[0]) / (bars[1] - bars[0]) * bar_ticks[1])
    return float(np.interp(t, bars, bar_ticks))
