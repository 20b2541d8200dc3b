"""Latent view: the EMOPIA reference pieces in one element's 2-D latent map, coloured by
quadrant, with the current piece marked as a star."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from musER.elements import ELEMENTS

from .quadrants import QUADRANT_COLORS, QUADRANT_NAMES


class LatentView(QWidget):
    """Pick an element; see where the reference clips and the current piece fall."""

    element_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.addItems(list(ELEMENTS))
        self.plot = pg.PlotWidget(background="w")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.addLegend(offset=(5, 5))
        self.scatter: dict[int, pg.ScatterPlotItem] = {}
        for q in (1, 2, 3, 4):
            item = pg.ScatterPlotItem(size=6, pen=pg.mkPen(None), brush=pg.mkBrush(*QUADRANT_COLORS[q], 160),
                                      hoverable=True, tip=lambda x, y, data: str(data),
                                      name=f"Q{q} {QUADRANT_NAMES[q]}")
            self.plot.addItem(item)
            self.scatter[q] = item
        self.current = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("k", width=1.5),
                                          brush=pg.mkBrush(255, 255, 255), name="selected piece")
        self.plot.addItem(self.current)
        self.note = QLabel("The reference map appears once the model has loaded.")
        top = QHBoxLayout()
        top.addWidget(QLabel("Element:"))
        top.addWidget(self.combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        self._reference = None
        self._current: dict[str, np.ndarray] | None = None
        self.combo.currentTextChanged.connect(self._on_element)

    def element(self) -> str:
        """The element slice being shown."""
        return self.combo.currentText()

    def set_element(self, element: str) -> None:
        """Show another element's map."""
        if element in ELEMENTS:
            self.combo.setCurrentText(element)

    def set_reference(self, reference) -> None:
        """Show a ``musER.api.ReferenceMap`` (None: the checkpoint has none)."""
        self._reference = reference
        self.note.setText("" if reference is not None else "This checkpoint has no reference map.")
        self._redraw()

    def set_current(self, coords: dict[str, np.ndarray] | None) -> None:
        """Mark the selected piece: element -> (2,) coordinates, or None to clear."""
        self._current = coords
        self._redraw()

    def current_point(self) -> np.ndarray | None:
        """The marked point in the shown element's map, if any."""
        if not self._current or self.element() not in self._current:
            return None
        return np.asarray(self._current[self.element()], dtype=float).reshape(-1)[:2]

    def _on_element(self, element: str) -> None:
        self._redraw()
        self.element_changed.emit(element)

    def _redraw(self) -> None:
        ref, element = self._reference, self.element()
        for q, item in self.scatter.items():
            if ref is None or element not in ref.points:
                item.clear()
                continue
            mask = np.asarray(ref.quadrants) == q
            pts = np.asarray(ref.points[element])[mask]
            names = [n for n, m in zip(ref.names, mask, strict=True) if m]
            item.setData(x=pts[:, 0], y=pts[:, 1], data=names)
        point = self.current_point()
        if point is None:
            self.current.clear()
        else:
            self.current.setData(x=[point[0]], y=[point[1]])
