"""`muser train {vqvae,prior,export,all}`: the whole training pipeline behind one command.

    muser train all --data ../shared/data/emopia --run-dir runs/default --out checkpoints/default

Every stage resumes from its state file in the run folder; `export` writes the inference
checkpoint (weights without the training-only parts, reference latent map, model card).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import torch

from .config import PriorConfig, TrainConfig, VQVAEConfig, preset
from .errors import ConfigError, MusERError

log = logging.getLogger(__name__)


def add_train_parser(sub, func) -> None:
    p = sub.add_parser("train", help="train the VQ-VAE, the prior, and export a checkpoint")
    p.add_argument("stage", choices=["vqvae", "prior", "export", "all"])
    p.add_argument("--data", help="EMOPIA folder (default: $MUSER_DATA)")
    p.add_argument("--cache", help="token cache folder (default: $MUSER_CACHE or the user cache)")
    p.add_argument("--run-dir", default="runs/default", help="run folder: state, logs, best weights")
    p.add_argument("--out", default="checkpoints/default", help="where `export` writes the checkpoint")
    p.add_argument("--preset", default="default", help="model sizes: tiny, default, paper")
    p.add_argument("--config", help="JSON file with 'vqvae', 'prior', 'train' sections overriding the preset")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one field, e.g. train.epochs=5 or vqvae.use_regularizer=false")
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=func)


def _coerce(cls, key: str, raw: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ConfigError(f"{cls.__name__} has no field {key!r}")
    kind = type(getattr(cls(), key))
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"{key} takes true or false, got {raw!r}")
        return raw.lower() in ("true", "1")
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{key} takes a {kind.__name__}, got {raw!r}") from None


def resolve_configs(args) -> tuple[VQVAEConfig, PriorConfig, TrainConfig, TrainConfig]:
    vq, prior = preset(args.preset)
    sections = {"vqvae": vq.to_dict(), "prior": prior.to_dict(), "train": TrainConfig().to_dict(),
                # the prior's codes of each clip are encoded in 2 * transpose + 1 keys before training
                "prior_train": TrainConfig(lr=1e-3, epochs=30, max_minutes=38.0, transpose=2).to_dict()}
    if args.config:
        try:
            overrides = json.loads(Path(args.config).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"--config {args.config}: {exc}") from None
        for name, values in overrides.items():
            if name not in sections:
                raise ConfigError(f"--config: unknown section {name!r}; use {', '.join(sections)}")
            sections[name].update(values)
    classes = {"vqvae": VQVAEConfig, "prior": PriorConfig, "train": TrainConfig, "prior_train": TrainConfig}
    for item in args.set:
        key, _, raw = item.partition("=")
        section, _, field = key.partition(".")
        if section not in classes or not raw:
            raise ConfigError(f"--set takes SECTION.KEY=VALUE with SECTION in {', '.join(classes)}, got {item!r}")
        sections[section][field] = _coerce(classes[section], field, raw)
    return (VQVAEConfig.from_dict(sections["vqvae"]), PriorConfig.from_dict(sections["prior"]),
            TrainConfig.from_dict(sections["train"]), TrainConfig.from_dict(sections["prior_train"]))


def run_training(args) -> int:
    from .train_prior import train_prior
    from .train_vqvae import train_vqvae

    logging.getLogger("musER").setLevel(logging.INFO)
    vq_cfg, prior_cfg, train_cfg, prior_train_cfg = resolve_configs(args)
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    run = Path(args.run_dir)
    if args.stage in ("vqvae", "all"):
        row = train_vqvae(run, args.data, args.cache, vq_cfg, train_cfg, args.device, not args.quiet)
        print("vqvae best:", json.dumps(row))
    if args.stage in ("prior", "all"):
        row = train_prior(run, args.data, args.cache, prior_cfg, prior_train_cfg, args.device, not args.quiet)
        print("prior best:", json.dumps(row))
    if args.stage in ("export", "all"):
        folder = export_checkpoint(run, Path(args.out), args.data, args.cache)
        print(f"wrote {folder}")
    return 0


def export_checkpoint(run: Path, out: Path, data_root=None, cache=None) -> Path:
    """Best VQ-VAE + best prior -> an inference checkpoint with the EMOPIA reference map."""
    from .checkpoint import save_checkpoint
    from .data import load_split
    from .engine import Engine
    from .latent_map import build_reference_map
    from .model.factory import build_prior, build_vqvae
    from .rhythm import GapModel
    from .tokenizer import decode_ids
    from .vocab import Vocab

    saved = json.loads((run / "vqvae_config.json").read_text())
    prior_saved = json.loads((run / "prior_config.json").read_text())
    vocab = Vocab.from_dict(saved["vocab"])
    vq_cfg = VQVAEConfig.from_dict(saved["model"])
    prior_cfg = PriorConfig.from_dict(prior_saved["model"])
    window = TrainConfig.from_dict(saved["train"]).window
    vq_best = torch.load(run / "vqvae_best.pt", map_location="cpu")
    prior_best = torch.load(run / "prior_best.pt", map_location="cpu")
    vqvae = build_vqvae(vq_cfg, vocab)
    vqvae.load_state_dict(vq_best["model"])
    prior = build_prior(prior_cfg, vq_cfg, vocab)
    prior.load_state_dict(prior_best["model"])
    vqvae.eval(), prior.eval()
    engine = Engine(vqvae, prior, vocab, {"window": window, "format_version": 1}, torch.device("cpu"))
    names, quadrants, vectors = [], [], {}
    for split in ("train", "val"):
        data = load_split(split, vocab, data_root, cache)
        if split == "train":
            beat_codes = engine.count_beat_codes(data.clip(i)[1:] for i in range(len(data)))
            gaps = GapModel.count(((data.clip(i)[1:], int(data.quadrants[i])) for i in range(len(data))), vocab)
        pieces = [decode_ids(data.clip(i), vocab, name=data.names[i]) for i in range(len(data))]
        for e, v in engine.latent_vectors(pieces).items():
            vectors.setdefault(e, []).append(v)
        names += data.names
        quadrants += [int(q) for q in data.quadrants]
    vectors = {e: np.concatenate(v) for e, v in vectors.items()}
    ref = build_reference_map(vectors, np.array(quadrants), names)
    meta = {"reference_map": ref, **({"beat_codes": beat_codes.to_dict()} if beat_codes else {}),
            "onset_gaps": gaps.to_dict(), "chord_timing": measure_chord_timing(vocab, data_root).to_dict(),
            "training": {"dataset": "EMOPIA 1.0 MIDI (train split; val for selection)",
                         "vqvae": vq_best["row"], "prior": prior_best["row"],
                         "vqvae_train": saved["train"], "prior_train": prior_saved["train"],
                         "vqvae_started_from": vq_best.get("started_from", []),
                         "prior_started_from": prior_best.get("started_from", []),
                         "device": {"vqvae": saved.get("device", "unrecorded"),
                                    "prior": prior_saved.get("device", "unrecorded")}}}
    card = model_card(vq_cfg, prior_cfg, meta, vqvae, prior)
    return save_checkpoint(out, vqvae, prior, vocab, window, meta, card)


def measure_chord_timing(vocab, data_root=None):
    """How EMOPIA's train clips strike their chords (chord_timing.py), read from their MIDI."""
    from .chord_timing import ChordTiming
    from .data import data_dir, quadrant_of, split_files
    from .midi_io import read_midi

    def played():
        for path in split_files(data_dir(data_root), "train"):
            try:
                midi = read_midi(path)
            except MusERError:  # skipped, as load_split skips it
                continue
            if len(midi.notes):
                yield midi.notes, midi.beat_times, int(quadrant_of(path.name)[1])

    return ChordTiming.measure(played(), vocab)


