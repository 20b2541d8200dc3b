"""`muser evaluate DIR`: objective metrics and emotion verdicts of a folder of pieces.

Every .mid in the folder is read (its asked quadrant from manifest.csv, else from a Q1..Q4
file-name prefix), measured with musER.metrics and judged by the emotion classifier. The
numbers are set against the same metrics of real EMOPIA clips of the same quadrant (val
split): a generated mean outside the real [5th, 95th] percentile range is flagged. Outputs:
evaluation.md (the tables), pieces.csv (one row per piece) and metrics.png (distributions).
Real-clip metrics are cached (they cost seconds of beat tracking).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_path, write_text
from .data import cache_dir, data_dir, quadrant_of, split_files
from .elements import va_to_quadrant
from .emotion_classifier import DEFAULT_PATH, EmotionClassifier
from .errors import DataError, MusERError
from .metrics import METRIC_NAMES, piece_from_midi, piece_metrics
from .piece import Piece

log = logging.getLogger(__name__)
METRICS_VERSION = "metrics-v1"  # bump when musER.metrics changes its numbers
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
REAL_SPLIT = "val"
OUTPUT_NAMES = {"table": "evaluation.md", "csv": "pieces.csv", "plot": "metrics.png"}


@dataclass
class Summary:
    """Distribution of one metric over a group of pieces."""

    mean: float
    std: float
    p5: float
    p95: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        v = np.asarray(values, dtype=float)
        p5, p95 = np.percentile(v, [5, 95])
        return cls(float(v.mean()), float(v.std()), float(p5), float(p95), len(v))


@dataclass
class EvalReport:
    """Everything `evaluate_dir` measured, and where it wrote the outputs."""

    rows: list[dict]  # one per piece: file, quadrant, metrics, judged_* (when judged)
    generated: dict[str, dict[str, Summary]]  # quadrant -> metric -> summary
    real: dict[str, dict[str, Summary]]  # same for real clips; empty without EMOPIA
    out_of_range: list[tuple[str, str]]  # (quadrant, metric) with the generated mean outside real [p5, p95]
    distance: dict[str, float]  # quadrant -> distance_to_real (empty without a real reference)
    verdicts: dict[str, dict[str, float]]  # quadrant or "all" -> accuracies of the classifier's verdicts
    classifier_val: dict[str, float]  # the classifier's own accuracy on real val clips
    skipped: list[str] = field(default_factory=list)
    markdown: str = ""
    paths: dict[str, Path] = field(default_factory=dict)


def evaluate_dir(directory: str | Path, root: str | Path | None = None,
                 classifier: EmotionClassifier | str | Path | None = None,
                 out: str | Path | None = None, overwrite: bool = False) -> EvalReport:
    """Measure every .mid in `directory` and write evaluation.md, pieces.csv and metrics.png
    to `out` (default: DIRECTORY/evaluation).

    `root` is the EMOPIA folder (default $MUSER_DATA; without one there is no real
    reference). `classifier` is a model or its JSON path (default: the shipped one, if any).
    """
    directory = Path(directory)
    out = Path(out) if out else directory / "evaluation"
    paths = {k: out / name for k, name in OUTPUT_NAMES.items()}
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise MusERError(f"{out} already holds {', '.join(existing)}; pass --overwrite to replace them")
    pieces, quadrants, skipped = load_folder(directory)
    rows = [{"file": p.name, "quadrant": q or "", "notes": p.n_notes, "bars": p.n_bars,
             "seconds": round(p.seconds, 3), **piece_metrics(p)} for p, q in zip(pieces, quadrants)]
    clf = _resolve_classifier(classifier)
    verdicts = _judge(clf, pieces, rows) if clf else {}
    real_rows = _real_reference(root)
    generated, real = _summaries(rows), _summaries(real_rows)
    report = EvalReport(rows, generated, real, _out_of_range(generated, real), distance_to_real(generated, real),
                        verdicts, dict(clf.val_accuracy) if clf else {}, skipped)
    report.markdown = to_markdown(report, directory, len(real_rows))
    out.mkdir(parents=True, exist_ok=True)
    write_text(paths["table"], report.markdown)
    write_text(paths["csv"], _to_csv(rows))
    plot_distributions(rows, real_rows, paths["plot"])
    report.paths = paths
    return report


def load_folder(directory: Path) -> tuple[list[Piece], list[str | None], list[str]]:
    """Pieces of the folder's .mid files, their asked quadrants, and 'file: reason' of skipped ones."""
    if not directory.is_dir():
        raise MusERError(f"{directory}: no such folder")
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise MusERError(f"{directory}: no .mid files to evaluate")
    asked = read_manifest(directory / "manifest.csv")
    pieces, quadrants, skipped = [], [], []
    for f in files:
        try:
            pieces.append(piece_from_midi(f))
        except MusERError as exc:
            log.warning("skipped %s", exc)
            skipped.append(f"{f.name}: {exc}")
            continue
        quadrants.append(asked.get(f.name) or _quadrant_from_name(f.name))
    if not pieces:
        raise MusERError(f"{directory}: none of the {len(files)} MIDI files could be read")
    return pieces, quadrants, skipped


