"""`muser`: the headless command line. Each subcommand maps onto a facade or library call.

main(argv) returns an exit code; library errors become one-line messages (exit 2).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .atomic import atomic_path
from .errors import ConfigError, MidiReadError, MusERError


def _va_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--valence", type=float, help="valence in [-1, 1] (negative = sad/tense, positive = happy/calm)")
    p.add_argument("--arousal", type=float, help="arousal in [-1, 1] (negative = calm/sad, positive = excited/tense)")
    p.add_argument("--quadrant", help="Q1 happy, Q2 tense, Q3 sad, Q4 calm (instead of --valence/--arousal)")


def _resolve_va(args, required: bool = True) -> tuple[float | None, float | None]:
    from .elements import Quadrant, check_va

    if args.quadrant:
        if args.valence is not None or args.arousal is not None:
            raise ConfigError("give either --quadrant or --valence/--arousal, not both")
        return Quadrant.parse(args.quadrant).va
    if args.valence is None and args.arousal is None and not required:
        return None, None
    if args.valence is None or args.arousal is None:
        raise ConfigError("give both --valence and --arousal (or --quadrant)")
    return check_va(args.valence, args.arousal)


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise MusERError(f"cannot write to {path}: {exc.strerror or exc}") from None
    return path


def _element_values(items: list[str] | None, flag: str) -> dict[str, float]:
    """NAME=VALUE items of a per-element flag (--element-temperature, --element-top-p) as a dict;
    the values' ranges are checked by GenerationRequest."""
    from .elements import parse_elements

    out = {}
    for item in items or []:
        name, _, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not name.strip():
            raise ConfigError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[parse_elements([name])[0]] = value  # an unknown name is told the known ones
    return out


