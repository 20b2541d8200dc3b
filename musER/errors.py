"""Typed errors: the command line turns them into one-line messages, the GUI into dialogs."""


class MusERError(Exception):
    """Base of every error the library raises on purpose."""


class MidiReadError(MusERError):
    """A MIDI file could not be read or holds nothing usable."""


class TokenizationError(MusERError):
    """Notes could not be turned into compound words (or back)."""


class CheckpointError(MusERError):
    """A checkpoint is missing, damaged or does not match this version."""


class ConfigError(MusERError, ValueError):
    """A configuration field or a request argument is out of range."""


class DataError(MusERError):
    """The training data folder is missing or malformed."""


class Cancelled(MusERError):
    """The caller stopped the work (its cancel event was set)."""
