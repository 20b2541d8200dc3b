"""The MusER VQ-VAE: encoder -> element-sliced quantised latents -> two-level decoder.

Shapes: ids (B, T, 8) hold the emotion step at t=0; the model works on content steps
x = ids[:, 1:] (B, L, 8). One latent per content step: z_e, z_q (B, L, 112).
Decoder step i reads the previous content step (the emotion condition at i=0) and the
latents 0..i, and predicts content step i.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import VQVAEConfig
from ..elements import ELEMENTS, LATENT_DIM, SLICE_DIM, latent_slice, parse_elements
from .embedding import StepEmbedding
from .layers import Block, KVCache, new_caches
from .quantizer import EMAQuantizer
from .regularizer import ElementRegularizer

TYPE_COL = ELEMENTS.index("type")


@dataclass
class Losses:
    """Loss breakdown of one batch (each a scalar tensor)."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    commitment: torch.Tensor
    regularization: torch.Tensor
    per_element: dict[str, torch.Tensor]
    accuracy: dict[str, torch.Tensor]
    perplexity: torch.Tensor


class Encoder(nn.Module):
    def __init__(self, cfg: VQVAEConfig, sizes: dict[str, int]) -> None:
        super().__init__()
        self.embed = StepEmbedding(sizes, cfg.d_encoder)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_encoder)
        self.blocks = nn.ModuleList(Block(cfg.d_encoder, cfg.heads, cfg.dropout) for _ in range(cfg.encoder_layers))
        self.norm = nn.LayerNorm(cfg.d_encoder)
        self.to_latent = nn.Linear(cfg.d_encoder, LATENT_DIM)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = self.embed(x) + self.pos(torch.arange(x.shape[1], device=x.device))
        pad_mask = valid[:, None, None, :]  # (B, 1, 1, L): attend to real steps only
        for block in self.blocks:
            h = block(h, causal=False, pad_mask=pad_mask)
        return self.to_latent(self.norm(h))