def _shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard takes i/n (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {text}: need 0 <= i < n")
    return i, n


def cmd_generate(args) -> int:
    from .api import MAX_VARIATIONS

    shard, shards = _shard(args.shard)
    if args.n < 1 or not 1 <= args.batch <= MAX_VARIATIONS:
        raise ConfigError(f"-n must be at least 1 and --batch from 1 to {MAX_VARIATIONS}")
    # bad settings fail before a folder is made or the model loads (a batch is one request)
    _generation_request(args, min(args.n, args.batch), args.seed)
    out = _writable_dir(Path(args.out))
    manifest = out / ("manifest.csv" if shards == 1 else f"manifest-{shard}of{shards}.csv")
    kept = _pieces_to_keep(manifest, out) if args.resume else []
    rows = generate_into(args, out, shard, shards, manifest, kept)
    if not rows:  # a shard with no batch of its own still says so
        _write_csv(manifest, rows)
    print(f"wrote {len(rows) - len(kept)} piece(s) and {manifest}" + (f" (kept {len(kept)})" if kept else ""))
    return 0


def _pieces_to_keep(manifest: Path, out: Path) -> list[dict]:
    """--resume: the rows of an earlier run's manifest whose files are still there."""
    if not manifest.is_file():
        return []
    try:
        with manifest.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MusERError(f"--resume: cannot read {manifest}: {exc}") from None
    return [r for r in rows if r.get("file") and (out / r["file"]).is_file()]


def _generation_request(args, n: int, seed: int):
    from .api import GenerationRequest

    valence, arousal = _resolve_va(args)
    return GenerationRequest(valence, arousal, args.bars, n, seed, args.temperature, args.top_p,
                             _element_values(args.element_temperature, "--element-temperature"),
                             *_guidance(args, GenerationRequest), key_lock=not args.no_key_lock,
                             pedal=not args.no_pedal, spread_chords=not args.no_spread, repeats=not args.no_repeats,
                             element_top_p=_element_values(args.element_top_p, "--element-top-p"))


def batch_seed(seed: int, k: int) -> int:
    """The seed of a command's k-th batch of pieces: the command's own for the first (one batch
    composes as `MusER.generate` does with that seed), one drawn from (seed, k) for the others, so
    that two seeds share no batch (seed + k made seed 8's first batch seed 7's second)."""
    if k == 0:
        return seed
    return int.from_bytes(hashlib.sha256(f"{seed}/{k}".encode()).digest()[:8], "big") >> 1


def generate_into(args, out: Path, shard: int = 0, shards: int = 1, manifest: Path | None = None,
                  kept: Sequence[dict] = ()) -> list[dict]:
    """Compose args.n pieces into `out` (this shard's batches); returns manifest rows. A
    `manifest` is rewritten after every piece, so that a run stopped half way (a full disk,
    Ctrl+C) leaves one that lists exactly the files it wrote. The pieces of `kept` rows (an
    earlier run of the same command) are not composed again: a batch's pieces depend only on
    its seed, so a resumed run writes what the whole run would have."""
    from tqdm import tqdm

    from .api import MusER
    from .elements import va_to_quadrant

    valence, arousal = _resolve_va(args)
    quadrant = va_to_quadrant(valence, arousal).name
    settings = sampling_label(_generation_request(args, 1, args.seed))
    names = [f"{quadrant}_{i + 1:04d}.mid" for i in range(args.n)]
    batches = [list(range(s, min(s + args.batch, args.n))) for s in range(0, args.n, args.batch)]
    mine = [(k, b) for k, b in enumerate(batches) if k % shards == shard]
    have = _check_kept(kept, args, names, mine, valence, arousal, settings)
    if not args.overwrite:
        clash = [names[i] for _, b in mine for i in b if names[i] not in have and (out / names[i]).exists()]
        if clash:
            raise MusERError(f"{out / clash[0]} exists ({len(clash)} file(s)); pass --overwrite to replace")
    mine = [(k, b) for k, b in mine if any(names[i] not in have for i in b)]
    rows = list(kept)
    if not mine:
        return rows
    model = MusER.load(args.checkpoint, args.device)
    bar = tqdm(total=sum(len(b) for _, b in mine) * args.bars, unit="bar", file=sys.stderr, desc=quadrant)
    for k, batch in mine:
        seed = batch_seed(args.seed, k)
        request = _generation_request(args, len(batch), seed)
        done = [0]
        size = len(batch)

        def progress(step: int, total: int, done=done, size=size) -> None:
            bar.update((step - done[0]) * size)
            done[0] = step

        for i, piece in zip(batch, model.generate(request, progress)):
            if names[i] in have:
                continue
            piece.save_midi(out / names[i], overwrite=args.overwrite)
            rows.append({"file": names[i], "valence": valence, "arousal": arousal, "quadrant": quadrant,
                         "seed": seed, "bars": piece.n_bars, "seconds": round(piece.seconds, 2),
                         "notes": piece.n_notes, "settings": settings})
            rows.sort(key=lambda row: row["file"])
            if manifest is not None:
                _write_csv(manifest, rows)
        bar.update((args.bars - done[0]) * len(batch))
    bar.close()
    return rows


def sampling_label(request) -> str:
    """How a request samples and renders (all but emotion, length, count and seed), as one manifest
    cell: a resumed run must compose as the run it continues."""
    fields = dataclasses.asdict(request)
    for name in ("valence", "arousal", "bars", "n", "seed"):
        del fields[name]
    return json.dumps(fields, sort_keys=True, separators=(",", ":"))


def _check_kept(kept: Sequence[dict], args, names: list[str], mine: list, valence: float, arousal: float,
                settings: str) -> set[str]:
    """The files of the kept rows, after checking that this command would have written them
    (manifests written before settings were recorded are checked without them)."""
    seed_of = {names[i]: batch_seed(args.seed, k) for k, b in mine for i in b}
    for row in kept:
        try:
            same = (row["file"] in seed_of and int(row["seed"]) == seed_of[row["file"]]
                    and int(row["bars"]) == args.bars and float(row["valence"]) == valence
                    and float(row["arousal"]) == arousal and row.get("settings", settings) == settings)
        except (KeyError, TypeError, ValueError):
            same = False
        if not same:
            raise MusERError(f"--resume: the manifest lists {row.get('file')!r} from another command (other "
                             "emotion, seed, length, count, shard or sampling settings); resume with that command "
                             "or use another --out")
    return {row["file"] for row in kept}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path, ".csv.part") as tmp, tmp.open("w", newline="") as fh:
        # every row's columns (rows kept from an older manifest may lack the newer ones)
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for row in rows for k in row)) or ["file"])
        writer.writeheader()
        writer.writerows(rows)


