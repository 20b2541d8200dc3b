"""The main window: layout and wiring. Model work goes to the worker, pieces to the session
store, audio to the player; widgets only show data and emit intents."""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from musER.elements import va_to_quadrant
from musER.errors import MusERError
from musER.piece import Piece

from . import audio
from .actions import Actions
from .dialogs import MIDI_FILTER, ask_open_midi, ask_save_path, is_midi, safe_name, show_error
from .gui_thread_gc import GuiThreadCollector
from .playback import Player
from .session import Result, SessionStore
from .settings import Settings, load_settings, save_settings
from .widgets.compose_panel import ComposePanel
from .widgets.latent_view import LatentView
from .widgets.piano_roll import PianoRoll
from .widgets.quadrants import QUADRANT_NAMES
from .widgets.results_list import ResultsList
from .widgets.transfer_panel import TransferPanel
from .worker import Done, Generate, Latents, LoadModel, ReadMidi, Transfer, WorkerHost


def _scrolling(panel: QWidget) -> QScrollArea:
    """The panel in a frameless area that scrolls vertically when the window is shorter than it."""
    area = QScrollArea()
    area.setWidget(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    # as wide as the panel needs beside the scroll bar, so that nothing is cut off at the right
    area.setMinimumWidth(panel.minimumSizeHint().width() + area.verticalScrollBar().sizeHint().width())
    return area


class MainWindow(QMainWindow):
    """MusER Studio: compose, transfer, see, hear and export."""

    def __init__(self, checkpoint: str | None = None, store: SessionStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("MusER Studio")
        self.setAcceptDrops(True)
        self.settings: Settings = load_settings()
        self.store = store or SessionStore()
        self.results: dict[str, Result] = {}
        self.model_info: dict | None = None
        self.current: Piece | None = None  # the piece in the piano roll
        self._latents: dict[str, dict] = {}  # result id -> element -> (2,)
        self._drag_dir = Path(tempfile.mkdtemp(prefix="muser-drag-"))
        self._started = 0.0
        self._collector = GuiThreadCollector(self)  # before the worker thread starts

        self.actions = Actions(self)
        self.compose = ComposePanel()
        self.transfer = TransferPanel()
        self.roll = PianoRoll()
        self.latent_view = LatentView()
        self.results_list = ResultsList(self._drag_file)
        self.player = Player(self)
        self.worker = WorkerHost(self)
        self.model_label = QLabel("loading model…")
        self._build_layout()
        self._connect()
        self._apply_settings()
        self._restore_session()
        self._update_enabled()
        self.statusBar().showMessage("loading model…")
        self.worker.submit(LoadModel(checkpoint))

    # ---- layout -------------------------------------------------------------------------
    def _build_layout(self) -> None:
        a = self.actions
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([a.open_midi, a.open_reference, a.export_midi, a.export_wav])
        file_menu.addSeparator()
        file_menu.addAction(a.quit)
        self.menuBar().addMenu("&Results").addActions([a.play, a.stop, a.rename, a.delete, a.remove_unkept])
        self.menuBar().addMenu("&Model").addActions([a.generate, a.cancel])
        self.menuBar().addMenu("&Help").addAction(a.about)
        transport = QToolBar("Transport")
        transport.setObjectName("transport")
        transport.addActions([a.play, a.stop, a.export_midi, a.export_wav])
        self.addToolBar(transport)
        self.results_list.addActions([a.play, a.rename, a.export_midi, a.export_wav, a.delete])

        self.tabs = QTabWidget()
        # the panels scroll rather than hold the window taller than a laptop screen (Compose with
        # its Advanced rows open needs about 900 pixels)
        self.compose_tab, self.transfer_tab = _scrolling(self.compose), _scrolling(self.transfer)
        self.tabs.addTab(self.compose_tab, "Compose")
        self.tabs.addTab(self.transfer_tab, "Transfer")
        views = QSplitter(Qt.Orientation.Vertical)
        views.addWidget(self.roll)
        views.addWidget(self.latent_view)
        views.setSizes([400, 250])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("Results (tick to keep, drag out as MIDI)"))
        right_layout.addWidget(self.results_list)
        main = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.tabs, views, right):
            main.addWidget(w)
        main.setSizes([340, 700, 260])
        self.setCentralWidget(main)
        self.statusBar().addPermanentWidget(self.model_label)
        self.resize(1300, 800)

    def _connect(self) -> None:
        a = self.actions
        a.generate.triggered.connect(self._generate)
        a.cancel.triggered.connect(self._cancel)
        a.open_midi.triggered.connect(self._open_source)
        a.open_reference.triggered.connect(self._open_reference)
        a.export_midi.triggered.connect(self._export_midi)
        a.export_wav.triggered.connect(self._export_wav)
        a.play.triggered.connect(lambda: self.current is not None and self.player.play(self.current))
        a.stop.triggered.connect(self.player.stop)
        a.rename.triggered.connect(lambda: self.results_list.currentItem()
                                   and self.results_list.editItem(self.results_list.currentItem()))
        a.delete.triggered.connect(self._delete_selected)
        a.remove_unkept.triggered.connect(self._remove_unkept)
        a.quit.triggered.connect(self.close)
        a.about.triggered.connect(self._about)
        self.compose.generate_clicked.connect(a.generate.trigger)
        self.compose.cancel_clicked.connect(a.cancel.trigger)
        self.transfer.open_source_clicked.connect(a.open_midi.trigger)
        self.transfer.open_reference_clicked.connect(a.open_reference.trigger)
        self.transfer.transfer_clicked.connect(self._run_transfer)
        self.transfer.play_clicked.connect(self._play_ab)
        self.results_list.selected.connect(self._select)
        self.results_list.activated_id.connect(lambda rid: self.player.play(self.results[rid].piece))
        self.results_list.renamed.connect(self._rename)
        self.results_list.kept_changed.connect(self._set_kept)
        self.latent_view.element_changed.connect(lambda _e: self._request_latents())
        self.player.position.connect(self.roll.set_playhead)
        self.player.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.worker.progress.connect(self.compose.set_progress)
        self.worker.finished.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(lambda _job: self.statusBar().showMessage("cancelled", 5000))
        self.worker.busy_changed.connect(lambda _busy: self._update_enabled())

    def _update_enabled(self) -> None:
        ready = self.model_info is not None
        busy = any(isinstance(j, (LoadModel, Generate, Transfer)) for j in self.worker.pending())
        self.compose.set_state(ready, busy)
        self.transfer.set_model_ready(ready and not busy)
        self.actions.generate.setEnabled(ready and not busy)
        self.actions.cancel.setEnabled(busy)
        has_result = self._selected_result() is not None
        for action in (self.actions.export_midi, self.actions.export_wav, self.actions.rename, self.actions.delete):
            action.setEnabled(has_result)

    # ---- settings and session -----------------------------------------------------------
    def _apply_settings(self) -> None:
        s = self.settings
        self.compose.apply_settings(s)
        self.transfer.set_elements(s.transfer_elements)
        self.latent_view.set_element(s.latent_element)
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromHex(s.window_geometry.encode()))

    def _store_settings(self) -> None:
        s = self.settings
        self.compose.store_settings(s)
        s.transfer_elements = self.transfer.elements()
        s.latent_element = self.latent_view.element()
        s.window_geometry = bytes(self.saveGeometry().toHex()).decode()
        save_settings(s)

    def _restore_session(self) -> None:
        for result in self.store.restore():
            self._show_result(result)
        if self.results:
            self.results_list.select(self.results_list.ids()[-1])
            self.statusBar().showMessage(f"restored {len(self.results)} results from the last session", 5000)

    def _add_result(self, piece: Piece, kind: str) -> Result:
        try:
            result = self.store.add(piece, kind)
        except OSError as exc:  # disk full, folder unwritable: keep it in memory and say so
            result = Result(id=f"unsaved-{time.time_ns()}", piece=piece, kind=kind)
            show_error(self, "Result not saved", f"Could not save the result to {self.store.root}: {exc}. "
                       "Export it before closing.")
        self._show_result(result)
        return result

    def _show_result(self, result: Result) -> None:
        p = result.piece
        self.results[result.id] = result
        tip = f"{p.n_bars} bars, {p.seconds:.1f} s, {p.n_notes} notes"
        if p.seed is not None:
            tip += f", seed {p.seed}"
        self.results_list.add_result(result.id, p.name, result.kept, tip)

    # ---- compose ------------------------------------------------------------------------
    def _generate(self) -> None:
        self._started = time.monotonic()
        self.statusBar().showMessage("generating…")
        self.worker.submit(Generate(request=self.compose.request_fields()))
        self._store_settings()

    def _cancel(self) -> None:
        self.worker.cancel()
        self.statusBar().showMessage("cancelling…")

    def _on_generated(self, job: Generate, pieces: list[Piece]) -> None:
        v, a = job.request["valence"], job.request["arousal"]
        q = va_to_quadrant(v, a).value
        added = []
        for i, piece in enumerate(pieces):
            seed = piece.seed if piece.seed is not None else job.request["seed"] + i
            piece.name = f"Q{q} {QUADRANT_NAMES[q]} v{v:+.2f} a{a:+.2f} seed {seed}"
            if len(pieces) > 1:  # variations of one request share its seed
                piece.name += f" #{piece.info.get('variation', i + 1)}"
            added.append(self._add_result(piece, "generated"))
        if added:
            self.results_list.select(added[0].id)
        took = time.monotonic() - self._started
        self.statusBar().showMessage(f"generated {len(pieces)} piece(s) in {took:.1f} s", 8000)

    # ---- transfer -----------------------------------------------------------------------
    def _ask_midi(self, title: str) -> Path | None:
        path = ask_open_midi(self, title, self.settings.last_dir)
        if path is not None:
            self.settings.last_dir = str(path.parent)
        return path

    def _open_source(self, path: Path | None = None) -> None:
        path = path or self._ask_midi("Open MIDI for transfer")
        if path is not None:
            self.tabs.setCurrentWidget(self.transfer_tab)
            self.statusBar().showMessage(f"reading {path.name}…")
            self.worker.submit(ReadMidi(path=path, purpose="source"))

    def _open_reference(self) -> None:
        path = self._ask_midi("Choose a reference MIDI")
        if path is not None:
            self.worker.submit(ReadMidi(path=path, purpose="reference"))

    def _on_read(self, job: ReadMidi, piece: Piece) -> None:
        if job.purpose == "reference":
            self.transfer.set_reference(piece, job.path)
            return
        self.transfer.set_source(piece, job.path)
        self._show_piece(piece)
        self.statusBar().showMessage(f"loaded {job.path.name}", 5000)

    def _run_transfer(self) -> None:
        panel = self.transfer
        job = Transfer(source=panel.source, elements=tuple(panel.elements()), seed=self.compose.seed.value())
        if panel.target_is_reference():
            job.reference = panel.reference
        else:
            job.valence, job.arousal = self.compose.emotion.value()
        self._started = time.monotonic()
        self.statusBar().showMessage("transferring…")
        self.worker.submit(job)

    def _on_transferred(self, job: Transfer, piece: Piece) -> None:
        target = "reference" if job.reference is not None else f"v{job.valence:+.2f} a{job.arousal:+.2f}"
        piece.name = f"{job.source.name} -> {target} ({', '.join(job.elements)})"
        self.transfer.set_result(piece)
        result = self._add_result(piece, "transfer")
        self.results_list.select(result.id)
        self.statusBar().showMessage(f"transfer done in {time.monotonic() - self._started:.1f} s", 8000)

    def _play_ab(self, which: str) -> None:
        piece = self.transfer.source if which == "A" else self.transfer.result
        if piece is not None:
            self._show_piece(piece)
            self.player.play(piece)

    # ---- worker answers -----------------------------------------------------------------
    def _on_done(self, done: Done) -> None:
        job, result = done.job, done.result
        if isinstance(job, LoadModel):
            self.model_info, reference = result
            self.model_label.setText(f"model: {self.model_info.get('name', 'MusER')}")
            self.statusBar().showMessage("model ready", 5000)
            self.latent_view.set_reference(reference)
            self._request_latents()
        elif isinstance(job, Generate):
            self._on_generated(job, result)
        elif isinstance(job, Transfer):
            self._on_transferred(job, result)
        elif isinstance(job, ReadMidi):
            self._on_read(job, result)
        elif isinstance(job, Latents):
            self._latents.update({key: {e: arr[i] for e, arr in result.items()} for i, key in enumerate(job.keys)})
            self._show_latents()
        self._update_enabled()

    def _on_failed(self, job, message: str, details: str) -> None:
        if isinstance(job, LoadModel):
            self.model_label.setText("model: not loaded")
            self.statusBar().showMessage("the model could not be loaded; results can still be played and exported")
            show_error(self, "Model not loaded", message, details)
        elif isinstance(job, ReadMidi):
            show_error(self, "Could not open the MIDI file", message, details)
        elif isinstance(job, Latents):
            self.statusBar().showMessage(f"latent view unavailable: {message}", 8000)
        else:
            show_error(self, "Generation failed" if isinstance(job, Generate) else "Transfer failed",
                       message, details)
        self._update_enabled()

    # ---- selection, latents -------------------------------------------------------------
    def _selected_result(self) -> Result | None:
        ids = self.results_list.selected_ids()
        return self.results.get(ids[0]) if ids else None

    def _select(self, result_id: str | None) -> None:
        result = self.results.get(result_id) if result_id else None
        self._show_piece(result.piece if result else None)
        self._show_latents()
        self._request_latents()
        self._update_enabled()

    def _show_piece(self, piece: Piece | None) -> None:
        self.player.stop()
        self.current = piece
        self.roll.set_piece(piece)

    def _show_latents(self) -> None:
        result = self._selected_result()
        self.latent_view.set_current(self._latents.get(result.id) if result else None)

    def _request_latents(self) -> None:
        result = self._selected_result()
        if (self.model_info is None or result is None or result.id in self._latents
                or any(isinstance(j, Latents) for j in self.worker.pending())):
            return
        self.worker.submit(Latents(pieces=[result.piece], keys=[result.id]))

    # ---- results: rename, keep, delete, export ------------------------------------------
    def _rename(self, result_id: str, name: str) -> None:
        result = self.results[result_id]
        if name.strip() and name != result.piece.name:
            result.piece.name = name.strip()
            self._save(result)
            if result.piece is self.current:
                self.roll.set_piece(result.piece)

    def _set_kept(self, result_id: str, kept: bool) -> None:
        result = self.results[result_id]
        if kept != result.kept:
            result.kept = kept
            self._save(result)

    def _save(self, result: Result) -> None:
        try:
            self.store.save(result)
        except OSError as exc:
            self.statusBar().showMessage(f"could not update the session copy: {exc}", 8000)

    def _delete(self, ids: list[str]) -> None:
        for result_id in ids:
            result = self.results.pop(result_id)
            if result.piece is self.current:
                self._show_piece(None)
            self.store.remove(result_id)
            self.results_list.remove(result_id)
            self._latents.pop(result_id, None)
        self._update_enabled()

    def _delete_selected(self) -> None:
        ids = self.results_list.selected_ids()
        kept = [i for i in ids if self.results[i].kept]
        if kept and QMessageBox.question(self, "Delete results", f"Delete {len(ids)} result(s), "
                                         f"{len(kept)} of them marked to keep?") != QMessageBox.StandardButton.Yes:
            return
        self._delete(ids)

    def _remove_unkept(self) -> None:
        self._delete([i for i, r in self.results.items() if not r.kept])

    def _ask_save_path(self, title: str, suffix: str, file_filter: str) -> Path | None:
        name = safe_name(self._selected_result().piece.name) + suffix
        path = ask_save_path(self, title, Path(self.settings.last_dir or Path.home()) / name, file_filter)
        if path is not None:
            self.settings.last_dir = str(path.parent)
        return path

    def _export_midi(self) -> None:
        result = self._selected_result()
        path = result and self._ask_save_path("Export MIDI", ".mid", MIDI_FILTER)
        if path:
            self._export(result, path, lambda: result.piece.save_midi(path, overwrite=True))

    def _export_wav(self) -> None:
        """Render off the GUI thread (the piano of a 64-bar piece takes about a second), then write."""
        result = self._selected_result()
        path = result and self._ask_save_path("Export WAV", ".wav", "WAV audio (*.wav)")
        if path:
            self.statusBar().showMessage(f"rendering {path.name}…")
            self.player.render_later(result.piece, lambda samples: self._write_wav(result, path, samples))

    def _write_wav(self, result: Result, path: Path, samples) -> None:
        if isinstance(samples, Exception):
            show_error(self, "Export failed", f"could not render the audio: {samples}")
            return
        self._export(result, path, lambda: audio.write_wav(path, samples, self.player.sample_rate, overwrite=True))

    def _export(self, result: Result, path: Path, write) -> None:
        try:
            write()
        except (MusERError, OSError) as exc:
            show_error(self, "Export failed", str(exc))
            return
        except Exception as exc:  # e.g. a name the MIDI writer cannot encode
            show_error(self, "Export failed", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        result.exported_to.append(str(path))
        self._save(result)
        self.statusBar().showMessage(f"saved {path}", 8000)

    def _drag_file(self, result_id: str) -> Path:
        """A temp .mid named after the result, for dragging into a DAW or a folder."""
        result = self.results[result_id]
        path = self._drag_dir / f"{safe_name(result.piece.name)}.mid"
        source = self.store.midi_path(result_id)
        if source.is_file():
            shutil.copyfile(source, path)
        else:
            result.piece.save_midi(path, overwrite=True)
        return path

    # ---- window events ------------------------------------------------------------------
    def _about(self) -> None:
        info = self.model_info or {}
        lines = [f"{k}: {v}" for k, v in info.items()] or ["model not loaded"]
        QMessageBox.about(self, "About MusER Studio", "MusER Studio: piano music with a chosen emotion "
                          "(MusER, Ji & Yang, AAAI 2024).\n\n" + "\n".join(lines))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        """Accept MIDI files dropped from outside."""
        if any(is_midi(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """A dropped MIDI file becomes the transfer source."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if is_midi(u.toLocalFile())]
        if paths:
            event.acceptProposedAction()
            self._open_source(paths[0])

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        """Save settings, stop audio and the worker; results are already on disk."""
        self.player.stop()
        self._store_settings()
        self.worker.shutdown()
        self._collector.stop()
        shutil.rmtree(self._drag_dir, ignore_errors=True)
        super().closeEvent(event)

