"""EMOPIA: find the clips, label them from file names, tokenize them once into a cache.

The data folder comes from `--data` or the MUSER_DATA environment variable; the cache
folder from `--cache` or MUSER_CACHE (default: the user cache folder). A cache file is
named by a hash of the representation, so changing the tokenizer or vocabulary rebuilds it.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import DataError, MusERError
from .vocab import Vocab

log = logging.getLogger(__name__)
TOKENIZER_VERSION = "cp-12ppq-v2"  # bump when encode_notes changes its output
SPLITS = ("train", "val")


def data_dir(explicit: str | Path | None = None) -> Path:
    """The EMOPIA folder: the explicit argument, else $MUSER_DATA; it must hold midis/."""
    raw = explicit or os.environ.get("MUSER_DATA")
    if not raw:
        raise DataError("no EMOPIA folder given: pass --data DIR or set MUSER_DATA")
    path = Path(raw).expanduser()
    if not (path / "midis").is_dir():
        raise DataError(f"{path} is not an EMOPIA folder (it has no midis/ subfolder)")
    return path


def cache_dir(explicit: str | Path | None = None) -> Path:
    raw = explicit or os.environ.get("MUSER_CACHE")
    if raw:
        path = Path(raw).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("muser-studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def quadrant_of(name: str) -> str:
    """'Q3_egYSmNuIFGk_1.mid' -> 'Q3'."""
    label = name[:2].upper()
    if label not in ("Q1", "Q2", "Q3", "Q4"):
        raise DataError(f"{name}: EMOPIA file names start with Q1..Q4")
    return label


def split_files(root: Path, split: str) -> list[Path]:
    """Clip paths of the song-level split (split/<split>_clip.csv)."""
    table = root / "split" / f"{split}_clip.csv"
    if not table.is_file():
        raise DataError(f"{table} is missing; EMOPIA's split/ folder is needed")
    with table.open(newline="") as fh:
        names = [row["clip_name"] for row in csv.DictReader(fh)]
    return [root / "midis" / n for n in names if (root / "midis" / n).is_file()]


@dataclass
class TokenizedSet:
    """Many tokenized clips in one array: ids[offsets[i]:offsets[i+1]] is clip i."""

    ids: np.ndarray  # (total_steps, 8) int16
    offsets: np.ndarray  # (n + 1,)
    names: list[str]
    quadrants: np.ndarray  # (n,) 1..4

    def __len__(self) -> int:
        return len(self.names)

    def clip(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]: self.offsets[i + 1]].astype(np.int64)


def representation_hash(vocab: Vocab) -> str:
    return hashlib.sha256(f"{TOKENIZER_VERSION}:{vocab.hash()}".encode()).hexdigest()[:12]


def _tokenize_one(args: tuple[str, dict]) -> tuple[str, np.ndarray | None, str]:
    from .midi_io import read_midi
    from .tokenizer import encode_notes

    path, vocab_dict = args
    vocab = Vocab.from_dict(vocab_dict)
    try:
        midi = read_midi(path)
        enc = encode_notes(midi.notes, vocab, midi.beat_times, emotion=quadrant_of(Path(path).name))
        return path, enc.ids.astype(np.int16), ""
    except MusERError as exc:
        return path, None, str(exc)


def load_split(split: str, vocab: Vocab, root: str | Path | None = None,
               cache: str | Path | None = None, workers: int | None = None) -> TokenizedSet:
    """Tokenized clips of a split, from the cache when it matches the representation."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {SPLITS}")
    root = data_dir(root)
    files = split_files(root, split)
    if not files:
        raise DataError(f"{root}: the {split} split lists no clip that exists")
    stamp = hashlib.sha256("".join(f"{f.name}:{f.stat().st_size}" for f in files).encode()).hexdigest()[:8]
    target = cache_dir(cache) / f"emopia-{split}-{representation_hash(vocab)}-{stamp}.npz"
    if target.is_file():
        with np.load(target, allow_pickle=False) as z:
            return TokenizedSet(z["ids"], z["offsets"], list(z["names"]), z["quadrants"])
    jobs = [(str(f), vocab.to_dict()) for f in files]
    workers = workers or min(os.cpu_count() or 1, 8)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_tokenize_one, jobs, chunksize=16))
    kept = [(Path(p).name, ids) for p, ids, err in results if ids is not None]
    for p, _, err in results:
        if err:
            log.warning("skipped %s: %s", p, err)
    offsets = np.cumsum([0] + [len(ids) for _, ids in kept])
    tset = TokenizedSet(np.concatenate([ids for _, ids in kept]), offsets, [n for n, _ in kept],
                        np.array([int(quadrant_of(n)[1]) for n, _ in kept]))
    # a temporary file of this writer's own, as midi_io does: processes filling the cache at once
    # (DDP ranks) each replace the target whole; with one shared name one renamed the other's away
    with atomic_path(target, ".part.npz") as tmp, tmp.open("wb") as fh:
        np.savez(fh, ids=tset.ids, offsets=tset.offsets, names=np.array(tset.names), quadrants=tset.quadrants)
    return tset
