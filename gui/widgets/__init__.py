"""Widgets of the main window: each draws the data it is given and emits intents."""
