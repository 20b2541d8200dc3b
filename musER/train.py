"""Training loops for the VQ-VAE and the prior: resume, progress, CSV log, early stopping, DDP.

Multi-process training is started by torchrun (one process per GPU, or gloo on CPU); each
process takes every world-th batch and DDP averages the gradients. Only rank 0 writes.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .atomic import atomic_path
from .config import TrainConfig
from .errors import ConfigError

log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def device_name(device: torch.device) -> str:
    """What trained the model, for the run's config and the model card."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (bf16 autocast)"
    return f"{device.type.upper()} ({os.cpu_count()} cores)"


def amp_enabled(device: torch.device) -> bool:
    """bf16 mixed precision on GPUs; CPU training stays float32 (bf16 matmuls are slow there)."""
    return device.type == "cuda"


@dataclass
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> Distributed:
    """Join the torchrun process group when launched by torchrun, else run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size())


def atomic_save(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


class Progress:
    """A one-line progress bar on stderr with loss and ETA (quiet when not a terminal and not asked)."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=label, file=sys.stderr, disable=not enabled,
                        dynamic_ncols=True, mininterval=2.0)

    def update(self, **values: float) -> None:
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def fit(
    name: str,
    model: nn.Module,
    run_dir: Path,
    train_batches: Callable[[np.random.Generator, Distributed], Iterable],
    step_loss: Callable[[nn.Module, tuple], tuple[torch.Tensor, dict[str, float]]],
    validate: Callable[[nn.Module], dict[str, float]],
    steps_per_epoch: int,
    cfg: TrainConfig,
    device: torch.device,
    monitor: str = "val_loss",
    progress: bool = True,
) -> dict:
    """Train with resume from run_dir/<name>_state.pt; returns the best validation row. The best
    weights go to run_dir/<name>_best.pt with their row, the device and `started_from`: the runs
    behind cfg.init_from's weights, earliest first, so that a fine-tune can say where it started."""
    ddp = init_distributed(device)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / f"{name}_state.pt"
    log_path = run_dir / f"{name}_log.csv"
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    total_steps = cfg.epochs * steps_per_epoch
    elapsed = 0.0  # seconds trained, kept across resumes (read by lr_factor)

    def lr_factor(step: int) -> float:
        # warm-up, then a cosine that ends with the epochs or with the time limit, whichever comes first
        done = step / max(total_steps, 1)
        if cfg.max_minutes:
            done = max(done, elapsed / (60 * cfg.max_minutes))
        return min(1.0, (step + 1) / cfg.warmup_steps) * 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)
    epoch, best, bad_epochs, best_row, started_from = 0, math.inf, 0, {}, []
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        epoch, best, bad_epochs, best_row = state["epoch"], state["best"], state["bad_epochs"], state["best_row"]
        elapsed, started_from = state.get("elapsed", 0.0), state.get("started_from", [])
        log.info("%s: resumed after epoch %d (best %s %.4f)", name, epoch, monitor, best)
    elif cfg.init_from:
        try:
            start = torch.load(cfg.init_from, map_location=device)
            missing, unexpected = model.load_state_dict(start["model"], strict=False)
            optional = getattr(model, "OPTIONAL_PARTS", ())  # parts older weights may lack
            wrong = unexpected + [k for k in missing if not k.startswith(optional)]
            if wrong:
                raise RuntimeError(f"{len(wrong)} keys differ, e.g. {wrong[0]}")
        except (OSError, KeyError, RuntimeError) as exc:
            raise ConfigError(f"train.init_from {cfg.init_from}: not weights of this model ({exc})") from None
        if "row" in start:  # a *_best.pt: its own history, then its run
            earlier = {"row": start["row"], "device": start.get("device", "unrecorded")}
            started_from = [*start.get("started_from", []), earlier]
        log.info("%s: starting from the weights in %s", name, cfg.init_from)
    # unused parameters exist in ablations (no regulariser, no element decoders)
    net = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if ddp.world > 1 else model
    use_amp = amp_enabled(device)
    started = time.time() - elapsed
    while epoch < cfg.epochs and bad_epochs < cfg.patience:
        rng = np.random.default_rng(cfg.seed * 1000 + epoch)
        torch.manual_seed(cfg.seed * 1000 + epoch)
        net.train()
        bar = Progress(math.ceil(steps_per_epoch / ddp.world), f"{name} {epoch + 1}/{cfg.epochs}",
                       progress and ddp.main)
        sums: dict[str, float] = {}
        n = 0
        for batch in train_batches(rng, ddp):
            batch = tuple(t.to(device) for t in batch)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, parts = step_loss(net, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            elapsed = time.time() - started
            sched.step()
            n += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.update(loss=float(loss.detach()))
        bar.close()
        epoch += 1
        model.eval()
        with torch.no_grad():
            row = {"epoch": epoch, "seconds": round(time.time() - started, 1),
                   **{f"train_{k}": v / max(n, 1) for k, v in sums.items()}, **validate(model)}
        if not ddp.main:
            continue
        improved = row[monitor] < best
        if improved:
            best, bad_epochs, best_row = row[monitor], 0, row
            atomic_save({"model": model.state_dict(), "row": row, "device": device_name(device),
                         "started_from": started_from}, run_dir / f"{name}_best.pt")
        else:
            bad_epochs += 1
        _append_csv(log_path, row)
        log.info("%s epoch %d: %s", name, epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items()))
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "epoch": epoch, "best": best, "bad_epochs": bad_epochs, "best_row": best_row,
                     "elapsed": time.time() - started, "started_from": started_from}, state_path)
        if cfg.max_minutes and (time.time() - started) / 60 > cfg.max_minutes:
            log.info("%s: time limit of %.0f minutes reached", name, cfg.max_minutes)
            break
    return best_row


def _append_csv(path: Path, row: dict) -> None:
    new = not path.is_file()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
