"""Fidelity and speed of MIDI -> compound words -> MIDI on every EMOPIA clip.

    python bench/roundtrip.py --data ../shared/data/emopia

Note F1: onset within 50 ms and same pitch, one-to-one. Also median onset error, median
duration error (s) and velocity error, how often the tempo token changes between bars, and
the time to tokenize all clips (2 processes).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from musER.data import data_dir
from musER.elements import COLUMN
from musER.midi_io import read_midi
from musER.tokenizer import decode_ids, encode_notes
from musER.vocab import Vocab


def match(ref: np.ndarray, dec: np.ndarray, tol: float = 0.05):
    used = np.zeros(len(dec), dtype=bool)
    pairs = []
    for i, (onset, _, pitch, _) in enumerate(ref):
        cand = np.nonzero((dec[:, 2] == pitch) & (np.abs(dec[:, 0] - onset) <= tol) & ~used)[0]
        if len(cand):
            j = cand[np.argmin(np.abs(dec[cand, 0] - onset))]
            used[j] = True
            pairs.append((i, j))
    return pairs


def one(path: str) -> dict:
    vocab = Vocab.default()
    midi = read_midi(path)
    enc = encode_notes(midi.notes, vocab, midi.beat_times)
    dec = decode_ids(enc.ids, vocab).notes
    dec[:, :2] += enc.time_offset
    ref = midi.notes
    tempo = enc.ids[enc.ids[:, COLUMN["tempo"]] > 0, COLUMN["tempo"]]
    pairs = match(ref, dec)
    i, j = (np.array(x, dtype=int) for x in zip(*pairs)) if pairs else (np.array([], int), np.array([], int))
    return {"f1": 2 * len(pairs) / (len(ref) + len(dec)), "onset": np.abs(ref[i, 0] - dec[j, 0]),
            "duration": np.abs((ref[i, 1] - ref[i, 0]) - (dec[j, 1] - dec[j, 0])),
            "velocity": np.abs(ref[i, 3] - dec[j, 3]), "bpm": 240 / np.median(np.diff(enc.bar_times)),
            "tempo_changes": np.mean(np.diff(tempo) != 0) if len(tempo) > 1 else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    args = ap.parse_args()
    files = [str(p) for p in sorted((data_dir(args.data) / "midis").glob("*.mid"))]
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(one, files, chunksize=16))
    spent = time.perf_counter() - start
    f1 = np.array([r["f1"] for r in rows])
    cat = {k: np.concatenate([r[k] for r in rows]) for k in ("onset", "duration", "velocity")}
    bpm = np.array([r["bpm"] for r in rows])
    print(f"clips: {len(rows)}; tokenize + decode time: {spent:.1f} s (2 processes)")
    print(f"note F1 (50 ms, same pitch): mean {f1.mean():.4f}, min {f1.min():.4f}, "
          f"clips >= 0.97: {np.mean(f1 >= 0.97):.3f}")
    print(f"median onset error {1000 * np.median(cat['onset']):.1f} ms "
          f"(95th pct {1000 * np.percentile(cat['onset'], 95):.1f} ms)")
    print(f"median duration error {1000 * np.median(cat['duration']):.1f} ms; "
          f"median velocity error {np.median(cat['velocity']):.1f} (mean {cat['velocity'].mean():.2f})")
    changes = np.mean([r["tempo_changes"] for r in rows])
    print(f"bars whose tempo token differs from the previous bar's: {changes:.3f}")
    print(f"estimated tempo: median {np.median(bpm):.0f} BPM, "
          f"5-95% [{np.percentile(bpm, 5):.0f}, {np.percentile(bpm, 95):.0f}]")


if __name__ == "__main__":
    main()
