"""Render a piece to audio (Qt-free): the sampled grand piano of pretty_midi's General MIDI
soundfont, played by tinysoundfont (a 0.2 MB wheel that the installer adds) or FluidSynth,
whichever is present; else a small additive piano synthesiser (decaying, slightly inharmonic
partials whose brightness and level follow velocity). Also writes WAV files atomically.
"""

from __future__ import annotations

import functools
import os
import tempfile
import wave
from pathlib import Path

import numpy as np

from musER.errors import MusERError
from musER.piece import Piece

SAMPLE_RATE = 44_100
RELEASE_S = 0.5  # tail after the last note so the final chord rings out
_ATTACK_S = 0.004
_DAMP_S = 0.06  # time constant of the damper after a key is released


def rendered_length(piece: Piece, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of samples ``render`` returns for a piece."""
    return round((piece.seconds + RELEASE_S) * sample_rate)


def soundfont_path() -> Path:
    """The General MIDI soundfont that pretty_midi ships (TimGM6mb, 6 MB; preset 0 is a sampled grand piano)."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def soundfont_available() -> bool:
    """True when tinysoundfont can be loaded and the soundfont is in place."""
    try:
        import tinysoundfont  # noqa: F401  (installed without its pyaudio dependency: only live output needs it)
    except Exception:  # ImportError, or a binary built for another platform
        return False
    return soundfont_path().is_file()


def fluidsynth_available() -> bool:
    """True when pyfluidsynth and libfluidsynth can be loaded."""
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; fails if libfluidsynth is missing)
    except Exception:  # ImportError, OSError from the C library loader
        return False
    return True


def best_engine() -> str:
    """The synthesiser "auto" renders with: "soundfont", "fluidsynth" or "additive"."""
    return "soundfont" if soundfont_available() else "fluidsynth" if fluidsynth_available() else "additive"


def render(piece: Piece, sample_rate: int = SAMPLE_RATE, engine: str = "auto") -> np.ndarray:
    """Mono float32 audio in [-1, 1] of exactly ``rendered_length(piece)`` samples.

    ``engine`` is "auto" (the first of the others that is present), "soundfont", "fluidsynth" or
    "additive".
    """
    n = rendered_length(piece, sample_rate)
    if engine == "auto":
        engine = best_engine()
    if engine == "soundfont":
        audio = render_soundfont(piece.notes, n, sample_rate)
    elif engine == "fluidsynth":
        audio = _render_fluidsynth(piece, sample_rate)
    else:
        audio = synthesize(piece.notes, n, sample_rate)
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, len(audio))] = audio[:n]
    peak = float(np.abs(out).max()) if n else 0.0
    return out / peak * 0.9 if peak > 0.9 else out


def _render_fluidsynth(piece: Piece, sample_rate: int) -> np.ndarray:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0, name="Piano")
    for onset, offset, pitch, vel in piece.notes:
        inst.notes.append(pretty_midi.Note(int(np.clip(vel, 1, 127)), int(pitch), float(onset), float(offset)))
    pm.instruments.append(inst)
    return pm.fluidsynth(fs=sample_rate).astype(np.float32)


def render_soundfont(notes: np.ndarray, n_samples: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The soundfont's grand piano playing the notes (onset, offset, pitch, velocity rows): each
    note is struck at its onset and released at its offset, rendered between events."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    synth.program_select(0, synth.sfload(str(soundfont_path())), 0, 0)
    rows = np.asarray(notes, dtype=float).reshape(-1, 4)
    # releases sort before strikes at the same time, so a key struck again sounds again
    events = sorted([(on, 1, int(p), int(np.clip(v, 1, 127))) for on, _, p, v in rows]
                    + [(off, 0, int(p), 0) for _, off, p, _ in rows])
    stereo = np.zeros((n_samples, 2), dtype=np.float32)
    done = 0
    for seconds, strike, pitch, velocity in events:
        at = min(max(round(seconds * sample_rate), done), n_samples)
        if at > done:
            stereo[done:at] = np.frombuffer(synth.generate(at - done), dtype=np.float32).reshape(-1, 2)
            done = at
        if strike:
            synth.noteon(0, pitch, velocity)
        else:
            synth.noteoff(0, pitch)
    if n_samples > done:
        stereo[done:] = np.frombuffer(synth.generate(n_samples - done), dtype=np.float32).reshape(-1, 2)
    return stereo.mean(axis=1)


def synthesize(notes: np.ndarray, n_samples: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Additive piano: mix one cached tone per note, cut by a damper at the note's offset."""
    out = np.zeros(n_samples, dtype=np.float32)
    damp = int(_DAMP_S * 5 * sample_rate)
    for onset, offset, pitch, vel in np.asarray(notes, dtype=float).reshape(-1, 4):
        start = int(round(onset * sample_rate))  # noqa: RUF046 (numpy scalar: round() gives a float64 on NumPy 1.x)
        if start >= n_samples:
            continue
        v = float(np.clip(vel, 1, 127)) / 127.0
        soft, bright = _tones(int(pitch), sample_rate)
        held = max(int(round((offset - onset) * sample_rate)), 1)  # noqa: RUF046 (numpy scalar, as above)
        length = min(len(soft), held + damp, n_samples - start)
        sound = (1 - v) * soft[:length] + v * bright[:length]
        if length > held:
            sound[held:] *= np.exp(-np.arange(length - held) / (_DAMP_S * sample_rate)).astype(np.float32)
        out[start : start + length] += (0.05 + 0.25 * v**1.5) * sound
    return out


@functools.lru_cache(maxsize=128)
def _tones(pitch: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """A struck string at full strength, (soft, bright) timbres: inharmonic partials with a
    two-stage decay that gets faster for higher partials and higher notes."""
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    seconds = 1.0 + 2.0 * float(np.clip((108 - pitch) / 87, 0, 1))
    t = np.arange(int(seconds * sample_rate), dtype=np.float32) / sample_rate
    inharm = 1e-4 * 2 ** ((pitch - 60) / 24)
    rate = 0.8 + f0 / 500
    fast, slow = np.exp(-3 * rate * t), np.exp(-0.4 * rate * t)
    fast_step, slow_step = np.exp(-1.05 * rate * t), np.exp(-0.14 * rate * t)
    soft, bright = np.zeros_like(t), np.zeros_like(t)
    for k in range(1, 11):
        fk = k * f0 * np.sqrt(1 + inharm * k * k)
        if fk > 0.45 * sample_rate:
            break
        partial = (0.7 * fast + 0.3 * slow) * np.sin(np.float32(2 * np.pi * fk) * t + 0.3 * k)
        soft += k**-1.8 * partial
        bright += k**-0.9 * partial
        fast *= fast_step  # rate grows by 35 % of the fundamental's rate per partial
        slow *= slow_step
    out = []
    for tone in (soft, bright):
        tone *= np.minimum(t / _ATTACK_S, 1.0)
        tone /= max(float(np.abs(tone).max()), 1e-9)
        tone.setflags(write=False)
        out.append(tone)
    return out[0], out[1]


def to_pcm16(audio: np.ndarray) -> bytes:
    """Little-endian 16-bit PCM bytes of float audio in [-1, 1]."""
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE,
              overwrite: bool = False) -> Path:
    """Write mono 16-bit WAV atomically; refuses to replace a file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise MusERError(f"{path} exists; choose another name or confirm replacing it")
    fd, tmp = tempfile.mkstemp(suffix=".wav.part", dir=path.parent)
    os.close(fd)
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(to_pcm16(audio))
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600: an exported file is for other programs too
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MusERError(f"could not write {path}: {exc.strerror or exc}") from None
    return path
