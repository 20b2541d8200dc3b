"""MusER Studio library: emotion-conditioned piano music with element-level control."""

__version__ = "0.1.0"
