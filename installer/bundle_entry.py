"""Entry point of the standalone MusER Studio bundle (built by installer/build_bundle.sh).

    muser-studio                 the desktop app (same as `muser-studio gui`)
    muser-studio gui [ARGS]      the desktop app, with muser-gui's arguments
    muser-studio --selftest      compose one short piece headless, write it, read it back, render its sound;
                                 exit 0 if fine
    muser-studio ARGS            the command line (same as `muser ARGS`, e.g. `muser-studio --help`)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _bundle_root() -> Path | None:
    """The folder the bundle unpacked into (None when run from a source checkout)."""
    root = getattr(sys, "_MEIPASS", None)
    return Path(root) if root else None


def _point_at_shipped_checkpoint() -> None:
    """Make the checkpoint shipped inside the bundle the default, unless the user chose one."""
    root = _bundle_root()
    if root is None or os.environ.get("MUSER_CHECKPOINT"):
        return
    shipped = root / "checkpoints" / "default"
    if shipped.is_dir():
        os.environ["MUSER_CHECKPOINT"] = str(shipped)


def selftest() -> int:
    """Generate a 4-bar piece with the shipped model, save it as MIDI, parse it back."""
    import pretty_midi

    from musER.api import GenerationRequest, MusER, default_checkpoint

    started = time.perf_counter()
    print(f"selftest: checkpoint {default_checkpoint()}", flush=True)
    model = MusER.load()
    pieces = model.generate(GenerationRequest(bars=4))
    if not pieces:
        print("selftest FAILED: the model returned no piece", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="muser-selftest-") as tmp:
        path = pieces[0].save_midi(Path(tmp) / "selftest.mid")
        midi = pretty_midi.PrettyMIDI(str(path))
        notes = sum(len(inst.notes) for inst in midi.instruments)
        seconds = midi.get_end_time()
    if notes == 0:
        print("selftest FAILED: the written MIDI file has no notes", file=sys.stderr)
        return 1
    from gui import audio

    engine = audio.best_engine()
    sound = audio.render(pieces[0], 22_050, engine)
    if not sound.any():
        print(f"selftest FAILED: the {engine} synthesiser rendered silence", file=sys.stderr)
        return 1
    print(f"selftest ok: {notes} notes, {seconds:.1f} s of music (sound: {engine}), "
          f"{time.perf_counter() - started:.1f} s in all")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _point_at_shipped_checkpoint()
    if args[:1] == ["--selftest"]:
        return selftest()
    if not args or args[0] == "gui":
        from gui.app import main as gui_main

        return gui_main(args[1:])
    from musER.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
