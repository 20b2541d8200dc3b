"""Half-precision weight copies for step-by-step decoding on a CPU.

A decoding step multiplies a few rows by every weight matrix of the prior and the global decoder;
on a CPU that is bound by reading the weights from memory, a float16 copy (half the bytes) can make
a batch-1 step faster. For more rows float32 is faster on CPUs without float16 arithmetic (measured
on this 2-core machine: 1 row 3.5x faster in float16, 3 rows 1.9x, 6 rows already slower), so the
copy serves small batches only and prompts and large batches keep float32. Not int8: guidance
multiplies the difference of two prior copies, which amplified int8's rounding into a visible
change of the sampled distribution (KL 0.11 nats per code against 0.0001 for float16).

Off by default (MusER.load(half=True) turns it on): the gain did not last on this machine. On the
day it was written whole pieces decoded at 8.5x real time with the copies against 7.5x without;
in three later runs on two days the copies were slower, 4.3-4.8x against 5.2-5.5x
(bench/generation_speed.py), and one 256 x 1024 product of one row took 77 us in float16
against 35 us in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import replace_step_linears

HALF_ROWS = 4  # at most this many rows take the float16 copy


class HalfLinear(nn.Module):
    """A frozen Linear that multiplies up to HALF_ROWS rows with a float16 copy of its weights."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("weight_half", linear.weight.detach().half(), persistent=False)
        self.register_buffer("bias_half", None if linear.bias is None else linear.bias.detach().half(),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() > HALF_ROWS * self.linear.in_features:
            return self.linear(x)
        return F.linear(x.half(), self.weight_half, self.bias_half).float()


def half_available() -> bool:
    """Whether this torch build multiplies float16 matrices on the CPU."""
    try:
        F.linear(torch.ones(1, 2, dtype=torch.half), torch.ones(2, 2, dtype=torch.half))
    except RuntimeError:
        return False
    return True


def halve_for_cpu(vqvae, prior) -> bool:
    """Give the prior's and the global decoder's Linear layers float16 copies, in place (inference
    only). Returns False, changing nothing, where this torch build cannot."""
    if not half_available():
        return False
    replace_step_linears(vqvae, prior, HalfLinear)
    return True
