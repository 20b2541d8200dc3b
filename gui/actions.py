"""Every QAction of the app, declared once; menus, toolbars and context menus only place them."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

_SPECS = {
    # name: (text, shortcut, tip)
    "open_midi": ("&Open MIDI for transfer…", QKeySequence.StandardKey.Open, "Load a MIDI file as the transfer source"),
    "open_reference": ("Choose &reference MIDI…", "", "Load a MIDI file whose elements to copy"),
    "export_midi": ("&Export MIDI…", "Ctrl+E", "Save the selected result as a MIDI file"),
    "export_wav": ("Export &WAV…", "Ctrl+Shift+E", "Save the selected result as audio"),
    "play": ("&Play", "Space", "Play the selected result"),
    "stop": ("&Stop", "Ctrl+.", "Stop playback"),
    "generate": ("&Generate", "Ctrl+G", "Generate pieces with the chosen emotion"),
    "cancel": ("&Cancel", "Esc", "Stop the running generation or transfer"),
    "rename": ("&Rename", "F2", "Rename the selected result"),
    "delete": ("&Delete", QKeySequence.StandardKey.Delete, "Delete the selected results"),
    "remove_unkept": ("Remove &unkept results", "", "Delete every result whose 'keep' box is clear"),
    "quit": ("&Quit", QKeySequence.StandardKey.Quit, "Close MusER Studio"),
    "about": ("&About MusER Studio", "", "Model and licence information"),
}


class Actions:
    """One QAction per entry of ``_SPECS``, as attributes (``actions.play`` …)."""

    open_midi: QAction
    open_reference: QAction
    export_midi: QAction
    export_wav: QAction
    play: QAction
    stop: QAction
    generate: QAction
    cancel: QAction
    rename: QAction
    delete: QAction
    remove_unkept: QAction
    quit: QAction
    about: QAction

    def __init__(self, parent: QWidget) -> None:
        for name, (text, shortcut, tip) in _SPECS.items():
            action = QAction(text, parent)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setStatusTip(tip)
            action.setToolTip(tip)
            setattr(self, name, action)