def asked_pieces(directories) -> list[tuple[Piece, str]]:
    """(piece, asked quadrant) of the readable pieces of several folders whose quadrant is known
    (manifest.csv or a Q1..Q4 name prefix), for the benches that judge them."""
    pairs = []
    for directory in directories:
        pieces, quadrants, _ = load_folder(Path(directory))
        pairs += [(piece, q) for piece, q in zip(pieces, quadrants) if q is not None]
    if not pairs:
        raise MusERError("no piece has an asked quadrant: name files Q1_..., or keep the manifest.csv "
                         "`muser generate` wrote")
    return pairs


def read_manifest(path: Path) -> dict[str, str]:
    """file name -> asked quadrant, from a `muser generate` manifest.csv (empty if absent)."""
    if not path.is_file():
        return {}
    asked = {}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            name = Path(row.get("file") or "").name
            quad = (row.get("quadrant") or "").strip().upper()
            if quad not in QUADRANTS and row.get("valence") and row.get("arousal"):
                quad = va_to_quadrant(float(row["valence"]), float(row["arousal"])).name
            if name and quad in QUADRANTS:
                asked[name] = quad
    return asked


def _quadrant_from_name(name: str) -> str | None:
    try:
        return quadrant_of(name)
    except DataError:
        return None


def _resolve_classifier(classifier: EmotionClassifier | str | Path | None) -> EmotionClassifier | None:
    if isinstance(classifier, EmotionClassifier):
        return classifier
    if classifier is not None:
        return EmotionClassifier.load(classifier)
    if DEFAULT_PATH.is_file():
        return EmotionClassifier.load(DEFAULT_PATH)
    log.warning("no emotion classifier at %s; emotion verdicts are left out", DEFAULT_PATH)
    return None


def _judge(clf: EmotionClassifier, pieces: list[Piece], rows: list[dict]) -> dict[str, dict[str, float]]:
    """Add the classifier's verdict to each row; accuracies against the asked quadrant."""
    judgeable = [i for i, p in enumerate(pieces) if p.n_notes >= 2]
    for i, verdict in zip(judgeable, clf.judge([pieces[i] for i in judgeable])):
        rows[i].update({f"judged_{k}": v for k, v in verdict.items()})
    hits: dict[str, list[tuple[bool, bool, bool]]] = {}
    for row in rows:
        hit = verdict_hits(row)
        if hit is None:
            continue
        hits.setdefault(row["quadrant"], []).append(hit)
        hits.setdefault("all", []).append(hit)
    return {k: {"quadrant": float(np.mean([h[0] for h in v])), "arousal": float(np.mean([h[1] for h in v])),
                "valence": float(np.mean([h[2] for h in v])), "n": len(v),
                "quadrant_interval": wilson_interval(sum(h[0] for h in v), len(v))} for k, v in hits.items()}