class ElementDecoder(nn.Module):
    """Second decoding level for one element: global state + own latent slice (+ type) -> logits."""

    def __init__(self, cfg: VQVAEConfig, vocab_size: int, n_types: int, sees_type: bool) -> None:
        super().__init__()
        d = cfg.d_element if cfg.use_element_decoders else cfg.d_decoder
        self.from_global = nn.Linear(cfg.d_decoder, d) if cfg.use_element_decoders else nn.Identity()
        self.from_slice = nn.Linear(SLICE_DIM, d) if cfg.use_element_decoders else None
        self.type_embed = nn.Embedding(n_types, d) if sees_type else None
        layers = cfg.element_layers if cfg.use_element_decoders else 0
        self.blocks = nn.ModuleList(Block(d, max(1, d // 32), cfg.dropout) for _ in range(layers))
        self.mlp = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU()) if not layers else None
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab_size)

    def forward(self, h: torch.Tensor, z_slice: torch.Tensor, type_ids: torch.Tensor | None,
                caches: list | None = None) -> torch.Tensor:
        x = self.from_global(h)
        if self.from_slice is not None:
            x = x + self.from_slice(z_slice)
        if self.type_embed is not None:
            x = x + self.type_embed(type_ids)
        for j, block in enumerate(self.blocks):
            x = block(x, causal=True, caches=caches[j] if caches else None)
        if self.mlp is not None:
            x = x + self.mlp(x)
        return self.head(self.norm(x))


class Decoder(nn.Module):
    """Global causal decoder with causal cross-attention to the latents, then element decoders."""

    def __init__(self, cfg: VQVAEConfig, sizes: dict[str, int]) -> None:
        super().__init__()
        self.embed = StepEmbedding(sizes, cfg.d_decoder)
        self.emotion = nn.Linear(4, cfg.d_decoder, bias=False)  # rows = quadrant embeddings, blended
        self.pos = nn.Embedding(cfg.max_len, cfg.d_decoder)
        self.blocks = nn.ModuleList(Block(cfg.d_decoder, cfg.heads, cfg.dropout, d_memory=LATENT_DIM)
                                    for _ in range(cfg.decoder_layers))
        self.norm = nn.LayerNorm(cfg.d_decoder)
        # a ModuleList in ELEMENTS order ("type" cannot be a module attribute name)
        self.elements = nn.ModuleList(
            ElementDecoder(cfg, sizes[e], sizes["type"], sees_type=(e != "type")) for e in ELEMENTS)

    def inputs(self, x: torch.Tensor, emotion: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Decoder inputs for content x (B, L, 8): emotion at 0, then x shifted right."""
        emo = self.emotion(emotion)[:, None]  # (B, 1, D)
        h = torch.cat([emo, self.embed(x[:, :-1])], dim=1) if x.shape[1] > 1 else emo
        return h + self.pos(torch.arange(start, start + h.shape[1], device=x.device))

    def global_states(self, h: torch.Tensor, z_q: torch.Tensor, caches: list | None = None) -> torch.Tensor:
        for j, block in enumerate(self.blocks):
            h = block(h, causal=True, memory=z_q, caches=caches[j] if caches else None)
        return self.norm(h)

    def element_logits(self, element: str, g: torch.Tensor, z_q: torch.Tensor,
                       type_ids: torch.Tensor | None, caches: dict | None = None) -> torch.Tensor:
        return self.elements[ELEMENTS.index(element)](g, z_q[..., latent_slice(element)], type_ids,
                                      caches[element] if caches else None)

    def new_caches(self) -> dict:
        return {"global": new_caches(self.blocks),
                **{e: new_caches(d.blocks) for e, d in zip(ELEMENTS, self.elements)}}


class VQVAE(nn.Module):
    def __init__(self, cfg: VQVAEConfig, sizes: dict[str, int], ordered_masks: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.cfg = cfg
        self.sizes = sizes
        self.balanced = parse_elements(cfg.balanced_elements) if cfg.balanced_elements else ()
        self.encoder = Encoder(cfg, sizes)
        groups = len(ELEMENTS) if cfg.codebook == "product" else 1
        self.quantizer = EMAQuantizer(LATENT_DIM, groups, cfg.codebook_size, cfg.ema_decay, cfg.dead_code_threshold)
        self.decoder = Decoder(cfg, sizes)
        # training-only (left out of inference checkpoints)
        self.regularizer = ElementRegularizer(cfg.regularizer_net, ordered_masks)

    def encode(self, x: torch.Tensor, valid: torch.Tensor):
        z_e = self.encoder(x, valid)
        return z_e, self.quantizer(z_e, valid)

    def decode_logits(self, x: torch.Tensor, z_q: torch.Tensor, emotion: torch.Tensor) -> dict[str, torch.Tensor]:
        """Teacher-forced logits per element, (B, L, V_e)."""
        g = self.decoder.global_states(self.decoder.inputs(x, emotion), z_q)
        type_ids = x[..., TYPE_COL]
        return {e: self.decoder.element_logits(e, g, z_q, None if e == "type" else type_ids) for e in ELEMENTS}

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor, emotion: torch.Tensor) -> tuple[dict, Losses]:
        """ids (B, T, 8) with the emotion step first; lengths (B,) count it; emotion (B, 4) weights."""
        x = ids[:, 1:]
        valid = torch.arange(x.shape[1], device=x.device)[None] < (lengths[:, None] - 1)
        z_e, q = self.encode(x, valid)
        logits = self.decode_logits(x, q.z_q, emotion)
        per_element, accuracy = {}, {}
        for i, e in enumerate(ELEMENTS):
            target = x[..., i]
            per_element[e] = element_loss(logits[e][valid], target[valid], e in self.balanced)
            applies = valid & (target > 0)
            hit = (logits[e].argmax(-1) == target) & applies
            accuracy[e] = hit.sum() / applies.sum().clamp(min=1)
        reconstruction = torch.stack(list(per_element.values())).mean()
        # without the regulariser (ablation) the DR network still learns, on detached latents,
        # so the order of unregularised slices can be measured the same way
        latent = z_e if self.cfg.use_regularizer else z_e.detach()
        regularization = torch.stack(list(self.regularizer(latent, x, valid).values())).sum()
        total = reconstruction + self.cfg.commitment * q.commitment + self.cfg.regularizer_weight * regularization
        return logits, Losses(total, reconstruction, q.commitment, regularization, per_element, accuracy, q.perplexity)


def element_loss(logits: torch.Tensor, target: torch.Tensor, balanced: bool) -> torch.Tensor:
    """Cross-entropy of one element over steps (N, V), (N,); id 0 = the element does not apply."""
    if not balanced:
        return F.cross_entropy(logits, target)
    ce = F.cross_entropy(logits, target, reduction="none")
    applies = target > 0
    parts = [ce[m].mean() for m in (applies, ~applies) if m.any()]
    return torch.stack(parts).mean() if parts else ce.sum()


def emotion_weights(quadrants: torch.Tensor) -> torch.Tensor:
    """Quadrant labels 1..4 (0 = unknown) -> (B, 4) one-hot weights (zeros when unknown)."""
    return F.one_hot(quadrants.clamp(min=0), 5).float()[:, 1:]


__all__ = ["VQVAE", "KVCache", "Losses", "emotion_weights"]
