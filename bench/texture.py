"""Texture of generated pieces against EMOPIA, per quadrant, counted on the tokens: positions
(onsets) per bar, notes per position, and how often a bar keeps the previous bar's tempo.

    python bench/texture.py --data ../shared/data/emopia [--n 8] [--bars 16] [--checkpoint DIR]

Thin texture shows as few positions per bar with chords piled on them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import GenerationRequest, MusER
from musER.data import load_split
from musER.elements import COLUMN, Quadrant
from musER.engine import sampling_settings
from musER.generation import generate_tokens


def texture(seqs, vocab) -> tuple[float, float, float]:
    """(positions per bar, notes per position, share of bars at the previous bar's tempo) over id arrays."""
    bar, metrical, note = vocab.id_of("beat", "bar"), vocab.id_of("type", "metrical"), vocab.id_of("type", "note")
    bars = positions = notes = 0
    moves = []
    for ids in seqs:
        kind, beat = ids[:, COLUMN["type"]], ids[:, COLUMN["beat"]]
        bar_lines = (kind == metrical) & (beat == bar)
        bars += int(bar_lines.sum())
        positions += int(((kind == metrical) & (beat != bar)).sum())
        notes += int((kind == note).sum())
        tempi = ids[bar_lines, COLUMN["tempo"]]
        moves.append(np.diff(tempi[tempi > 0]))
    moves = np.concatenate(moves)
    return positions / max(bars, 1), notes / max(positions, 1), float((moves == 0).mean()) if len(moves) else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--bars", type=int, default=16)
    args = ap.parse_args()
    engine = MusER.load(args.checkpoint)._engine
    vocab = engine.vocab
    val = load_split("val", vocab, args.data)
    print("quadrant | generated positions/bar, notes/position, bars at the previous tempo | EMOPIA val")
    for q in Quadrant:
        request = GenerationRequest(*q.va, bars=args.bars, n=args.n, seed=0)
        seqs = generate_tokens(engine.vqvae, engine.prior, vocab, engine._emotion(*q.va, args.n), args.bars,
                               engine.window, sampling_settings(request), 0, beat_codes=engine.beat_codes,
                               gaps=engine.gaps)
        real = [val.clip(i) for i in range(len(val)) if int(val.quadrants[i]) == q.value]
        (gp, gn, gt), (rp, rn, rt) = texture(seqs, vocab), texture(real, vocab)
        print(f"{q.name} | {gp:.1f}, {gn:.2f}, {gt:.2f} | {rp:.1f}, {rn:.2f}, {rt:.2f}")


if __name__ == "__main__":
    main()