def model_card(vq_cfg, prior_cfg, meta, vqvae, prior) -> str:
    from .checkpoint import LICENCE_NOTE

    n_vq = sum(p.numel() for n, p in vqvae.named_parameters() if not n.startswith("regularizer."))
    n_prior = sum(p.numel() for p in prior.parameters())
    vq_row, prior_row = meta["training"]["vqvae"], meta["training"]["prior"]
    device = meta["training"]["device"]
    minutes = {k: meta["training"][k].get("seconds", 0) / 60 for k in ("vqvae", "prior")}
    acc = ", ".join(f"{k[8:]} {v:.3f}" for k, v in vq_row.items() if k.startswith("val_acc_"))
    sil = meta["reference_map"]["silhouette"]
    sil_lines = "\n".join(f"| {e} | " + " | ".join(f"{v:+.3f}" for v in s.values()) + " |" for e, s in sil.items())
    pairs = " | ".join(next(iter(sil.values())).keys())
    vq_loss = vq_row.get("val_loss", float("nan"))
    earlier = {k: "".join(f" after {r['row'].get('seconds', 0) / 60:.1f} minutes on {r['device']} ({what} "
                          f"{r['row'].get('val_loss', float('nan')):.4f}), then"
                          for r in meta["training"].get(f"{k}_started_from", []))
               for k, what in (("vqvae", "val loss"), ("prior", "val NLL"))}
    return f"""# MusER Studio model card

Element-regularised VQ-VAE ({n_vq / 1e6:.2f} M parameters for inference) and an emotion-conditioned
prior ({n_prior / 1e6:.2f} M). The VQ-VAE reached its best{earlier['vqvae']} after {minutes['vqvae']:.1f} minutes
on {device['vqvae']}, the prior{earlier['prior']} after {minutes['prior']:.1f} minutes on {device['prior']}.

## Data and licence
{LICENCE_NOTE}
Training: EMOPIA train split ({len(meta['reference_map']['names'])} clips in the reference map incl. val);
model selection on the song-level val split.

## Configuration
VQ-VAE: `{json.dumps(vq_cfg.to_dict())}`

Prior: `{json.dumps(prior_cfg.to_dict())}`

## Measured at export (val split)
- VQ-VAE teacher-forced accuracy per element: {acc}
- VQ-VAE epoch {vq_row.get('epoch')}, val loss {vq_loss:.4f}; codebook use {vq_row.get('val_code_use', 0):.3f}
- Prior epoch {prior_row.get('epoch')}, val NLL per code group {prior_row.get('val_loss', float('nan')):.4f}

Silhouette of EMOPIA clips (mean element slice) per quadrant pair:

| element | {pairs} |
|---|{'---|' * len(next(iter(sil.values())))}
{sil_lines}
"""
