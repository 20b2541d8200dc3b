"""User preferences remembered between runs: one dataclass, stored as JSON.

The file lives in the platform's user config folder (``MUSER_GUI_CONFIG_DIR`` overrides it,
which the tests use). A missing, damaged or older file never stops the app: unknown keys are
dropped, bad values fall back to defaults, and ``schema_version`` drives migrations.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from musER.elements import ELEMENTS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APP_NAME = "muser-studio"


def config_dir() -> Path:
    """Folder holding ``settings.json``."""
    override = os.environ.get("MUSER_GUI_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    """Everything the window restores on the next start."""

    schema_version: int = SCHEMA_VERSION
    valence: float = 0.0
    arousal: float = 0.0
    bars: int = 16
    variations: int = 1
    seed: int = 0
    temperature: float = 1.0
    element_temperature: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ELEMENTS, 1.0))
    top_p: float = 0.9
    element_top_p: dict[str, float] = field(default_factory=dict)  # only the elements that have their own
    key_lock: bool = True
    pedal: bool = True
    spread_chords: bool = True
    repeats: bool = True
    advanced_open: bool = False
    transfer_elements: list[str] = field(default_factory=lambda: ["velocity", "duration"])
    latent_element: str = "pitch"
    checkpoint: str = ""
    last_dir: str = ""
    window_geometry: str = ""  # hex of QWidget.saveGeometry()

    def clamped(self) -> Settings:
        """A copy with every value pulled back into its allowed range."""
        s = Settings(**asdict(self))
        s.valence = min(max(float(s.valence), -1.0), 1.0)
        s.arousal = min(max(float(s.arousal), -1.0), 1.0)
        s.bars = min(max(int(s.bars), 1), 64)
        s.variations = min(max(int(s.variations), 1), 16)
        s.seed = min(max(int(s.seed), 0), 2**31 - 1)
        s.temperature = min(max(float(s.temperature), 0.1), 3.0)
        temps = {k: min(max(float(v), 0.1), 5.0) for k, v in dict(s.element_temperature).items() if k in ELEMENTS}
        s.element_temperature = {e: temps.get(e, 1.0) for e in ELEMENTS}
        s.top_p = min(max(float(s.top_p), 0.05), 1.0)
        s.element_top_p = {k: min(max(float(v), 0.05), 1.0) for k, v in dict(s.element_top_p).items() if k in ELEMENTS}
        s.key_lock = bool(s.key_lock)
        s.pedal = bool(s.pedal)
        s.spread_chords = bool(s.spread_chords)
        s.repeats = bool(s.repeats)
        s.transfer_elements = [e for e in s.transfer_elements if e in ELEMENTS]
        if s.latent_element not in ELEMENTS:
            s.latent_element = "pitch"
        return s


def _migrate(raw: dict) -> dict:
    """Bring an older settings dict up to SCHEMA_VERSION (version 1 is the first)."""
    raw["schema_version"] = SCHEMA_VERSION
    return raw


def load_settings(path: Path | None = None) -> Settings:
    """Read settings, falling back to defaults for anything missing or unreadable."""
    path = path or config_dir() / "settings.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable settings %s: %s", path, exc)
        return Settings()
    if not isinstance(raw, dict) or int(raw.get("schema_version", 0)) > SCHEMA_VERSION:
        return Settings()
    raw = _migrate(raw)
    known = {f.name for f in fields(Settings)}
    try:
        return Settings(**{k: v for k, v in raw.items() if k in known}).clamped()
    except (TypeError, ValueError) as exc:
        log.warning("ignoring invalid settings %s: %s", path, exc)
        return Settings()


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write settings atomically; a failure is logged, never raised (preferences are optional)."""
    path = path or config_dir() / "settings.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(settings), indent=2))
    except OSError as exc:
        log.warning("could not save settings to %s: %s", path, exc)


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to a temp file in the same folder, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
