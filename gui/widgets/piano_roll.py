"""Piano roll: notes as bars on a pitch x time plot, velocity as colour, bar lines from the
piece's grid, and a playhead line."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from musER.piece import Piece

_VELOCITY_MAP = pg.colormap.get("viridis")


class PianoRoll(pg.PlotWidget):
    """Shows one piece; ``set_playhead(seconds)`` moves the playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setLabel("bottom", "time", units="s")
        self.setLabel("left", "pitch (MIDI)")
        self.setMouseEnabled(x=True, y=False)
        self.showGrid(x=False, y=True, alpha=0.15)
        self.piece: Piece | None = None
        self._notes = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])
        self._bars = pg.PlotCurveItem(pen=pg.mkPen((120, 120, 120), width=1))
        self._title = pg.TextItem(color=(60, 60, 60), anchor=(0, 0))
        self.playhead = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((220, 30, 30), width=2))
        for item in (self._bars, self._notes, self._title, self.playhead):
            self.addItem(item)
        self.playhead.hide()
        self.set_piece(None)

    def set_piece(self, piece: Piece | None) -> None:
        """Draw a piece (None clears the view)."""
        self.piece = piece
        notes = piece.notes if piece is not None else np.zeros((0, 4))
        bars = piece.bar_times if piece is not None else np.zeros(0)
        colors = _VELOCITY_MAP.map(np.clip(notes[:, 3], 0, 127) / 127, mode="qcolor")
        self._notes.setOpts(x0=notes[:, 0], width=np.maximum(notes[:, 1] - notes[:, 0], 1e-3),
                            y0=notes[:, 2] - 0.4, height=0.8, brushes=list(colors), pen=pg.mkPen(None))
        low, high = (notes[:, 2].min() - 2, notes[:, 2].max() + 2) if len(notes) else (48.0, 84.0)
        self._bars.setData(np.repeat(bars, 2), np.tile([low, high], len(bars)), connect="pairs")
        self._title.setText(piece.name if piece is not None else "")
        self._title.setPos(0, high)
        end = piece.seconds if piece is not None else 8.0
        self.setRange(xRange=(0, max(end, 1.0)), yRange=(low, high), padding=0.02)
        self.set_playhead(None)

    def set_playhead(self, seconds: float | None) -> None:
        """Move the playhead; None hides it."""
        self.playhead.setVisible(seconds is not None)
        if seconds is not None:
            self.playhead.setPos(seconds)

    def drawn_note_count(self) -> int:
        """How many notes are on screen (for tests and the status line)."""
        return len(self._notes.opts["x0"])

    def drawn_bar_count(self) -> int:
        """How many bar lines are on screen."""
        x, _ = self._bars.getData()
        return 0 if x is None else len(x) // 2
