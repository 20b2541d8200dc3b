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
    sorted_probs = torch.softmax(sorted_logits, dim=-1)
    drop = sorted_probs.cumsum(-1) - sorted_probs >= p  # mass before this token already >= p
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


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
    probs = torch.softmax(top_p(apply_temperature(logits.float(), temperature), p), dim=-1)
    # what torch.multinomial(probs, 1) computes (the exponential race, same generator draws),
    # without its validity check, which waits on a .item() at every call
    race = torch.empty_like(probs).exponential_(1, generator=generator)
    return (probs / race).argmax(-1)