def cmd_transfer(args) -> int:
    from .api import MusER

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise MusERError(f"{out} exists; pass --overwrite to replace it")
    _writable_dir(out.parent if str(out.parent) else Path("."))
    valence, arousal = _resolve_va(args, required=args.reference is None)
    model = MusER.load(args.checkpoint, args.device)
    piece = model.transfer(args.input, args.elements, reference=args.reference, valence=valence,
                           arousal=arousal, seed=args.seed)
    piece.save_midi(out, overwrite=args.overwrite)
    print(f"wrote {out} ({piece.n_bars} bars, {piece.n_notes} notes, {piece.seconds:.1f} s)")
    return 0


def cmd_latents(args) -> int:
    from .api import MusER, load_piece
    from .elements import ELEMENTS

    model = MusER.load(args.checkpoint, args.device)
    files, pieces = [], []
    for f in args.files:  # an unreadable file is named and skipped; the others are still placed
        try:
            pieces.append(load_piece(f))
            files.append(f)
        except MusERError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
    if not pieces:
        raise MidiReadError("none of the files could be read")
    vectors = model.latent_vectors(pieces)
    points = model.map_points(vectors)  # the pieces are encoded once
    rows = []
    for i, f in enumerate(files):
        row = {"file": f}
        for e in ELEMENTS:
            row[f"{e}_x"], row[f"{e}_y"] = (round(float(v), 4) for v in points[e][i])
            row[f"{e}_norm"] = round(float((vectors[e][i] ** 2).sum() ** 0.5), 4)
        rows.append(row)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    if args.silhouette:
        ref = model.reference_map()
        print("\nsilhouette of EMOPIA clips per element slice and quadrant pair:")
        for e, scores in ref.silhouette.items():
            print(f"  {e:9s} " + "  ".join(f"{k} {v:+.3f}" for k, v in scores.items()))
    return 1 if len(files) < len(args.files) else 0


def cmd_inspect(args) -> int:
    import json

    from .api import default_checkpoint
    from .checkpoint import read_meta

    meta = read_meta(Path(args.checkpoint) if args.checkpoint else default_checkpoint())
    meta.pop("reference_map", None)
    print(json.dumps(meta, indent=1))
    return 0


def cmd_data_stats(args) -> int:
    from .data_stats import print_stats

    print_stats(args.data, args.cache)
    return 0


def cmd_evaluate(args) -> int:
    """`evaluate DIR [--generate N]`: optionally compose N pieces per quadrant first."""
    if args.generate:
        from .api import GenerationRequest
        from .elements import Quadrant

        asks = [argparse.Namespace(
            valence=q.va[0], arousal=q.va[1], quadrant=None, n=args.generate, bars=args.bars, seed=args.seed,
            temperature=GenerationRequest.temperature, top_p=GenerationRequest.top_p, guidance=args.guidance,
            valence_guidance=args.valence_guidance, no_key_lock=args.no_key_lock, no_pedal=args.no_pedal,
            no_spread=args.no_spread, no_repeats=args.no_repeats, element_temperature=None, element_top_p=None,
            batch=8, overwrite=args.overwrite, checkpoint=args.checkpoint, device="auto") for q in Quadrant]
        _generation_request(asks[0], min(args.generate, asks[0].batch), args.seed)  # fail before a folder is made
        out = _writable_dir(Path(args.dir))
        rows = [row for ask in asks for row in generate_into(ask, out)]
        _write_csv(out / "manifest.csv", rows)
    return args.evaluate(args)


def cmd_train(args) -> int:
    from .train_pipeline import run_training

    return run_training(args)


