"""Work-around for a PySide6 bug seen with 6.12.0 on Python 3.11.

There, every ``SignalInstance.emit()`` called from Python returns ``True`` without taking a
reference to it, so each emit steals one reference of ``True``; after enough emits the
interpreter aborts ("Fatal Python error: bool_dealloc"). ``apply()`` checks for the leak once
and, only if present, wraps ``emit`` to give the reference back. On fixed versions, or on
Python >= 3.12 where ``True`` is immortal, the probe finds no leak and nothing is patched.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_applied = False


class _Probe(QObject):
    sig = Signal()


def emit_leaks_true() -> bool:
    """True when emitting a signal from Python loses a reference to ``True``."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.sig.emit()
    return sys.getrefcount(True) - before <= -8


def apply() -> None:
    """Patch ``SignalInstance.emit`` if (and only if) this PySide6 has the leak."""
    global _applied
    if _applied or not emit_leaks_true():
        return
    signal_type = type(_Probe().sig)
    original = signal_type.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]

    def emit(self, *args):
        result = original(self, *args)
        incref(result)  # the reference PySide6 forgot to take
        return result

    emit.__doc__ = original.__doc__
    signal_type.emit = emit
    _applied = True
