"""Python's cycle collector, run on the GUI thread only while a window is open.

Python collects reference cycles in whichever thread crosses an allocation threshold, and the
model worker allocates the most. Left alone, it is the worker that frees unreachable Qt wrappers
(a closed window's menus, a dialog caught in a cycle), destroying Qt objects off the GUI thread:
the worker then waits for the GIL inside Qt's destructor while the GUI thread waits for Qt's lock
(a frozen app), or Qt crashes. So automatic collection is switched off and a GUI-thread timer
runs it, generation by generation, when the usual thresholds are crossed.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 200


class GuiThreadCollector(QObject):
    """Create it on the GUI thread; call stop() when its window closes."""

    _running = 0  # collectors started and not stopped; automatic collection is back at 0

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        self._timer.start(INTERVAL_MS)
        GuiThreadCollector._running += 1
        gc.disable()

    def collect(self) -> int:
        """Collect the oldest generation whose threshold is crossed, as Python would; the number
        of objects freed."""
        counts, limits = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if limits[generation] and counts[generation] > limits[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        if not self._timer.isActive():
            return
        self._timer.stop()
        GuiThreadCollector._running -= 1
        if GuiThreadCollector._running == 0:
            gc.enable()
