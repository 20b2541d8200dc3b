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

from .config import TrainConfig

log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


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
    tmp = path.with_suffix(path.suffix + ".part")
    torch.save(obj, tmp)
    os.replace(tmp, path)


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
    on_best: Callable[[nn.Module, dict], None] | None = None,
    progress: bool = True,
) -> dict:
    """Train with resume from run_dir/<name>_state.pt; returns the best validation row."""
    ddp = init_distributed(device)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / f"{name}_state.pt"
    log_path = run_dir / f"{name}_log.csv"
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.01)
    total_steps = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / cfg.warmup_steps)
                                              * 0.5 * (1 + math.cos(math.pi * min(s / max(total_steps, 1), 1.0))))
    epoch, best, bad_epochs, best_row = 0, math.inf, 0, {}
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        epoch, best, bad_epochs, best_row = state["epoch"], state["best"], state["bad_epochs"], state["best_row"]
        log.info("%s: resumed after epoch %d (best %s %.4f)", name, epoch, monitor, best)
    # unused parameters exist in ablations (no regulariser, no element decoders)
    net = nn.parallel.DistributedDataParallel(model, find_unused_parameters=True) if ddp.world > 1 else model
    use_amp = device.type == "cuda"
    started = time.time()
    while epoch < cfg.epochs and bad_epochs < cfg.patience:
        rng = np.random.default_rng(cfg.seed * 1000 + epoch)
        torch.manual_seed(cfg.seed * 1000 + epoch)
        net.train()
        bar = Progress(math.ceil(steps_per_epoch / ddp.world), f"{name} {epoch + 1}/{cfg.epochs}", progress and ddp.main)
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
            if on_best:
                on_best(model, row)
        else:
            bad_epochs += 1
        _append_csv(log_path, row)
        log.info("%s epoch %d: %s", name, epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items()))
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                     "epoch": epoch, "best": best, "bad_epochs": bad_epochs, "best_row": best_row}, state_path)
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
