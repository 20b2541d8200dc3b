"""Few-row matrix products through numpy's BLAS for step-by-step decoding on a CPU.

A cached decoding step multiplies a few rows (one per piece and guidance copy) by every weight
matrix of the prior and the global decoder. The pinned torch build does such products with MKL,
which on this project's 2-core AMD machine took 55-130 us for three rows by a 256 x 1024 matrix
against 30-70 us through numpy (OpenBLAS). So the prior's and the global decoder's Linear layers
multiply up to BLAS_ROWS rows with numpy: 16-bar pieces at batch 1 decoded 11-20 % faster
(bench/generation_speed.py). More rows (a prompt, a window slide, a batch of pieces) keep torch's
product, which is as fast or faster there. Same weights and maths; only the float rounding
differs, and the pieces did not (100 of 100 at batch 8, 20 of 20 at batch 1).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import replace_step_linears

BLAS_ROWS = 8  # batch 8 (24 rows with guidance) was slower through numpy than through torch


class BlasLinear(nn.Module):
    """A frozen Linear that multiplies up to BLAS_ROWS float32 CPU rows with numpy."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear
        self.weight_t = linear.weight.detach().numpy().T.copy()  # (in, out), contiguous
        self.bias = None if linear.bias is None else linear.bias.detach().numpy().copy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.numel() > BLAS_ROWS * self.linear.in_features or x.requires_grad
                or x.device.type != "cpu" or x.dtype != torch.float32):
            return self.linear(x)
        y = x.numpy() @ self.weight_t
        if self.bias is not None:
            y += self.bias
        return torch.from_numpy(y)


def use_blas_for_steps(vqvae, prior) -> None:
    """Give the prior's and the global decoder's Linear layers numpy products for few rows, in
    place (inference only, CPU weights)."""
    replace_step_linears(vqvae, prior, BlasLinear)
