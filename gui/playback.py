"""Qt adapter over ``gui.audio``: renders a piece off the GUI thread, plays it through
QtMultimedia when this PySide6 has it, and drives a playhead clock either way."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QElapsedTimer, QIODevice, QObject, QTimer, Signal

from musER.piece import Piece

from . import audio

NO_AUDIO = "no audio output"
_CACHE_SIZE = 4


class Player(QObject):
    """Play/stop one piece at a time; emits the playhead position in seconds."""

    position = Signal(object)  # seconds, or None once stopped
    playing_changed = Signal(bool)
    message = Signal(str)
    _rendered = Signal(object, object)  # what to call in the GUI thread, and the audio (or what rendering raised)

    def __init__(self, parent: QObject | None = None, sample_rate: int = audio.SAMPLE_RATE) -> None:
        super().__init__(parent)
        self.sample_rate = sample_rate
        self._cache: list[tuple[Piece, np.ndarray]] = []
        self._request = 0
        self._duration = 0.0
        self._sink = None
        self._buffer: QBuffer | None = None
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._tick)
        self._rendered.connect(lambda then, samples: then(samples))

    @property
    def is_playing(self) -> bool:
        """True between play and stop (including while the audio is being rendered)."""
        return self._timer.isActive() or self._duration < 0

    def play(self, piece: Piece) -> None:
        """Stop whatever plays, render ``piece`` in the background, then start it."""
        self.stop()
        self._request += 1
        self._duration = -1.0  # rendering
        cached = self._cached(piece)
        if cached is not None:
            self._start(self._request, piece, cached)
            return
        self.message.emit("rendering audio…")
        number = self._request
        self.render_later(piece, lambda samples: self._start(number, piece, samples))

    def render(self, piece: Piece) -> np.ndarray:
        """Audio for a piece (Qt-free work; safe in any thread)."""
        return audio.render(piece, self.sample_rate)

    def render_later(self, piece: Piece, then: Callable[[np.ndarray | Exception], None]) -> None:
        """Render off the GUI thread, then call `then` in the GUI thread with the audio, or with
        the exception rendering raised. The audio of a piece just played is reused."""
        threading.Thread(target=self._render_for, args=(piece, then), daemon=True, name="muser-render").start()

    def _render_for(self, piece: Piece, then) -> None:
        cached = self._cached(piece)
        try:
            samples = cached if cached is not None else self.render(piece)
        except Exception as exc:  # handed to `then`, in the GUI thread
            samples = exc
        with contextlib.suppress(RuntimeError):  # the player was deleted while rendering
            self._rendered.emit(then, samples)

    def _cached(self, piece: Piece) -> np.ndarray | None:
        return next((a for p, a in self._cache if p is piece), None)

    def stop(self) -> None:
        """Stop playback and hide the playhead."""
        was_playing = self.is_playing
        self._request += 1  # drops any render still in flight
        self._duration = 0.0
        self._timer.stop()
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None
        if was_playing:
            self.position.emit(None)
            self.playing_changed.emit(False)

    def _start(self, number: int, piece: Piece, samples: np.ndarray | Exception) -> None:
        if number != self._request:
            return
        if isinstance(samples, Exception):
            self._duration = 0.0
            self.message.emit(f"could not render the audio: {samples}")
            return
        if not any(p is piece for p, _ in self._cache):
            self._cache = [*self._cache[-(_CACHE_SIZE - 1):], (piece, samples)]
        self._duration = len(samples) / self.sample_rate
        self.message.emit(self._open_sink(samples))
        self._clock.start()
        self._timer.start()
        self.playing_changed.emit(True)
        self.position.emit(0.0)

    def _open_sink(self, samples: np.ndarray) -> str:
        """Start audio output; returns the status message."""
        try:
            from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices
        except ImportError:
            return f"{NO_AUDIO} (this PySide6 has no QtMultimedia); showing the playhead only"
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return f"{NO_AUDIO} (no sound device); showing the playhead only"
        fmt = QAudioFormat()
        fmt.setSampleRate(self.sample_rate)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._buffer = QBuffer(self)
        self._buffer.setData(QByteArray(audio.to_pcm16(samples)))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._sink = QAudioSink(device, fmt, self)
        self._sink.start(self._buffer)
        if self._sink.error() != QAudio.Error.NoError:
            self._sink = None
            return f"{NO_AUDIO} (the sound device refused the stream)"
        return "playing"

    def _tick(self) -> None:
        seconds = self._clock.elapsed() / 1000.0
        if seconds >= self._duration:
            self.stop()
            self.message.emit("stopped")
            return
        self.position.emit(seconds)
