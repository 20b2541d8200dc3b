"""The facade: the one door the command line and the GUI use.

    model = MusER.load()                                   # the shipped checkpoint
    pieces = model.generate(GenerationRequest(valence=0.8, arousal=-0.5, bars=16, n=4))
    pieces[0].save_midi("calm.mid")
    result = model.transfer("mine.mid", ["velocity", "duration"], valence=0.8, arousal=0.9)

Everything heavy (torch, the model) is imported inside `load`, so importing this module is cheap.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .elements import ELEMENTS, check_va, parse_elements, quadrant_weights, va_to_quadrant
from .errors import Cancelled, ConfigError
from .piece import Piece

ProgressFn = Callable[[int, int], None]
MAX_BARS = 64
MAX_VARIATIONS = 64


@dataclass(frozen=True)
class GenerationRequest:
    """What to compose: emotion as valence/arousal in [-1, 1], length in bars, sampling settings."""

    valence: float = 0.0
    arousal: float = 0.0
    bars: int = 16
    n: int = 1
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 0.9
    element_temperature: dict[str, float] = field(default_factory=dict)
    # guidance 3 + valence guidance 2 judged best of the settings tried (docs/history.md, Results)
    guidance: float = 3.0  # classifier-free guidance against the null condition
    valence_guidance: float = 2.0  # extra push away from the same arousal with the opposite valence
    key_lock: bool = True  # after 12 free notes, keep to the key they set up, in its mode from the start (README)
    pedal: bool = True  # notes ring to the next pedal change (half bar or beat), as EMOPIA's pianists play
    spread_chords: bool = True  # a chord's notes struck a few ms apart, as a real chord of EMOPIA's (chord_timing.py)
    repeats: bool = True  # some bars replay an earlier bar's rhythm (new notes) or all of it, as EMOPIA's do (README)
    element_top_p: dict[str, float] = field(default_factory=dict)  # element -> its codes' top-p, instead of top_p

    def __post_init__(self) -> None:
        check_va(self.valence, self.arousal)
        if not (isinstance(self.bars, int) and 1 <= self.bars <= MAX_BARS):
            raise ConfigError(f"bars must be a whole number from 1 to {MAX_BARS}, got {self.bars!r}")
        if not (isinstance(self.n, int) and 1 <= self.n <= MAX_VARIATIONS):
            raise ConfigError(f"n must be a whole number from 1 to {MAX_VARIATIONS}, got {self.n!r}")
        if not (0.05 <= self.temperature <= 5):
            raise ConfigError(f"temperature must be in [0.05, 5], got {self.temperature}")
        if not (0 < self.top_p <= 1):
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if not (0.5 <= self.guidance <= 5):
            raise ConfigError(f"guidance must be in [0.5, 5], got {self.guidance}")
        if not (0 <= self.valence_guidance <= 5):
            raise ConfigError(f"valence_guidance must be in [0, 5], got {self.valence_guidance}")
        for name, value in self.element_temperature.items():
            parse_elements([name])
            if not (0.05 <= value <= 5):
                raise ConfigError(f"temperature of {name} must be in [0.05, 5], got {value}")
        for name, value in self.element_top_p.items():
            parse_elements([name])
            if not (0 < value <= 1):
                raise ConfigError(f"top_p of {name} must be in (0, 1], got {value}")


@dataclass(frozen=True)
class ReferenceMap:
    """EMOPIA clips placed in a 2-D view of each element's latent slice."""

    points: dict[str, np.ndarray]  # element -> (M, 2)
    quadrants: np.ndarray  # (M,) 1..4
    names: list[str]
    silhouette: dict[str, dict[str, float]] = field(default_factory=dict)  # element -> "Q1-Q2" -> score


