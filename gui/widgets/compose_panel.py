"""Compose controls: emotion, length, variations, temperature and top-p (overall and, under
"Advanced", per element), seed, and Generate / Cancel with progress."""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from musER.elements import ELEMENTS

from ..settings import Settings
from .va_pad import EmotionPicker

MAX_SEED = 2**31 - 1


def _double_spin(low: float, high: float, step: float, value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setValue(value)
    return spin


class ComposePanel(QWidget):
    """Builds the fields of a ``GenerationRequest``; emits intents, runs nothing."""

    generate_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.emotion = EmotionPicker()
        self.bars = QSpinBox()
        self.bars.setRange(1, 64)
        self.variations = QSpinBox()
        self.variations.setRange(1, 16)
        self.temperature = _double_spin(0.1, 3.0, 0.05, 1.0)
        self.top_p = _double_spin(0.05, 1.0, 0.05, 0.9)
        self.top_p.setToolTip("sample the codes among the likeliest that together hold this share of the chance "
                              "(1 = all of them): lower is safer, higher more varied")
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        dice = QPushButton("Random")
        dice.setToolTip("A random seed")
        dice.clicked.connect(lambda: self.seed.setValue(random.randint(0, MAX_SEED)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        form = QFormLayout()
        form.addRow("Length (bars)", self.bars)
        form.addRow("Variations", self.variations)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", seed_row)
        self.key_lock = QCheckBox("Keep to the key")
        self.key_lock.setChecked(True)
        self.key_lock.setToolTip("after the first notes, stay in the major or harmonic minor scale they set up "
                                 "(the first notes take its mode too); a note outside it only where it is "
                                 "wanted far more")
        form.addRow("", self.key_lock)
        self.pedal = QCheckBox("Sustain pedal")
        self.pedal.setChecked(True)
        self.pedal.setToolTip("let notes ring on to the next pedal change (every half bar, every beat in happy music), "
                              "as a pianist would")
        form.addRow("", self.pedal)
        self.spread_chords = QCheckBox("Spread chords as played")
        self.spread_chords.setChecked(True)
        self.spread_chords.setToolTip("strike each chord's notes a few milliseconds apart, with the timing of a real "
                                      "chord from the training music; off: every chord on the grid, all at once")
        form.addRow("", self.spread_chords)
        self.repeats = QCheckBox("Repeat bars")
        self.repeats.setChecked(True)
        self.repeats.setToolTip("let some bars replay an earlier bar, whole or only its rhythm with new notes, "
                                "as bars of the training music do; off: every bar is composed afresh")
        form.addRow("", self.repeats)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced: temperature and top-p per element")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced = QWidget()
        grid = QGridLayout(self.advanced)
        grid.setContentsMargins(12, 0, 0, 0)
        grid.addWidget(QLabel("temperature ×"), 0, 1)
        grid.addWidget(QLabel("top-p"), 0, 2)
        self.element_temperature = {e: _double_spin(0.1, 5.0, 0.1, 1.0) for e in ELEMENTS}
        # the lowest value, shown as "overall", leaves the element at the overall top-p
        self.element_top_p = {e: _double_spin(0.0, 1.0, 0.05, 0.0) for e in ELEMENTS}
        for row, element in enumerate(ELEMENTS, start=1):
            self.element_temperature[element].setToolTip(f"multiplies the sampling temperature of the {element} codes")
            self.element_top_p[element].setSpecialValueText("overall")
            self.element_top_p[element].setToolTip(f"top-p of the {element} codes instead of the overall one")
            grid.addWidget(QLabel(element), row, 0)
            grid.addWidget(self.element_temperature[element], row, 1)
            grid.addWidget(self.element_top_p[element], row, 2)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self._show_advanced(False)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.generate_button.clicked.connect(self.generate_clicked)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.emotion, 1)
        layout.addLayout(form)
        layout.addWidget(self.advanced_toggle)
        layout.addWidget(self.advanced)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        self.set_state(model_ready=False, busy=False)

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def request_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``musER.api.GenerationRequest``."""
        valence, arousal = self.emotion.value()
        return {
            "valence": valence, "arousal": arousal, "bars": self.bars.value(),
            "n": self.variations.value(), "seed": self.seed.value(),
            "temperature": self.temperature.value(), "top_p": self.top_p.value(),
            "key_lock": self.key_lock.isChecked(), "pedal": self.pedal.isChecked(),
            "spread_chords": self.spread_chords.isChecked(), "repeats": self.repeats.isChecked(),
            "element_temperature": {e: s.value() for e, s in self.element_temperature.items()},
            "element_top_p": self._element_top_p(),
        }

    def _element_top_p(self) -> dict[str, float]:
        return {e: spin.value() for e, spin in self.element_top_p.items() if spin.value() > spin.minimum()}

    def set_state(self, model_ready: bool, busy: bool) -> None:
        """Enable Generate when the model is loaded and idle; Cancel while busy."""
        self.generate_button.setEnabled(model_ready and not busy)
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.reset()

    def set_progress(self, done: int, total: int) -> None:
        """Show worker progress."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def apply_settings(self, s: Settings) -> None:
        """Fill the controls from saved settings."""
        self.emotion.set_value(s.valence, s.arousal)
        self.bars.setValue(s.bars)
        self.variations.setValue(s.variations)
        self.seed.setValue(s.seed)
        self.temperature.setValue(s.temperature)
        for e, spin in self.element_temperature.items():
            spin.setValue(s.element_temperature.get(e, 1.0))
        self.top_p.setValue(s.top_p)
        for e, spin in self.element_top_p.items():
            spin.setValue(s.element_top_p.get(e, spin.minimum()))
        self.key_lock.setChecked(s.key_lock)
        self.pedal.setChecked(s.pedal)
        self.spread_chords.setChecked(s.spread_chords)
        self.repeats.setChecked(s.repeats)
        self.advanced_toggle.setChecked(s.advanced_open)

    def store_settings(self, s: Settings) -> None:
        """Copy the controls into settings."""
        s.valence, s.arousal = self.emotion.value()
        s.bars, s.variations, s.seed = self.bars.value(), self.variations.value(), self.seed.value()
        s.temperature = self.temperature.value()
        s.element_temperature = {e: spin.value() for e, spin in self.element_temperature.items()}
        s.top_p = self.top_p.value()
        s.element_top_p = self._element_top_p()
        s.key_lock = self.key_lock.isChecked()
        s.pedal = self.pedal.isChecked()
        s.spread_chords = self.spread_chords.isChecked()
        s.repeats = self.repeats.isChecked()
        s.advanced_open = self.advanced_toggle.isChecked()
