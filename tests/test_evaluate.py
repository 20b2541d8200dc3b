"""`evaluate_dir` and the `muser evaluate` subcommand on synthetic and real EMOPIA pieces."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from musER import evaluate
from musER.emotion_classifier import EmotionClassifier, note_features
from musER.errors import MusERError
from musER.metrics import METRIC_NAMES
from musER.piece import Piece

BAR_S = 2.4  # 100 BPM, so written files carry a real tempo map and need no beat tracking
STYLE = {"Q1": (8, 85, 64), "Q2": (8, 85, 63), "Q3": (2, 50, 63), "Q4": (2, 50, 64)}  # notes/beat-ish, velocity, third


def emopia_root() -> Path | None:
    """EMOPIA from $MUSER_DATA or ../shared/data/emopia beside the repository, if present."""
    raw = os.environ.get("MUSER_DATA")
    path = Path(raw) if raw else Path(__file__).resolve().parents[1].parent / "shared" / "data" / "emopia"
    return path if (path / "midis").is_dir() and (path / "split").is_dir() else None


def _piece(quadrant: str, seed: int) -> Piece:
    per_bar, velocity, third = STYLE[quadrant]
    onsets = np.arange(4 * per_bar) * BAR_S / per_bar
    pitches = np.array([60, third, 67, 72])[np.arange(len(onsets)) % 4] + seed % 3
    notes = np.stack([onsets, onsets + BAR_S / per_bar, pitches, np.full(len(onsets), velocity)], axis=1)
    return Piece(notes, np.arange(5) * BAR_S, name=f"{quadrant}-{seed}")


def _classifier_for(pieces: list[Piece], quadrants: list[str]) -> EmotionClassifier:
    x = np.stack([note_features(p.notes) for p in pieces])
    labels = np.array([int(q[1]) - 1 for q in quadrants])
    return EmotionClassifier.fit(x, labels, groups=np.arange(len(labels)), c_grid=(0.1,))


@pytest.fixture(scope="module")
def generated_dir(tmp_path_factory) -> tuple[Path, EmotionClassifier]:
    """Eight synthetic pieces named without quadrant prefixes, asked quadrants in manifest.csv
    (half by the quadrant column, half by valence/arousal), and a classifier fitted on them."""
    folder = tmp_path_factory.mktemp("generated")
    quadrants = [q for q in STYLE for _ in range(2)]
    pieces = [_piece(q, i) for i, q in enumerate(quadrants)]
    with (folder / "manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "valence", "arousal", "quadrant", "seed", "bars", "seconds", "notes"])
        for i, (p, q) in enumerate(zip(pieces, quadrants)):
            p.save_midi(folder / f"piece_{i:03d}.mid")
            va = {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}[q]
            writer.writerow([f"piece_{i:03d}.mid", *va, q if i % 2 == 0 else "", i, 4, p.seconds, p.n_notes])
    return folder, _classifier_for(pieces, quadrants)


def test_manifest_quadrants_and_outputs_without_emopia(generated_dir, monkeypatch):
    monkeypatch.delenv("MUSER_DATA", raising=False)
    folder, clf = generated_dir
    report = evaluate.evaluate_dir(folder, classifier=clf)
    assert [r["quadrant"] for r in report.rows] == [q for q in STYLE for _ in range(2)]
    assert report.real == {} and report.out_of_range == [] and report.distance == {}
    assert set(report.verdicts) == {"Q1", "Q2", "Q3", "Q4", "all"} and report.verdicts["all"]["n"] == 8
    assert report.generated["Q1"]["grooving_similarity"].mean == 1.0
    for path in report.paths.values():
        assert path.is_file() and path.parent == folder / "evaluation"
    assert report.paths["plot"].read_bytes()[:4] == b"\x89PNG"
    with report.paths["csv"].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and set(METRIC_NAMES) <= set(rows[0]) and "judged_quadrant" in rows[0]
    assert "| quadrant | metric |" in report.paths["table"].read_text()


def test_existing_report_needs_overwrite(generated_dir, tmp_path):
    folder, clf = generated_dir
    (tmp_path / "evaluation.md").write_text("an earlier report")
    with pytest.raises(MusERError, match="overwrite"):
        evaluate.evaluate_dir(folder, classifier=clf, out=tmp_path)
    assert (tmp_path / "evaluation.md").read_text() == "an earlier report"


def test_cli_subcommand(generated_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MUSER_DATA", raising=False)
    folder, clf = generated_dir
    clf_path = clf.save(tmp_path / "clf.json")
    parser = argparse.ArgumentParser(prog="muser")
    evaluate.add_parser(parser.add_subparsers())
    args = parser.parse_args(["evaluate", str(folder), "--classifier", str(clf_path), "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    assert "## Emotion classifier verdicts" in capsys.readouterr().out
    args = parser.parse_args(["evaluate", str(tmp_path / "absent")])
    assert args.func(args) == 2
    assert "no such folder" in capsys.readouterr().err


@pytest.mark.emopia
@pytest.mark.skipif(emopia_root() is None,
                    reason="needs the EMOPIA data folder: set MUSER_DATA or place it at ../shared/data/emopia")
def test_real_clips_against_a_small_real_reference(tmp_path, monkeypatch):
    source = emopia_root()
    monkeypatch.setenv("MUSER_CACHE", str(tmp_path / "cache"))
    real_root = tmp_path / "emopia"
    (real_root / "midis").mkdir(parents=True)
    (real_root / "split").mkdir()
    picks = {"train": [], "val": []}
    for split in picks:
        with (source / "split" / f"{split}_clip.csv").open() as fh:
            names = [row["clip_name"] for row in csv.DictReader(fh)]
        picks[split] = [next(n for n in names if n.startswith(q)) for q in STYLE]
    (real_root / "split" / "val_clip.csv").write_text(",clip_name\n" + "".join(
        f"{i},{n}\n" for i, n in enumerate(picks["val"])))
    for name in picks["val"]:
        shutil.copy(source / "midis" / name, real_root / "midis" / name)
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in picks["train"]:
        shutil.copy(source / "midis" / name, folder / name)
    real_pieces = [evaluate.piece_from_midi(real_root / "midis" / n) for n in picks["val"]]
    clf = _classifier_for(real_pieces, [n[:2] for n in picks["val"]])

    report = evaluate.evaluate_dir(folder, root=real_root, classifier=clf)

    assert [r["quadrant"] for r in report.rows] == list(STYLE)  # from the Q1..Q4 name prefixes
    assert set(report.real) == {"Q1", "Q2", "Q3", "Q4", "all"} and report.real["all"]["polyphony"].n == 4
    assert all(isinstance(q, str) and m in METRIC_NAMES for q, m in report.out_of_range)
    assert set(report.distance) <= set(report.generated) and "Distance to real music" in report.markdown
    assert report.verdicts["all"]["n"] == 4
    assert all(p.is_file() for p in report.paths.values())
    assert list((tmp_path / "cache").glob("emopia-metrics-val-*.json"))  # real metrics were cached


def test_distance_to_real_counts_real_standard_deviations():
    def summaries(mean, std):
        return {"Q1": {m: evaluate.Summary(mean, std, 0.0, 1.0, 10) for m in METRIC_NAMES}}

    real = summaries(1.0, 2.0)
    assert evaluate.distance_to_real(summaries(1.0, 5.0), real) == {"Q1": 0.0}
    assert evaluate.distance_to_real(summaries(-3.0, 0.1), real) == {"Q1": 2.0}  # 4 below, std 2
    real["Q1"][METRIC_NAMES[0]] = evaluate.Summary(50.0, 0.0, 50.0, 50.0, 10)  # no spread: left out
    assert evaluate.distance_to_real(summaries(-3.0, 0.1), real) == {"Q1": 2.0}


def test_the_quadrant_accuracy_comes_with_its_95_percent_interval(generated_dir):
    assert evaluate.wilson_interval(8, 10) == pytest.approx((0.490, 0.943), abs=1e-3)
    assert evaluate.wilson_interval(0, 25)[0] == 0.0 and evaluate.wilson_interval(25, 25)[1] == 1.0
    folder, clf = generated_dir
    report = evaluate.evaluate_dir(folder, classifier=clf, out=folder / "with_interval")
    low, high = report.verdicts["all"]["quadrant_interval"]
    assert low <= report.verdicts["all"]["quadrant"] <= high
    assert f"{low:.2f}-{high:.2f}" in report.paths["table"].read_text()


def test_asked_pieces_pairs_pieces_of_several_folders_with_their_quadrants(generated_dir, tmp_path):
    folder, _ = generated_dir
    named = tmp_path / "named"
    named.mkdir()
    _piece("Q3", 0).save_midi(named / "Q3_0001.mid")
    _piece("Q1", 1).save_midi(named / "untold.mid")  # no manifest, no prefix: no asked quadrant
    pairs = evaluate.asked_pieces([folder, named])
    assert [q for _, q in pairs] == [q for q in STYLE for _ in range(2)] + ["Q3"]
    with pytest.raises(MusERError, match="no piece has an asked quadrant"):
        evaluate.asked_pieces([_untold(tmp_path)])


def _untold(tmp_path: Path) -> Path:
    folder = tmp_path / "untold"
    folder.mkdir()
    _piece("Q2", 2).save_midi(folder / "mine.mid")
    return folder
