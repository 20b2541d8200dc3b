"""MusER Studio, the Qt desktop app (``muser-gui``)."""

import importlib.util

if importlib.util.find_spec("PySide6") is not None:
    from . import qt_compat

    qt_compat.apply()
