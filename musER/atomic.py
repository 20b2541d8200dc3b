"""Atomic file writes: a temp file of the writer's own beside the target, renamed over it when
complete, so a crash or a full disk never leaves half a file under the target's name."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import MusERError


@contextmanager
def atomic_path(path: str | Path, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temp path in `path`'s folder to write; on success it replaces `path` with ordinary
    permissions (mkstemp makes it 0600). On failure it is removed, `path` is left as it was, and
    an OSError (disk full, folder unwritable) becomes a MusERError naming the file."""
    path = Path(path)
    tmp = None
    try:
        fd, name = tempfile.mkstemp(suffix=suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        raise MusERError(f"could not write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
