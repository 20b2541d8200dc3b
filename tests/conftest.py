"""Shared fixtures: the EMOPIA folder (or a clear skip), a tiny real checkpoint, MIDI builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_emopia() -> Path | None:
    for raw in (os.environ.get("MUSER_DATA"), REPO.parent / "shared" / "data" / "emopia"):
        if raw and (Path(raw) / "midis").is_dir():
            return Path(raw)
    return None


@pytest.fixture(scope="session")
def emopia() -> Path:
    root = find_emopia()
    if root is None:
        pytest.skip("EMOPIA not found: set MUSER_DATA or place it at ../shared/data/emopia")
    return root


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> Path:
    from musER.testing import tiny_checkpoint

    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Token caches of tests never touch the user's cache folder."""
    monkeypatch.setenv("MUSER_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def write_midi(path: Path, notes, tpb: int = 480, tempos=((0, 120.0),), midi_type: int = 1,
               drums=(), pedal=(), time_sigs=((0, 4, 4),)) -> Path:
    """Write a MIDI file with mido. notes: (start_beat, dur_beats, pitch, velocity)."""
    import mido

    def ticks(beats: float) -> int:
        return round(beats * tpb)

    events = []  # (tick, order, message)
    for beat, bpm in tempos:
        events.append((ticks(beat), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for beat, num, den in time_sigs:
        events.append((ticks(beat), 0, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    for start, dur, pitch, vel in notes:
        events.append((ticks(start), 2, mido.Message("note_on", note=pitch, velocity=vel, channel=0)))
        events.append((ticks(start + dur), 1, mido.Message("note_off", note=pitch, velocity=0, channel=0)))
    for start, dur, pitch, vel in drums:
        events.append((ticks(start), 2, mido.Message("note_on", note=pitch, velocity=vel, channel=9)))
        events.append((ticks(start + dur), 1, mido.Message("note_off", note=pitch, velocity=0, channel=9)))
    for down, up in pedal:
        events.append((ticks(down), 1, mido.Message("control_change", control=64, value=127, channel=0)))
        events.append((ticks(up), 1, mido.Message("control_change", control=64, value=0, channel=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=tpb)
    track = mido.MidiTrack()
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    mid.tracks.append(track)
    if midi_type == 2:
        mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=64, time=0),
                                          mido.Message("note_off", note=60, velocity=0, time=tpb)]))
    mid.save(path)
    return path


def scale_notes(n: int = 32, step: float = 0.5, velocity: int = 80):
    """A rising C-major line with a bass note every bar (beats)."""
    major = [0, 2, 4, 5, 7, 9, 11]
    notes = [(i * step, step, 60 + major[i % 7] + 12 * (i // 7 % 2), velocity) for i in range(n)]
    notes += [(b * 4.0, 3.5, 48, velocity - 10) for b in range(int(n * step / 4) + 1)]
    return notes
