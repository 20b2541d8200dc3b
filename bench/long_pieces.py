"""Seams in long pieces: does the sliding window show at the bars where it slides?

    python bench/long_pieces.py [--checkpoint DIR] [--n 4] [--bars 64]

Generates n pieces of `bars` bars (past the trained window the decoder and the prior restart
their caches on the last half window, from a bar line), records at which bar each slide
happened, and compares the bar-to-bar change of notes per bar and of tempo at those bars
against all other bars. No seam: the changes at slides look like the changes elsewhere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER import generation
from musER.api import GenerationRequest, MusER


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--bars", type=int, default=64)
    args = ap.parse_args()
    model = MusER.load(args.checkpoint)
    slides: list[int] = []  # bar count of the first sequence at each slide
    reprime = generation.StepDecoder.reprime

    def recording(self, states, start=None):
        if start is None:  # a window slide (not the uncached benchmark's re-run)
            slides.append(states[0].bars)
        return reprime(self, states, start)

    generation.StepDecoder.reprime = recording
    at_slide, elsewhere = {"notes": [], "tempo": []}, {"notes": [], "tempo": []}
    for seed in range(args.n):
        slides.clear()
        piece = model.generate(GenerationRequest(bars=args.bars, seed=seed))[0]
        bars = piece.bar_times
        notes = np.histogram(piece.notes[:, 0], bins=bars)[0].astype(float)
        tempo = 240.0 / np.diff(bars)
        d_notes, d_tempo = np.abs(np.diff(notes)), np.abs(np.diff(np.log(tempo)))
        seams = {b for b in slides if 1 <= b < len(d_notes)}
        for k in range(len(d_notes) - 1):  # the last bar is stretched for the final chord
            bucket = at_slide if k + 1 in seams else elsewhere
            bucket["notes"].append(d_notes[k])
            bucket["tempo"].append(d_tempo[k])
        print(f"seed {seed}: {piece.n_bars} bars, {piece.seconds:.0f} s, window slides at bars {sorted(seams)}")
    for name, unit in (("notes", "notes per bar"), ("tempo", "log tempo")):
        a, b = np.array(at_slide[name]), np.array(elsewhere[name])
        print(f"|change of {unit}| at slides: mean {a.mean():.3f} (n={len(a)}); elsewhere: mean {b.mean():.3f} "
              f"(n={len(b)}, 90th pct {np.percentile(b, 90):.3f})")


if __name__ == "__main__":
    main()