def _guidance_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--guidance", type=float,
                        help="emotion guidance (1 = none, >1 = stronger emotion; default: the library's, 3)")
    parser.add_argument("--valence-guidance", type=float,
                        help="extra push away from the opposite valence (0 = none; default: the library's, 2)")
    parser.add_argument("--no-key-lock", action="store_true",
                        help="let notes leave the key the piece has set up (by default they keep to it, but for "
                             "notes the decoder wants far more)")
    parser.add_argument("--no-pedal", action="store_true",
                        help="notes held as long as decoded, without the sustain pedal (changed every half bar, every "
                             "beat in happy music)")
    parser.add_argument("--no-spread", action="store_true",
                        help="every chord's notes struck at once, on the grid (by default with the few milliseconds "
                             "between them of a real chord of EMOPIA's)")
    parser.add_argument("--no-repeats", action="store_true",
                        help="no bar replays an earlier bar (by default some replay one's rhythm with new notes, a "
                             "few the whole bar, as EMOPIA's bars do)")


def _guidance(args, request_class) -> tuple[float, float]:
    """The asked guidance, else GenerationRequest's defaults (one place for both)."""
    return (request_class.guidance if args.guidance is None else args.guidance,
            request_class.valence_guidance if args.valence_guidance is None else args.valence_guidance)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="muser", description="MusER Studio: emotional piano music, headless.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="compose N pieces of a chosen emotion")
    _va_args(g, True)
    g.add_argument("-n", type=int, default=1, help="number of pieces")
    g.add_argument("--bars", type=int, default=16, help="length in bars (1-64)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--top-p", type=float, default=0.9, help="nucleus of the prior's codes (1 = the whole distribution)")
    _guidance_args(g)
    g.add_argument("--element-temperature", action="append", metavar="NAME=T", help="per-element temperature factor")
    g.add_argument("--element-top-p", action="append", metavar="NAME=P",
                   help="top-p of one element's codes instead of --top-p (e.g. pitch=0.7)")
    g.add_argument("--batch", type=int, default=8, help="pieces decoded together")
    g.add_argument("--shard", help="i/n: this job makes batches i, i+n, ... of the n jobs")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--overwrite", action="store_true")
    g.add_argument("--resume", action="store_true",
                   help="keep the pieces an earlier run of the same command listed in the manifest; compose the rest")
    g.set_defaults(func=cmd_generate)

    t = sub.add_parser("transfer", help="move elements of a reference (or a target emotion) into a piece")
    t.add_argument("input")
    t.add_argument("--reference", help="MIDI whose elements are taken")
    _va_args(t, False)
    t.add_argument("--elements", required=True,
                   help="comma list of tempo,chord,beat,type,pitch,duration,velocity; unless beat or type "
                        "is moved, every other element stays the input's")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True)
    t.add_argument("--overwrite", action="store_true")
    t.set_defaults(func=cmd_transfer)

    la = sub.add_parser("latents", help="per-element latent summary of MIDI files")
    la.add_argument("files", nargs="+", help="MIDI files; an unreadable one is named on stderr and skipped "
                    "(exit status 1)")
    la.add_argument("--silhouette", action="store_true", help="also print the EMOPIA silhouette table")
    la.set_defaults(func=cmd_latents)

    ins = sub.add_parser("inspect", help="print a checkpoint's metadata")
    ins.set_defaults(func=cmd_inspect)

    d = sub.add_parser("data", help="dataset tools")
    dsub = d.add_subparsers(dest="data_command", required=True)
    st = dsub.add_parser("stats", help="token and note statistics per quadrant")
    st.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    st.add_argument("--cache", help="cache folder (default: $MUSER_CACHE or the user cache)")
    st.set_defaults(func=cmd_data_stats)

    from .train_pipeline import add_train_parser

    add_train_parser(sub, cmd_train)
    from .evaluate import add_parser as add_evaluate_parser

    ev = add_evaluate_parser(sub)
    ev.add_argument("--generate", type=int, metavar="N", help="first compose N pieces per quadrant into DIR")
    ev.add_argument("--bars", type=int, default=16, help="length of the pieces made by --generate")
    _guidance_args(ev)
    ev.add_argument("--seed", type=int, default=0, help="seed for --generate")
    ev.set_defaults(func=cmd_evaluate, evaluate=ev.get_default("func"))
    for name in ("generate", "transfer", "latents", "inspect", "evaluate"):
        p = sub.choices[name]
        p.add_argument("--checkpoint", help="checkpoint folder (default: the shipped model)")
        if name not in ("inspect", "evaluate"):
            p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except MusERError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
