"""The element regulariser (MusER's "MED"): latent order follows element value order.

For each element, a shared network (the "DR") maps the element's latent slice at every step
to a scalar r. For every pair of pieces j, k in the batch and every step t where both hold
an ordered value a of that element, the loss is |tanh(r_j,t - r_k,t) - sign(a_j,t - a_k,t)|
(DESIGN 1, after AR-VAE). Ids are ordered by musical value (vocab.py), so the order is real.
"""

from __future__ import annotations

import torch
from torch import nn

from ..elements import ELEMENTS, SLICE_DIM, latent_slice
from .layers import Block


class DistanceNet(nn.Module):
    """Slice (B, T, 16) -> scalar per step (B, T). 'light' = MLP, 'attention' = a Transformer layer."""

    def __init__(self, kind: str, width: int = 32) -> None:
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(SLICE_DIM, width), nn.GELU())
        self.block = Block(width, 2, 0.0) if kind == "attention" else None
        self.out = nn.Linear(width, 1)

    def forward(self, z: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.inp(z)
        if self.block is not None:
            h = self.block(h, causal=False, pad_mask=pad_mask)
        return self.out(h).squeeze(-1)


def pairwise_sign_loss(r: torch.Tensor, values: torch.Tensor, ordered: torch.Tensor) -> torch.Tensor:
    """r (B, T) scalars, values (B, T) ids, ordered (B, T) bool -> mean loss over valid pairs."""
    diff_r = r[:, None, :] - r[None, :, :]  # (B, B, T)
    diff_a = torch.sign((values[:, None, :] - values[None, :, :]).float())
    both = ordered[:, None, :] & ordered[None, :, :]
    both = both & ~torch.eye(r.shape[0], dtype=torch.bool, device=r.device)[:, :, None]
    if not both.any():
        return r.sum() * 0.0
    return (torch.tanh(diff_r) - diff_a).abs()[both].mean()


class ElementRegularizer(nn.Module):
    def __init__(self, kind: str, ordered_masks: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net = DistanceNet(kind)
        for e in ELEMENTS:
            self.register_buffer(f"ordered_{e}", ordered_masks[e], persistent=False)

    def scalars(self, z_e: torch.Tensor, element: str, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z_e[..., latent_slice(element)], pad_mask)

    def forward(self, z_e: torch.Tensor, ids: torch.Tensor, valid: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-element losses; z_e (B, T, 112), ids (B, T, 8), valid (B, T)."""
        losses = {}
        for i, e in enumerate(ELEMENTS):
            values = ids[..., i]
            ordered = getattr(self, f"ordered_{e}")[values] & valid
            losses[e] = pairwise_sign_loss(self.scalars(z_e, e), values, ordered)
        return losses