def verdict_hits(row: dict) -> tuple[bool, bool, bool] | None:
    """(quadrant, arousal, valence) verdicts of one row against its asked quadrant; None for a row
    with no asked quadrant or no verdict. Works on rows as judged and as read back from pieces.csv."""
    asked = row.get("quadrant")
    if asked not in QUADRANTS or not row.get("judged_quadrant"):
        return None
    n = QUADRANTS.index(asked)
    return (row["judged_quadrant"] == asked, (str(row["judged_arousal_high"]) == "True") == (n in (0, 1)),
            (str(row["judged_valence_high"]) == "True") == (n in (0, 3)))


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a share of hits out of n (stays inside [0, 1] at 0 and n)."""
    if n == 0:
        return 0.0, 1.0
    share = hits / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def real_metrics(root: str | Path | None = None, split: str = REAL_SPLIT) -> list[dict]:
    """Metric rows of real EMOPIA clips of a split (cached by file list and METRICS_VERSION)."""
    root = data_dir(root)
    files = split_files(root, split)
    stamp = hashlib.sha256(f"{METRICS_VERSION}:{split}:".encode() + "".join(
        f"{f.name}:{f.stat().st_size}" for f in files).encode()).hexdigest()[:12]
    target = cache_dir() / f"emopia-metrics-{split}-{stamp}.json"
    if target.is_file():
        return json.loads(target.read_text())
    rows = []
    for f in files:
        try:
            metrics = piece_metrics(piece_from_midi(f))
            rows.append({"file": f.name, "quadrant": quadrant_of(f.name), **metrics})
        except MusERError as exc:
            log.warning("skipped real clip %s", exc)
    write_text(target, json.dumps(rows))
    return rows


def _real_reference(root: str | Path | None) -> list[dict]:
    """Real-clip rows, or none (with a warning) when no EMOPIA folder is configured."""
    if root is None:
        try:
            root = data_dir(None)
        except DataError as exc:
            log.warning("no real reference: %s", exc)
            return []
    return real_metrics(root)


def _summaries(rows: list[dict]) -> dict[str, dict[str, Summary]]:
    """Per quadrant (and 'all'), the Summary of every metric."""
    groups: dict[str, list[dict]] = {q: [r for r in rows if r["quadrant"] == q] for q in QUADRANTS}
    groups["all"] = rows
    return {q: {m: Summary.of([r[m] for r in g]) for m in METRIC_NAMES} for q, g in groups.items() if g}


def _out_of_range(generated: dict, real: dict) -> list[tuple[str, str]]:
    return [(q, m) for q in QUADRANTS if q in generated and q in real for m in METRIC_NAMES
            if not real[q][m].p5 <= generated[q][m].mean <= real[q][m].p95]


def distance_to_real(generated: dict, real: dict) -> dict[str, float]:
    """Per quadrant: how far the generated means are from the real ones, in real standard
    deviations, averaged over the metrics (those with no spread in real music left out)."""
    distance = {}
    for q in generated:
        gaps = [abs(generated[q][m].mean - real[q][m].mean) / real[q][m].std
                for m in METRIC_NAMES if q in real and real[q][m].std > 0]
        if gaps:
            distance[q] = float(np.mean(gaps))
    return distance


def to_markdown(report: EvalReport, directory: Path, n_real: int) -> str:
    """The report's tables as Markdown."""
    lines = [f"# MusER evaluation of {directory}", "",
             f"{len(report.rows)} pieces" + (f", {len(report.skipped)} skipped" if report.skipped else "")
             + (f"; real reference: {n_real} EMOPIA {REAL_SPLIT} clips" if n_real
                else "; no real reference (no EMOPIA folder)")
             + ".", "", "## Metrics per quadrant (generated vs real)", "",
             "| quadrant | metric | generated mean ± std | real mean ± std | real [p5, p95] | in range |",
             "|---|---|---|---|---|---|"]
    flagged = set(report.out_of_range)
    for q, stats in report.generated.items():
        for m in METRIC_NAMES:
            g, r = stats[m], report.real.get(q, {}).get(m)
            real_cells = f"{r.mean:.3f} ± {r.std:.3f} | [{r.p5:.3f}, {r.p95:.3f}]" if r else "– | –"
            verdict = "–" if r is None else ("**no**" if (q, m) in flagged else "yes")
            lines.append(f"| {q} (n={g.n}) | {m} | {g.mean:.3f} ± {g.std:.3f} | {real_cells} | {verdict} |")
    if report.distance:
        lines += ["", "## Distance to real music", "",
                  "Mean over the metrics of |generated mean - real mean| / real std (0 = real-like):", "",
                  "| quadrant | distance |", "|---|---|"]
        lines += [f"| {q} | {d:.3f} |" for q, d in report.distance.items()]
    lines += ["", "## Emotion classifier verdicts (against the asked quadrant)", ""]
    if report.verdicts:
        lines += ["| asked | n | quadrant acc | arousal acc | valence acc | quadrant acc, 95 % interval |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {k} | {v['n']} | {v['quadrant']:.3f} | {v['arousal']:.3f} | {v['valence']:.3f} | "
                  f"{v['quadrant_interval'][0]:.2f}-{v['quadrant_interval'][1]:.2f} |"
                  for k, v in sorted(report.verdicts.items())]
        lines += ["", ("The interval is the 95 % Wilson score interval of the share: "
                      "the noise of judging this many pieces.")]
    else:
        lines.append("No verdicts: no classifier, or no piece with an asked quadrant.")
    if report.classifier_val:
        cv = report.classifier_val
        lines += ["", (f"The classifier on real EMOPIA {REAL_SPLIT} clips (n={cv.get('n', '?')}): quadrant "
                       f"{cv['quadrant']:.3f}, arousal {cv['arousal']:.3f}, valence {cv['valence']:.3f}.")]
    if report.skipped:
        lines += ["", "## Skipped files", ""] + [f"- {s}" for s in report.skipped]
    return "\n".join(lines) + "\n"