def default_checkpoint() -> Path:
    """$MUSER_CHECKPOINT, else the repository's checkpoints/default, else the installed copy."""
    if os.environ.get("MUSER_CHECKPOINT"):
        return Path(os.environ["MUSER_CHECKPOINT"]).expanduser()
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "checkpoints" / "default", here / "_checkpoints" / "default"):
        if candidate.is_dir():
            return candidate
    return here.parent / "checkpoints" / "default"


def load_piece(path: str | Path) -> Piece:
    """Read a user's MIDI file as a Piece (notes as played; bar lines from its tempo map or estimated)."""
    from .midi_io import read_midi
    from .tokenizer import bar_lines

    midi = read_midi(path)
    bars = bar_lines(midi.notes, midi.beat_times)
    return Piece(midi.notes, bars, name=Path(path).stem, info={"source": str(path)})


def _as_piece(item: Piece | str | Path) -> Piece:
    return item if isinstance(item, Piece) else load_piece(item)


class MusER:
    """A loaded model: generate, transfer elements, place pieces in the latent map."""

    def __init__(self, engine, folder: Path) -> None:
        self._engine = engine
        self._folder = folder
        self._lock = threading.Lock()  # one model, one caller at a time

    @classmethod
    def load(cls, checkpoint: str | Path | None = None, device: str = "auto", half: bool = False,
             blas: bool = True) -> MusER:
        """Load a checkpoint folder (None = the shipped model). Raises CheckpointError.
        half: float16 weight copies for batch-1 decoding on a CPU (model/half.py; off by default,
        faster than float32 on this project's 2-core machine on some days only).
        blas: on a CPU without `half`, products of a few rows through numpy (model/blas.py)."""
        from .engine import Engine

        folder = Path(checkpoint) if checkpoint else default_checkpoint()
        return cls(Engine.load(folder, device, half, blas), folder)

    @property
    def info(self) -> dict:
        return self._engine.info(self._folder)

    def generate(self, request: GenerationRequest, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> list[Piece]:
        """Compose request.n pieces; the same request (seed included) gives the same pieces."""
        with self._lock:
            return self._engine.generate(request, progress, cancel)

    def transfer(self, source: Piece | str | Path, elements: Sequence[str] | str,
                 reference: Piece | str | Path | None = None, valence: float | None = None,
                 arousal: float | None = None, seed: int = 0, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> Piece:
        """Replace the chosen elements of `source` by those of `reference` (or of a piece sampled
        for the target valence/arousal) and decode with the target emotion. Unless type or beat
        is moved, every element not moved stays the input's, note for note."""
        from .engine import sampling_settings

        names = parse_elements(elements)
        if reference is None and (valence is None or arousal is None):
            raise ConfigError("transfer needs a reference piece or a target valence and arousal")
        src = _as_piece(source)
        ref = _as_piece(reference) if reference is not None else None
        # a reference sampled for the target emotion is composed as generate would compose it
        sampling = None if ref is not None else sampling_settings(GenerationRequest(valence, arousal))
        with self._lock:
            return self._engine.transfer(src, names, ref, valence, arousal, seed, progress, cancel, sampling)

    def latents(self, pieces: Sequence[Piece]) -> dict[str, np.ndarray]:
        """Each piece's place in the reference map: element -> (len(pieces), 2)."""
        with self._lock:
            return self._engine.latent_points([_as_piece(p) for p in pieces])

    def latent_vectors(self, pieces: Sequence[Piece]) -> dict[str, np.ndarray]:
        """Per-element summary vectors (slice means over time): element -> (len(pieces), 16)."""
        with self._lock:
            return self._engine.latent_vectors([_as_piece(p) for p in pieces])

    def map_points(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Places of latent_vectors' output in the reference map (what `latents` returns)."""
        return self._engine.map_points(vectors)

    def reference_map(self) -> ReferenceMap:
        return self._engine.reference_map()


__all__ = [
    "ELEMENTS",
    "Cancelled",
    "GenerationRequest",
    "MusER",
    "Piece",
    "ReferenceMap",
    "load_piece",
    "quadrant_weights",
    "va_to_quadrant",
]
