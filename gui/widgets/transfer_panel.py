"""Element transfer controls: the source piece, the target (a reference file or the pad's
emotion), the elements to move, and A/B preview of original and result."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from musER.piece import Piece

# The elements a user may move (type is structural and stays with the source).
TRANSFER_ELEMENTS = ("pitch", "duration", "velocity", "tempo", "chord", "beat")


class TransferPanel(QWidget):
    """Collects what a transfer needs; emits intents, never runs anything itself."""

    open_source_clicked = Signal()
    open_reference_clicked = Signal()
    transfer_clicked = Signal()
    play_clicked = Signal(str)  # "A" (original) or "B" (result)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source: Piece | None = None
        self.reference: Piece | None = None
        self.result: Piece | None = None
        self.source_label = QLabel("No file: open or drop a MIDI file.")
        self.source_label.setWordWrap(True)
        open_source = QPushButton("Open MIDI…")
        open_source.clicked.connect(self.open_source_clicked)

        self.use_pad = QRadioButton("Emotion on the pad")
        self.use_reference = QRadioButton("Reference file:")
        self.use_pad.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_pad)
        group.addButton(self.use_reference)
        self.reference_label = QLabel("none")
        choose_reference = QPushButton("Choose…")
        choose_reference.clicked.connect(self.open_reference_clicked)

        self.element_boxes = {e: QCheckBox(e) for e in TRANSFER_ELEMENTS}
        for box in self.element_boxes.values():
            box.setToolTip("unticked elements stay as they are, note for note")
        self.element_boxes["beat"].setToolTip("moves the rhythm: the whole piece is decoded again, "
                                              "so unticked elements follow it only roughly")
        elements = QGridLayout()
        for i, box in enumerate(self.element_boxes.values()):
            box.toggled.connect(self._update_enabled)
            elements.addWidget(box, i // 3, i % 3)

        self.transfer_button = QPushButton("Transfer")
        self.transfer_button.clicked.connect(self.transfer_clicked)
        self.play_a = QPushButton("▶ A: original")
        self.play_b = QPushButton("▶ B: result")
        self.play_a.clicked.connect(lambda: self.play_clicked.emit("A"))
        self.play_b.clicked.connect(lambda: self.play_clicked.emit("B"))

        layout = QVBoxLayout(self)
        layout.addWidget(_group("Source", self.source_label, open_source))
        ref_row = QHBoxLayout()
        ref_row.addWidget(self.use_reference)
        ref_row.addWidget(self.reference_label, 1)
        ref_row.addWidget(choose_reference)
        target = _group("Target", self.use_pad)
        target.layout().addLayout(ref_row)
        layout.addWidget(target)
        moved = _group("Elements to move")
        moved.layout().addLayout(elements)
        layout.addWidget(moved)
        layout.addWidget(self.transfer_button)
        ab = QHBoxLayout()
        ab.addWidget(self.play_a)
        ab.addWidget(self.play_b)
        layout.addLayout(ab)
        layout.addStretch(1)
        self._model_ready = False
        self._update_enabled()

    def set_source(self, piece: Piece, path: Path) -> None:
        """Show the loaded source file; clears an old result."""
        self.source, self.result = piece, None
        self.source_label.setText(f"{path.name}: {piece.n_notes} notes, {piece.seconds:.1f} s")
        self._update_enabled()

    def set_reference(self, piece: Piece, path: Path) -> None:
        """Use a loaded reference file as the target."""
        self.reference = piece
        self.reference_label.setText(path.name)
        self.use_reference.setChecked(True)
        self._update_enabled()

    def set_result(self, piece: Piece) -> None:
        """Keep the last transfer result for B preview."""
        self.result = piece
        self._update_enabled()

    def set_model_ready(self, ready: bool) -> None:
        """Enable Transfer only while the model is loaded and idle."""
        self._model_ready = ready
        self._update_enabled()

    def elements(self) -> list[str]:
        """The ticked elements."""
        return [e for e, box in self.element_boxes.items() if box.isChecked()]

    def set_elements(self, elements: list[str]) -> None:
        """Tick exactly these elements."""
        for e, box in self.element_boxes.items():
            box.setChecked(e in elements)

    def target_is_reference(self) -> bool:
        """True when the reference file (not the pad) is the target."""
        return self.use_reference.isChecked() and self.reference is not None

    def _update_enabled(self) -> None:
        self.transfer_button.setEnabled(self._model_ready and self.source is not None and bool(self.elements()))
        self.play_a.setEnabled(self.source is not None)
        self.play_b.setEnabled(self.result is not None)


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for w in widgets:
        layout.addWidget(w)
    return box
