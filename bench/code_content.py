"""How much of each element a step's code alone carries: the share of val steps whose value is
the one most often seen with that code on the train split (steps where the element applies).

    python bench/code_content.py --data ../shared/data/emopia [--checkpoint DIR]

A decoder can read from the latents only what the codes carry, so this bounds what training
the decoder alone could bring to reconstruction (per-element codebooks only). For tempo and chord,
which change seldom, it also gives the share that repeating the element's previous value (the
last bar's tempo, the last chord) names, and the share that either the code or that repetition
names: what a decoder that also reads the piece so far could reach.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.api import MusER
from musER.data import load_split
from musER.elements import ELEMENTS

REPEATED = ("tempo", "chord")  # elements that mostly keep their value from one bar or chord to the next


def codes_and_ids(engine, data):
    for i in range(len(data)):
        content = data.clip(i)[1:]
        yield engine.latents_of(content)[2].cpu().numpy(), content


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--checkpoint")
    args = ap.parse_args()
    engine = MusER.load(args.checkpoint)._engine
    if engine.vqvae.cfg.codebook != "product":
        sys.exit("this bench needs one codebook per element slice")
    vocab, size = engine.vocab, engine.vqvae.cfg.codebook_size
    counts = {e: np.zeros((size, vocab.size(e)), dtype=np.int64) for e in ELEMENTS}
    for codes, ids in codes_and_ids(engine, load_split("train", vocab, args.data)):
        for j, e in enumerate(ELEMENTS):
            applies = ids[:, j] > 0
            np.add.at(counts[e], (codes[applies, j], ids[applies, j]), 1)
    named = {e: c.argmax(1) for e, c in counts.items()}
    hits = dict.fromkeys(ELEMENTS, 0)
    total = dict.fromkeys(ELEMENTS, 0)
    repeats = {e: [0, 0] for e in REPEATED}  # previous value names it; the code or the previous value does
    for codes, ids in codes_and_ids(engine, load_split("val", vocab, args.data)):
        for j, e in enumerate(ELEMENTS):
            applies = ids[:, j] > 0
            by_code = named[e][codes[applies, j]] == ids[applies, j]
            hits[e] += int(by_code.sum())
            total[e] += int(applies.sum())
            if e in REPEATED:
                values = ids[applies, j]
                by_repeat = np.concatenate([[False], values[1:] == values[:-1]])  # a clip's first: not named
                repeats[e][0] += int(by_repeat.sum())
                repeats[e][1] += int((by_code | by_repeat).sum())
    print("val steps whose value the code alone names: " +
          ", ".join(f"{e} {hits[e] / max(total[e], 1):.3f}" for e in ELEMENTS))
    for e, (by_repeat, either) in repeats.items():
        print(f"{e}: the previous value names {by_repeat / max(total[e], 1):.3f}, "
              f"the code or the previous value {either / max(total[e], 1):.3f}")


if __name__ == "__main__":
    main()
