"""Names and colours of the four emotion quadrants, shared by the pad and the latent view."""

from __future__ import annotations

# Russell quadrants as EMOPIA labels them: Q1 happy, Q2 tense, Q3 sad, Q4 calm.
QUADRANT_NAMES = {1: "happy", 2: "tense", 3: "sad", 4: "calm"}
QUADRANT_COLORS = {1: (240, 170, 40), 2: (220, 60, 60), 3: (70, 110, 220), 4: (60, 170, 110)}
