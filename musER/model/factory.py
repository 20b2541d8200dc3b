"""Build models from configs and vocabularies (the one place that knows both)."""

from __future__ import annotations

import torch

from ..config import PriorConfig, VQVAEConfig
from ..elements import ELEMENTS, FAMILIES
from ..vocab import Vocab


def family_sizes(vocab: Vocab) -> dict[str, int]:
    return {f: vocab.size(f) for f in FAMILIES}


def build_vqvae(cfg: VQVAEConfig, vocab: Vocab):
    from .vqvae import VQVAE

    masks = {e: torch.from_numpy(vocab.ordered_mask(e)) for e in ELEMENTS}
    return VQVAE(cfg, family_sizes(vocab), masks)


def build_prior(cfg: PriorConfig, vqvae_cfg: VQVAEConfig, vocab: Vocab):
    from .prior import Prior

    groups = len(ELEMENTS) if vqvae_cfg.codebook == "product" else 1
    return Prior(cfg, groups, vqvae_cfg.codebook_size, family_sizes(vocab) if cfg.reads_tokens else None)
