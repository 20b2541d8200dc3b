"""Embedding of compound steps: one table per family, concatenated, projected."""

from __future__ import annotations

import torch
from torch import nn

from ..elements import ELEMENTS

# embedding width per element family (the larger vocabularies get more room)
FAMILY_DIMS = {"tempo": 32, "chord": 64, "beat": 32, "type": 16, "pitch": 64, "duration": 32, "velocity": 32}


class StepEmbedding(nn.Module):
    """(B, T, 7+) element ids -> (B, T, d); the emotion column, if present, is ignored."""

    def __init__(self, sizes: dict[str, int], d_model: int) -> None:
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(sizes[e], FAMILY_DIMS[e]) for e in ELEMENTS)
        self.proj = nn.Linear(sum(FAMILY_DIMS.values()), d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        parts = [table(ids[..., i]) for i, table in enumerate(self.tables)]
        return self.proj(torch.cat(parts, dim=-1))
