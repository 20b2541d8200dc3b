"""Generation speed on this machine: real-time factor with and without the key/value cache.

    python bench/generation_speed.py [--checkpoint DIR] [--bars 16] [--repeats 2] [--guidance 1 --valence-guidance 0]

Real-time factor = seconds of music produced per second of compute, with the library's default
sampling (guidance included, three prior copies per piece) unless told otherwise, with the
float16 weight copies for small batches (MusER.load(half=True); off by default), in float32 as
the library loads it (few-row products through numpy, model/blas.py) and in float32 with torch's
own products (MusER.load(blas=False)). Without the cache: batch 1 for each of these, batch 8 for
the library's default only (24 rows with guidance take torch's float32 products in all three, and
one run takes minutes). Prints a Markdown table and the cache's speed-up at each batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from musER.api import GenerationRequest, MusER
from musER.engine import end_on_held_chord, sampling_settings
from musER.generation import generate_tokens
from musER.tokenizer import decode_ids

DEFAULT = "fp32"  # the weights MusER.load() gives


def run(model: MusER, bars: int, batch: int, use_cache: bool, seed: int,
        request: GenerationRequest | None = None) -> tuple[float, float]:
    """(compute seconds, music seconds) for one batch; sampling as in `request` (default: the library's)."""
    engine = model._engine
    settings = sampling_settings(request or GenerationRequest())
    start = time.perf_counter()
    seqs = generate_tokens(engine.vqvae, engine.prior, engine.vocab, engine._emotion(0.5, 0.5, batch), bars,
                           engine.window, settings, seed, use_cache=use_cache, beat_codes=engine.beat_codes,
                           gaps=engine.gaps)
    spent = time.perf_counter() - start
    music = sum(end_on_held_chord(decode_ids(s, engine.vocab)).seconds for s in seqs)
    return spent, music


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--guidance", type=float, default=GenerationRequest.guidance,
                    help="1 and --valence-guidance 0 run a single prior copy")
    ap.add_argument("--valence-guidance", type=float, default=GenerationRequest.valence_guidance)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    request = GenerationRequest(guidance=args.guidance, valence_guidance=args.valence_guidance)
    models = {}
    # all loaded first, then measured in turn (the machine's speed drifts)
    for label, half, blas in (("fp16", True, False), ("fp32", False, True), ("fp32, torch products", False, False)):
        model = MusER.load(args.checkpoint, half=half, blas=blas)
        if model.info["half_weights"] != half:
            continue  # this torch build has no float16 products
        model.generate(GenerationRequest(bars=1))  # warm-up
        models[label] = model
    rows = []
    for batch, use_cache in ((1, True), (1, False), (8, True), (8, False)):
        for weights, model in models.items():
            if (batch, use_cache) == (8, False) and weights != DEFAULT:
                continue
            spent = music = 0.0
            for r in range(args.repeats if use_cache else 1):
                s, m = run(model, args.bars, batch, use_cache, seed=r, request=request)
                spent, music = spent + s, music + m
            rows.append((weights, batch, "yes" if use_cache else "no", spent, music, music / spent))
    print(f"| weights | batch | cache | compute s | music s | real-time factor |  ({args.bars} bars, "
          f"{torch.get_num_threads()} threads, guidance {args.guidance}, valence guidance {args.valence_guidance})")
    print("|---|---|---|---|---|---|")
    for weights, batch, cache, spent, music, rtf in rows:
        print(f"| {weights} | {batch} | {cache} | {spent:.1f} | {music:.1f} | {rtf:.1f}x |")
    print()
    for weights, batch, cache, *_, rtf in rows:
        uncached = next((r for r in rows if r[:3] == (weights, batch, "no")), None)
        if cache == "yes" and uncached:
            print(f"{weights}: cache speed-up at batch {batch} (real time with / without): {rtf / uncached[5]:.1f}x")


if __name__ == "__main__":
    main()
