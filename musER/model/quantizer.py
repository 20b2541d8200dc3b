"""EMA vector quantiser: one codebook per group of latent dims (product) or one for all.

Codebooks start from encoder outputs of the first batch; codes whose EMA usage falls under
a threshold are restarted on random recent encoder outputs (the reference code let unused
codes decay to zero). All state lives in buffers registered in __init__, so a saved model
reloads bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    z_q: torch.Tensor  # (B, T, D) straight-through quantised latents
    codes: torch.Tensor  # (B, T, G) code index per group
    commitment: torch.Tensor  # scalar
    perplexity: torch.Tensor  # (G,) over the valid steps of this batch


class EMAQuantizer(nn.Module):
    def __init__(self, dim: int, groups: int, size: int, decay: float, dead_threshold: float) -> None:
        super().__init__()
        assert dim % groups == 0
        self.groups, self.size, self.group_dim = groups, size, dim // groups
        self.decay, self.dead_threshold = decay, dead_threshold
        self.register_buffer("embed", torch.randn(groups, size, self.group_dim) * 0.1)
        self.register_buffer("cluster_size", torch.ones(groups, size))
        self.register_buffer("embed_sum", self.embed.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def _split(self, z: torch.Tensor) -> torch.Tensor:
        return z.reshape(*z.shape[:-1], self.groups, self.group_dim)  # (..., G, Dg)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """(N, G, Dg) -> (N, G) code indices."""
        dist = (z.pow(2).sum(-1, keepdim=True)  # (N, G, 1)
                - 2 * torch.einsum("ngd,gkd->ngk", z, self.embed)
                + self.embed.pow(2).sum(-1)[None])  # (N, G, K)
        return dist.argmin(-1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., G) code indices -> (..., G * Dg) latents."""
        g = torch.arange(self.groups, device=codes.device)
        return self.embed[g, codes].flatten(-2)

    def forward(self, z_e: torch.Tensor, valid: torch.Tensor) -> QuantizerOutput:
        """z_e (B, T, D); valid (B, T) bool marks real steps (padding does not train codes)."""
        with torch.autocast(z_e.device.type, enabled=False):  # distances and EMA counts need float32
            return self._quantise(z_e.float(), valid)

    def _quantise(self, z_e: torch.Tensor, valid: torch.Tensor) -> QuantizerOutput:
        flat = self._split(z_e)[valid]  # (N, G, Dg)
        if self.training and not bool(self.initialised):
            self._init_from(flat.detach())
        codes = self.nearest(self._split(z_e.detach()).flatten(0, -3)).view(*z_e.shape[:2], self.groups)
        z_q = self.lookup(codes)
        if self.training:
            self._ema_update(flat.detach(), codes[valid])
        commitment = F.mse_loss(z_e[valid], z_q[valid].detach()) if flat.numel() else z_e.sum() * 0
        onehot = F.one_hot(codes[valid], self.size).float()  # (N, G, K)
        probs = onehot.mean(0)
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum(-1))
        if self.training:
            z_q = z_e + (z_q - z_e).detach()  # straight-through gradient to the encoder
        return QuantizerOutput(z_q, codes, commitment, perplexity)

    @torch.no_grad()
    def _init_from(self, flat: torch.Tensor) -> None:
        idx = torch.randint(0, flat.shape[0], (self.size,), device=flat.device)
        self.embed.copy_(flat[idx].transpose(0, 1))
        self.embed_sum.copy_(self.embed)
        self.cluster_size.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, codes: torch.Tensor) -> None:
        onehot = F.one_hot(codes, self.size).type(flat.dtype)  # (N, G, K)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(torch.einsum("ngk,ngd->gkd", onehot, flat), alpha=1 - self.decay)
        n = self.cluster_size.sum(-1, keepdim=True)
        smoothed = (self.cluster_size + 1e-5) / (n + self.size * 1e-5) * n  # Laplace smoothing
        self.embed.copy_(self.embed_sum / smoothed.unsqueeze(-1))
        dead = self.cluster_size < self.dead_threshold
        if dead.any() and flat.shape[0] > 0:
            for g in torch.nonzero(dead.any(-1)).flatten().tolist():
                which = torch.nonzero(dead[g]).flatten()
                pick = flat[torch.randint(0, flat.shape[0], (len(which),), device=flat.device), g]
                self.embed[g, which] = pick
                self.embed_sum[g, which] = pick
                self.cluster_size[g, which] = 1.0

    def usage(self) -> torch.Tensor:
        """Share of codes per group whose EMA usage is above the dead threshold."""
        return (self.cluster_size >= self.dead_threshold).float().mean(-1)
