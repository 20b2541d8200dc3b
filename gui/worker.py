"""The one thread that owns the model: every call into ``musER.api`` happens here.

``ModelWorker`` lives in a ``QThread`` and runs jobs one at a time, in the order submitted.
``WorkerHost`` (GUI thread) starts the thread, submits jobs through a queued signal, cancels
the running job through its ``threading.Event``, and stops the thread on close.
``musER.api`` (and with it torch) is imported inside the worker thread, so the window opens
before the model library has loaded.
"""

from __future__ import annotations

import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from musER.errors import MusERError


@dataclass
class Job:
    """A unit of model work; ``cancel`` is handed to the facade."""

    cancel: threading.Event = field(default_factory=threading.Event, init=False, repr=False)


@dataclass
class LoadModel(Job):
    """Load a checkpoint (None = the shipped one) and its reference latent map."""

    checkpoint: str | None = None


@dataclass
class Generate(Job):
    """Generate pieces; ``request`` holds the ``GenerationRequest`` fields."""

    request: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transfer(Job):
    """Move ``elements`` of ``source`` towards a reference piece or a (valence, arousal) target."""

    source: Any = None  # Piece or path
    elements: tuple[str, ...] = ()
    reference: Any = None  # Piece, path or None
    valence: float | None = None
    arousal: float | None = None
    seed: int = 0


@dataclass
class ReadMidi(Job):
    """Read a user's MIDI file into a Piece (``purpose`` tells the GUI where it goes)."""

    path: Path = Path()
    purpose: str = "source"


@dataclass
class Latents(Job):
    """Latent coordinates of pieces in the reference map; ``keys`` name them for the GUI."""

    pieces: list = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


@dataclass
class Done:
    """What ``ModelWorker.finished`` carries: the job and its result."""

    job: Job
    result: Any


class ModelWorker(QObject):
    """Owns the ``MusER`` instance; runs jobs in its own thread."""

    progress = Signal(int, int)
    finished = Signal(object)  # Done
    failed = Signal(str, str)  # message, details (traceback for unexpected errors)
    cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._model = None

    @Slot(object)
    def run(self, job: Job) -> None:
        """Run one job and report through exactly one of finished, failed or cancelled."""
        if job.cancel.is_set():
            self.cancelled.emit()
            return
        try:
            result = self._dispatch(job)
        except MusERError as exc:
            if _is_cancelled(exc):
                self.cancelled.emit()
            else:
                self.failed.emit(str(exc), "")
        except Exception as exc:  # a bug or an environment problem: show it, keep running
            self.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.finished.emit(Done(job, result))

    def _dispatch(self, job: Job) -> Any:
        from musER import api  # heavy import, kept off the GUI thread

        report = self.progress.emit
        if isinstance(job, LoadModel):
            self._model = api.MusER.load(job.checkpoint or None)
            try:
                ref = self._model.reference_map()
            except MusERError:
                ref = None
            return self._model.info, ref
        if isinstance(job, ReadMidi):
            return api.load_piece(job.path)
        if self._model is None:
            raise MusERError("the model is not loaded")
        if isinstance(job, Generate):
            request = api.GenerationRequest(**job.request)
            return self._model.generate(request, progress=report, cancel=job.cancel)
        if isinstance(job, Transfer):
            return self._model.transfer(job.source, list(job.elements), reference=job.reference,
                                        valence=job.valence, arousal=job.arousal, seed=job.seed,
                                        progress=report, cancel=job.cancel)
        if isinstance(job, Latents):
            return self._model.latents(job.pieces)
        raise TypeError(f"unknown job {job!r}")


def _is_cancelled(exc: MusERError) -> bool:
    from musER.api import Cancelled

    return isinstance(exc, Cancelled)


class WorkerHost(QObject):
    """GUI-side handle: submit jobs, cancel the running one, know which job a signal is for."""

    submitted = Signal(object)
    finished = Signal(object)  # Done
    failed = Signal(object, str, str)  # job, message, details
    cancelled = Signal(object)  # job
    progress = Signal(int, int)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("muser-model")
        self.worker = ModelWorker()
        self.worker.moveToThread(self._thread)
        self.submitted.connect(self.worker.run)
        self.worker.progress.connect(self.progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self._pending: deque[Job] = deque()
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True while any job is queued or running."""
        return bool(self._pending)

    def pending(self) -> list[Job]:
        """Jobs submitted and not yet answered, the running one first."""
        return list(self._pending)

    def submit(self, job: Job) -> Job:
        """Queue a job for the worker thread."""
        self._pending.append(job)
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
        self.submitted.emit(job)
        return job

    def cancel(self, kinds: tuple[type, ...] = (Generate, Transfer)) -> None:
        """Ask running and queued jobs of these kinds to stop."""
        for job in self._pending:
            if isinstance(job, kinds):
                job.cancel.set()

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """Cancel everything and stop the thread."""
        for job in self._pending:
            job.cancel.set()
        self._thread.quit()
        self._thread.wait(wait_ms)

    def _pop(self) -> Job:
        job = self._pending.popleft()
        if not self._pending:
            self.busy_changed.emit(False)
        return job

    def _on_finished(self, done: Done) -> None:
        self._pop()
        self.finished.emit(done)

    def _on_failed(self, message: str, details: str) -> None:
        self.failed.emit(self._pop(), message, details)

    def _on_cancelled(self) -> None:
        self.cancelled.emit(self._pop())
