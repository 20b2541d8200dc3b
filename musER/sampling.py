"""Small logit processors and a seeded sampler (all on local torch.Generator state)."""

from __future__ import annotations

import torch


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return logits / max(temperature, 1e-4)


def top_p(logits: torch.Tensor, p: float | None) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches p (always at least one)."""
    if p is None or p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
    drop = cumulative - torch.softmax(sorted_logits, dim=-1) >= p  # mass before this token already >= p
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def mask_invalid(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Forbid tokens the grammar does not allow (before the softmax)."""
    return logits.masked_fill(~allowed, float("-inf"))


def sample(logits: torch.Tensor, generator: torch.Generator, temperature: float = 1.0,
           p: float | None = None, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """(B, V) logits -> (B,) sampled ids. Temperature 0 means argmax."""
    if allowed is not None:
        logits = mask_invalid(logits, allowed)
    if temperature <= 0:
        return logits.argmax(-1)
    logits = top_p(apply_temperature(logits.float(), temperature), p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
