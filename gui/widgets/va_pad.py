"""Valence/arousal input: a 2-D pad (click or drag the target), two synced sliders and
quadrant presets. Emits ``changed(valence, arousal)`` on every move."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from musER.elements import Quadrant

from .quadrants import QUADRANT_COLORS, QUADRANT_NAMES

SLIDER_STEPS = 100  # slider units per 1.0 of valence/arousal


def _clamp(x: float) -> float:
    return min(max(float(x), -1.0), 1.0)


class VAPad(pg.PlotWidget):
    """The square [-1, 1]^2 with valence across and arousal up; a draggable target."""

    moved = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setMinimumSize(180, 180)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0.02)
        self.setLabel("bottom", "valence")
        self.setLabel("left", "arousal")
        self.setAspectLocked(True)
        for q, (x, y) in ((1, (0, 0)), (2, (-1, 0)), (3, (-1, -1)), (4, (0, -1))):
            rect = pg.QtWidgets.QGraphicsRectItem(x, y, 1, 1)
            rect.setBrush(pg.mkBrush(*QUADRANT_COLORS[q], 60))
            rect.setPen(pg.mkPen(None))
            self.addItem(rect)
            label = pg.TextItem(f"Q{q} {QUADRANT_NAMES[q]}", color=(90, 90, 90), anchor=(0.5, 0.5))
            label.setPos(x + 0.5, y + 0.5)
            self.addItem(label)
        self.target = pg.TargetItem(pos=(0, 0), size=16, pen=pg.mkPen("k", width=2), movable=True)
        self.addItem(self.target)
        self.target.sigPositionChanged.connect(self._on_target_moved)
        self.scene().sigMouseClicked.connect(self._on_click)

    def value(self) -> tuple[float, float]:
        """Current (valence, arousal)."""
        p = self.target.pos()
        return _clamp(p.x()), _clamp(p.y())

    def set_value(self, valence: float, arousal: float) -> None:
        """Move the target (emits ``moved`` if the position changes)."""
        self.target.setPos(QPointF(_clamp(valence), _clamp(arousal)))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.set_value(point.x(), point.y())

    def _on_target_moved(self) -> None:
        p = self.target.pos()
        v, a = _clamp(p.x()), _clamp(p.y())
        if (v, a) != (p.x(), p.y()):
            self.target.setPos(QPointF(v, a))  # re-enters with the clamped point
            return
        self.moved.emit(v, a)


class EmotionPicker(QWidget):
    """Pad + valence/arousal sliders + Q1..Q4 presets, all kept in sync."""

    changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pad = VAPad()
        self.valence_slider, self.arousal_slider = self._slider(), self._slider()
        self.readout = QLabel()
        grid = QGridLayout()
        grid.addWidget(QLabel("Valence"), 0, 0)
        grid.addWidget(self.valence_slider, 0, 1)
        grid.addWidget(QLabel("Arousal"), 1, 0)
        grid.addWidget(self.arousal_slider, 1, 1)
        presets = QHBoxLayout()
        self.preset_buttons: dict[int, QPushButton] = {}
        for quadrant in Quadrant:
            button = QPushButton(f"Q{quadrant.value} {QUADRANT_NAMES[quadrant.value]}")
            button.setToolTip(f"valence {quadrant.va[0]:+.0f}, arousal {quadrant.va[1]:+.0f}")
            button.clicked.connect(lambda _=False, q=quadrant: self.set_value(*q.va))
            presets.addWidget(button)
            self.preset_buttons[quadrant.value] = button
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pad, 1)
        layout.addLayout(grid)
        layout.addLayout(presets)
        layout.addWidget(self.readout)
        self.pad.moved.connect(self._sync_from_pad)
        self.valence_slider.valueChanged.connect(self._sync_from_sliders)
        self.arousal_slider.valueChanged.connect(self._sync_from_sliders)
        self._show(0.0, 0.0)

    @staticmethod
    def _slider() -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(-SLIDER_STEPS, SLIDER_STEPS)
        slider.setPageStep(SLIDER_STEPS // 4)
        return slider

    def value(self) -> tuple[float, float]:
        """Current (valence, arousal)."""
        return self.pad.value()

    def set_value(self, valence: float, arousal: float) -> None:
        """Move pad and sliders; emits ``changed``."""
        self.pad.set_value(valence, arousal)

    def _sync_from_pad(self, valence: float, arousal: float) -> None:
        for slider, x in ((self.valence_slider, valence), (self.arousal_slider, arousal)):
            slider.blockSignals(True)
            slider.setValue(round(x * SLIDER_STEPS))
            slider.blockSignals(False)
        self._show(valence, arousal)

    def _sync_from_sliders(self) -> None:
        self.pad.set_value(self.valence_slider.value() / SLIDER_STEPS, self.arousal_slider.value() / SLIDER_STEPS)

    def _show(self, valence: float, arousal: float) -> None:
        self.readout.setText(f"valence {valence:+.2f}   arousal {arousal:+.2f}")
        self.changed.emit(valence, arousal)
