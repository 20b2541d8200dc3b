"""`muser data stats`: token and note statistics per quadrant of the EMOPIA splits."""

from __future__ import annotations

import numpy as np

from .data import load_split
from .elements import COLUMN
from .tokenizer import decode_ids
from .vocab import Vocab


def quadrant_stats(data, vocab: Vocab) -> dict[int, dict[str, float]]:
    rows: dict[int, list[dict]] = {}
    note = vocab.id_of("type", "note")
    bar = vocab.id_of("beat", "bar")
    for i in range(len(data)):
        ids = data.clip(i)
        piece = decode_ids(ids, vocab)
        seconds = max(piece.seconds, 1e-6)
        notes = ids[:, COLUMN["type"]] == note
        tempo = ids[ids[:, COLUMN["beat"]] == bar, COLUMN["tempo"]]
        rows.setdefault(int(data.quadrants[i]), []).append({
            "steps": len(ids), "bars": piece.n_bars, "notes": int(notes.sum()), "seconds": seconds,
            "notes_per_s": notes.sum() / seconds,
            "velocity": float(np.mean([vocab.value_of("velocity", v) for v in ids[notes, COLUMN["velocity"]]])),
            "pitch": float(np.mean([vocab.value_of("pitch", p) for p in ids[notes, COLUMN["pitch"]]])),
            "tempo_bpm": float(np.median([vocab.value_of("tempo", t) for t in tempo])) if len(tempo) else 0.0,
        })
    return {q: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} | {"clips": len(rs)}
            for q, rs in sorted(rows.items())}


def print_stats(root=None, cache=None) -> None:
    vocab = Vocab.default()
    for split in ("train", "val"):
        data = load_split(split, vocab, root, cache)
        stats = quadrant_stats(data, vocab)
        keys = ["clips", "steps", "bars", "notes", "seconds", "notes_per_s", "velocity", "pitch", "tempo_bpm"]
        print(f"\n{split} split: {len(data)} clips, {len(data.ids)} steps (means per clip)")
        print("| quadrant | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for q, s in stats.items():
            print(f"| Q{q} | " + " | ".join(f"{s[k]:.1f}" for k in keys) + " |")