def _to_csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def plot_distributions(rows: list[dict], real_rows: list[dict], path: Path) -> Path:
    """Box plots of every metric per quadrant, real (blue) next to generated (orange)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(12, 9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(3, 3).ravel()
    sources = ((-0.18, real_rows, "tab:blue"), (0.18, rows, "tab:orange"))
    for ax, metric in zip(axes, METRIC_NAMES):
        for offset, source, colour in sources:
            groups = [(k, [r[metric] for r in source if r["quadrant"] == q]) for k, q in enumerate(QUADRANTS)]
            groups = [(k, v) for k, v in groups if v]
            if groups:
                ax.boxplot([v for _, v in groups], positions=[k + offset for k, _ in groups], widths=0.3,
                           patch_artist=True, showfliers=False, boxprops={"facecolor": colour})
        ax.set_xticks(range(4), QUADRANTS)
        ax.set_title(metric, fontsize=10)
    fig.legend(handles=[Patch(facecolor="tab:blue", label="real EMOPIA"),
                        Patch(facecolor="tab:orange", label="generated")], loc="upper center", ncols=2)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.04, top=0.92, hspace=0.3, wspace=0.2)
    with atomic_path(path, ".png.part") as tmp:
        fig.savefig(tmp, format="png", dpi=72)
    return path


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `evaluate DIR [--data DIR] [--out DIR] [--classifier PATH] [--overwrite]`."""
    p = subparsers.add_parser("evaluate", help="metrics and emotion verdicts of a folder of MIDI files",
                              description=__doc__.splitlines()[0])
    p.add_argument("dir", type=Path, help="folder of .mid files (with manifest.csv, or Q1..Q4 name prefixes)")
    p.add_argument("--data", help="EMOPIA folder for the real reference (default: $MUSER_DATA)")
    p.add_argument("--out", type=Path, help="where to write the report (default: DIR/evaluation)")
    p.add_argument("--classifier", type=Path,
                   help=f"emotion classifier JSON (default: checkpoints/{DEFAULT_PATH.name})")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier report")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run the evaluate subcommand: print the Markdown report; 0 on success, 2 on a clear error."""
    try:
        report = evaluate_dir(args.dir, root=args.data, classifier=args.classifier, out=args.out,
                              overwrite=args.overwrite)
    except MusERError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(report.markdown)
    sys.stdout.write(f"\nwrote {', '.join(str(p) for p in report.paths.values())}\n")
    return 0
