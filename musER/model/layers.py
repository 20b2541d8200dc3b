"""Pre-norm Transformer blocks on scaled_dot_product_attention, with a key/value cache.

Pure PyTorch so nothing compiled has to ship; the same weights run on CPU and CUDA.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    """Keys and values of past steps for one attention module: (B, H, T, Dh) each.

    Steps are written into buffers that grow by doubling, so a step costs no copy of the past
    (torch.cat of the whole cache at every step was a third of the decoding time).
    """

    def __init__(self) -> None:
        self._k: torch.Tensor | None = None
        self._v: torch.Tensor | None = None
        self.length = 0

    @property
    def k(self) -> torch.Tensor | None:
        return None if self._k is None else self._k[:, :, :self.length]

    @property
    def v(self) -> torch.Tensor | None:
        return None if self._v is None else self._v[:, :, :self.length]

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new = self.length + k.shape[2]
        if self._k is None or new > self._k.shape[2]:
            capacity = max(new, 2 * (self._k.shape[2] if self._k is not None else 64))
            grown_k = k.new_empty(*k.shape[:2], capacity, k.shape[3])
            grown_v = v.new_empty(*v.shape[:2], capacity, v.shape[3])
            if self.length:
                grown_k[:, :, :self.length] = self.k
                grown_v[:, :, :self.length] = self.v
            self._k, self._v = grown_k, grown_v
        self._k[:, :, self.length:new] = k
        self._v[:, :, self.length:new] = v
        self.length = new
        return self.k, self.v


class Attention(nn.Module):
    """Multi-head attention; `memory` None = self-attention."""

    def __init__(self, d_model: int, heads: int, dropout: float, d_memory: int | None = None) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_memory or d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.qkv: nn.Linear | None = None  # fuse_projections

    def fuse_projections(self) -> None:
        """For decoding (inference only): q, k and v of self-attention from one matrix product
        instead of two, with the same numbers; q and kv are dropped."""
        qkv = nn.Linear(self.q.in_features, 3 * self.q.out_features)
        with torch.no_grad():
            qkv.weight.copy_(torch.cat([self.q.weight, self.kv.weight]))
            qkv.bias.copy_(torch.cat([self.q.bias, self.kv.bias]))
        self.qkv = qkv
        del self.q, self.kv

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape  # (B, T, D) -> (B, H, T, D/H)
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None,
                mask: torch.Tensor | None = None, causal: bool = False,
                cache: KVCache | None = None) -> torch.Tensor:
        if self.qkv is not None:
            q, k, v = (self._split(t) for t in self.qkv(x).chunk(3, dim=-1))
        else:
            q = self._split(self.q(x))
            k, v = (self._split(t) for t in self.kv(x if memory is None else memory).chunk(2, dim=-1))
        if cache is not None:  # incremental decoding: x holds the newest step, or a whole prefix
            causal = causal and cache.k is None
            k, v = cache.append(k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           dropout_p=0.0)  # attention dropout forces the slow math kernel on CPU
        b, h, t, dh = y.shape
        return self.out(y.transpose(1, 2).reshape(b, t, h * dh))


class Block(nn.Module):
    """Self-attention (+ optional cross-attention to a memory) + feed-forward, pre-norm."""

    def __init__(self, d_model: int, heads: int, dropout: float, d_memory: int | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, heads, dropout)
        self.cross = Attention(d_model, heads, dropout, d_memory) if d_memory else None
        self.norm_cross = nn.LayerNorm(d_model) if d_memory else None
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                nn.Linear(4 * d_model, d_model), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, causal: bool = True, pad_mask: torch.Tensor | None = None,
                memory: torch.Tensor | None = None, caches: tuple[KVCache, KVCache] | None = None) -> torch.Tensor:
        self_cache, cross_cache = caches if caches else (None, None)
        x = x + self.attn(self.norm1(x), mask=pad_mask, causal=causal, cache=self_cache)
        if self.cross is not None:
            # causal cross-attention: step t sees latents 0..t, so codes can be decoded as they arrive
            x = x + self.cross(self.norm_cross(x), memory=memory, causal=True, cache=cross_cache)
        return x + self.ff(self.norm2(x))


def fuse_self_attention(*stacks: nn.ModuleList) -> None:
    """Fuse the self-attention projections of these blocks for decoding (inference only)."""
    for blocks in stacks:
        for block in blocks:
            block.attn.fuse_projections()


def replace_linears(module: nn.Module, wrap) -> None:
    """Replace every nn.Linear inside `module` by wrap(linear), in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            setattr(module, name, wrap(child))
        else:
            replace_linears(child, wrap)


def replace_step_linears(vqvae, prior, wrap) -> None:
    """replace_linears in the layers a cached decoding step multiplies a few rows through: the
    prior's blocks and heads and the global decoder's blocks (model/half.py, model/blas.py)."""
    for module in (prior.blocks, prior.heads, vqvae.decoder.blocks):
        replace_linears(module, wrap)


def new_caches(blocks: nn.ModuleList) -> list[tuple[KVCache, KVCache]]:
    return [(KVCache(), KVCache()) for _ in blocks]
