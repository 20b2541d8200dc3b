"""The headless command line, in-process: files, manifest, overwrite protection, clear errors."""

from __future__ import annotations

import csv
import os

import pytest

from musER.cli import main
from musER.testing import synthetic_piece


def test_generate_writes_midi_and_manifest(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["generate", "--quadrant", "Q3", "-n", "3", "--bars", "2", "--batch", "2", "--seed", "7",
                 "--checkpoint", str(tiny_ckpt), "--out", str(out)])
    assert code == 0
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert [r["file"] for r in rows] == ["Q3_0001.mid", "Q3_0002.mid", "Q3_0003.mid"]
    assert {r["quadrant"] for r in rows} == {"Q3"} and rows[0]["valence"] == "-1.0"
    assert all((out / r["file"]).stat().st_size > 0 for r in rows)
    # the same command again needs --overwrite
    assert main(["generate", "--quadrant", "Q3", "-n", "3", "--bars", "2", "--checkpoint", str(tiny_ckpt),
                 "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_a_run_stopped_half_way_leaves_a_manifest_of_what_it_wrote(tiny_ckpt, tmp_path, monkeypatch, capsys):
    from musER.errors import MusERError
    from musER.piece import Piece

    real_save, saved = Piece.save_midi, []

    def disk_full_at_the_fourth(piece, path, overwrite=False):
        if len(saved) == 3:
            raise MusERError(f"could not write {path}: No space left on device")
        saved.append(path)
        return real_save(piece, path, overwrite)

    monkeypatch.setattr(Piece, "save_midi", disk_full_at_the_fourth)
    out = tmp_path / "full"
    assert main(["generate", "--quadrant", "Q2", "-n", "6", "--bars", "1", "--batch", "2",
                 "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 2
    assert "No space left" in capsys.readouterr().err
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert [r["file"] for r in rows] == ["Q2_0001.mid", "Q2_0002.mid", "Q2_0003.mid"]
    assert sorted(p.name for p in out.glob("*.mid")) == [r["file"] for r in rows]

    # --resume composes the rest, and the folder then holds what one whole run writes
    monkeypatch.setattr(Piece, "save_midi", real_save)
    command = ["generate", "--quadrant", "Q2", "-n", "6", "--bars", "1", "--batch", "2",
               "--checkpoint", str(tiny_ckpt)]
    assert main([*command, "--out", str(out)]) == 2  # without --resume the files are in the way
    assert "--overwrite" in capsys.readouterr().err
    assert main([*command, "--out", str(out), "--resume"]) == 0
    said = capsys.readouterr().out
    assert "wrote 3 piece(s)" in said and "(kept 3)" in said
    whole = tmp_path / "whole"
    assert main([*command, "--out", str(whole)]) == 0
    assert (out / "manifest.csv").read_text() == (whole / "manifest.csv").read_text()
    assert all((out / f.name).read_bytes() == f.read_bytes() for f in whole.glob("*.mid"))
    # another command's pieces are not taken as this one's, nor those sampled or rendered otherwise
    for other in (["--seed", "9"], ["--temperature", "1.2"], ["--no-spread"], ["--no-repeats"],
                  ["--element-top-p", "pitch=0.5"]):
        assert main([*command, *other, "--out", str(out), "--resume"]) == 2
        assert "from another command" in capsys.readouterr().err
    # a manifest written before settings were recorded is resumed on what it does record
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert {r["settings"] for r in rows} == {rows[0]["settings"]} and '"spread_chords":true' in rows[0]["settings"]
    assert '"repeats":true' in rows[0]["settings"]
    for f in ("Q2_0005.mid", "Q2_0006.mid"):
        (out / f).unlink()
    with (out / "manifest.csv").open("w", newline="") as fh:
        old_columns = [k for k in rows[0] if k != "settings"]
        writer = csv.DictWriter(fh, fieldnames=old_columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows[:4])
    assert main([*command, "--out", str(out), "--resume"]) == 0
    assert "(kept 4)" in capsys.readouterr().out
    assert all((out / f.name).read_bytes() == f.read_bytes() for f in whole.glob("*.mid"))


def test_no_pedal_writes_the_notes_as_decoded(tiny_ckpt, tmp_path):
    from musER.midi_io import read_midi

    def notes(*flags):
        out = tmp_path / ("dry" if flags else "pedalled")
        assert main(["generate", "--quadrant", "Q4", "--bars", "4", "--seed", "3", *flags,
                     "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
        return read_midi(out / "Q4_0001.mid").notes

    pedalled, dry = notes(), notes("--no-pedal")
    assert (pedalled[:, [0, 2]] == dry[:, [0, 2]]).all()  # the same notes, only longer
    assert (pedalled[:, 1] - pedalled[:, 0]).sum() > (dry[:, 1] - dry[:, 0]).sum()


def test_per_element_settings_reach_the_pieces(tiny_ckpt, tmp_path):
    from musER.midi_io import read_midi

    def notes(*flags):
        out = tmp_path / ("-".join(flags) or "plain")
        assert main(["generate", "--quadrant", "Q1", "--bars", "2", "--seed", "4", "--top-p", "0.8", *flags,
                     "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
        return read_midi(out / "Q1_0001.mid").notes

    plain = notes()
    # an element's own top-p equal to the overall one changes nothing
    assert (notes("--element-top-p", "pitch=0.8", "--element-temperature", "pitch=1") == plain).all()
    narrow = notes("--element-top-p", "pitch=0.05", "--element-top-p", "velocity=0.05")
    assert narrow.shape != plain.shape or not (narrow == plain).all()


def test_shards_split_the_batches(tiny_ckpt, tmp_path):
    out = tmp_path / "sharded"
    for shard in ("0/2", "1/2"):
        assert main(["generate", "--valence", "0.2", "--arousal", "0.9", "-n", "3", "--bars", "1", "--batch", "1",
                     "--shard", shard, "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.mid")) == ["Q1_0001.mid", "Q1_0002.mid", "Q1_0003.mid"]
    assert (out / "manifest-0of2.csv").is_file() and (out / "manifest-1of2.csv").is_file()


def test_two_seeds_share_no_batch_and_the_manifest_names_each_batch_seed(tiny_ckpt, tmp_path):
    from musER.cli import batch_seed

    assert batch_seed(7, 0) == 7
    seeds = {batch_seed(seed, k) for seed in range(50) for k in range(10)}
    assert len(seeds) == 500  # seed + k gave seed 8's first batch to seed 7 as its second
    out = tmp_path / "two"
    assert main(["generate", "--quadrant", "Q2", "-n", "2", "--bars", "1", "--batch", "1", "--seed", "7",
                 "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert [int(r["seed"]) for r in rows] == [7, batch_seed(7, 1)]


@pytest.mark.parametrize(("args", "message"), [
    (["--valence", "2", "--arousal", "0"], "valence must be in"),
    (["--valence", "0.5"], "both --valence and --arousal"),
    (["--quadrant", "Q5"], "unknown quadrant"),
    (["--quadrant", "Q1", "--bars", "100"], "bars must be"),
    (["--quadrant", "Q1", "--shard", "3/2"], "--shard"),
    (["--quadrant", "Q1", "--element-temperature", "pitchh=1.2"], "unknown element(s) ['pitchh']; choose from"),
    (["--quadrant", "Q1", "--element-temperature", "pitch=high"], "takes NAME=VALUE"),
    (["--quadrant", "Q1", "--element-temperature", "=1.2"], "takes NAME=VALUE"),
    (["--quadrant", "Q1", "--element-top-p", "pitch"], "--element-top-p takes NAME=VALUE"),
    (["--quadrant", "Q1", "--element-top-p", "veloctiy=0.5"], "unknown element(s) ['veloctiy']"),
    (["--quadrant", "Q1", "--element-top-p", "pitch=1.5"], "top_p of pitch must be in (0, 1]"),
])
def test_generate_rejects_bad_arguments(tiny_ckpt, tmp_path, capsys, args, message):
    assert main(["generate", *args, "--checkpoint", str(tiny_ckpt), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    assert main(["generate", "--quadrant", "Q1", "--checkpoint", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(tiny_ckpt, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["generate", "--quadrant", "Q1", "--checkpoint", str(tiny_ckpt), "--out", str(locked / "x")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_output_under_a_file_is_a_clear_error(tiny_ckpt, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", "--quadrant", "Q1", "--checkpoint", str(tiny_ckpt), "--out", str(blocker / "sub")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_transfer_command(tiny_ckpt, tmp_path, capsys):
    src = synthetic_piece(1).save_midi(tmp_path / "in.mid")
    ref = synthetic_piece(2).save_midi(tmp_path / "ref.mid")
    out = tmp_path / "res.mid"
    assert main(["transfer", str(src), "--reference", str(ref), "--elements", "velocity,duration",
                 "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["transfer", str(src), "--valence", "1", "--arousal", "1", "--elements", "velocity",
                 "--checkpoint", str(tiny_ckpt), "--out", str(out)]) == 2  # exists
    assert main(["transfer", str(src), "--elements", "colour", "--valence", "0", "--arousal", "0",
                 "--checkpoint", str(tiny_ckpt), "--out", str(tmp_path / "o.mid")]) == 2
    assert "unknown element" in capsys.readouterr().err
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"\x00\x01")
    assert main(["transfer", str(bad), "--quadrant", "Q2", "--elements", "pitch",
                 "--checkpoint", str(tiny_ckpt), "--out", str(tmp_path / "b.mid")]) == 2


def test_latents_and_inspect(tiny_ckpt, tmp_path, capsys):
    src = synthetic_piece(1).save_midi(tmp_path / "in.mid")
    assert main(["latents", str(src), "--silhouette", "--checkpoint", str(tiny_ckpt)]) == 0
    out = capsys.readouterr().out
    assert "pitch_x" in out and "silhouette" in out
    assert main(["inspect", "--checkpoint", str(tiny_ckpt)]) == 0
    assert '"format_version": 1' in capsys.readouterr().out


def test_latents_skips_an_unreadable_file_and_places_the_others(tiny_ckpt, tmp_path, capsys):
    good = synthetic_piece(1).save_midi(tmp_path / "in.mid")
    bad = tmp_path / "bad.mid"
    bad.write_text("not midi")
    assert main(["latents", str(bad), str(good), "--checkpoint", str(tiny_ckpt)]) == 1
    captured = capsys.readouterr()
    rows = captured.out.strip().splitlines()
    assert len(rows) == 2 and rows[1].startswith(str(good))
    assert "bad.mid" in captured.err and "not a readable MIDI file" in captured.err
    assert main(["latents", str(bad), "--checkpoint", str(tiny_ckpt)]) == 2


def test_evaluate_generates_then_reports(tiny_ckpt, tmp_path, emopia, capsys):
    out = tmp_path / "eval"
    code = main(["evaluate", str(out), "--generate", "1", "--bars", "2", "--checkpoint", str(tiny_ckpt),
                 "--data", str(emopia)])
    assert code == 0
    assert "quadrant acc" in capsys.readouterr().out
    assert (out / "evaluation" / "evaluation.md").is_file() and (out / "evaluation" / "metrics.png").is_file()
    assert sorted(p.name for p in out.glob("*.mid")) == ["Q1_0001.mid", "Q2_0001.mid", "Q3_0001.mid", "Q4_0001.mid"]
    assert (out / "manifest.csv").read_text().count("\n") == 5


@pytest.mark.parametrize("flags", [["--bars", "0"], ["-n", "0"], ["--temperature", "-1"], ["--batch", "0"]])
def test_bad_generation_settings_fail_before_a_folder_is_made(tiny_ckpt, tmp_path, capsys, flags):
    out = tmp_path / "never"
    code = main(["generate", "--quadrant", "Q1", "--checkpoint", str(tiny_ckpt), "--out", str(out), *flags])
    assert code == 2 and "error:" in capsys.readouterr().err
    assert not out.exists()
