"""The emotion-conditioned prior: a causal Transformer over the code tuples of each step.

Step i reads the codes of step i-1 (the emotion condition at i=0) and predicts the codes of
step i one group after another (the type slice first), each group seeing the codes already
chosen at this step, so the slices of one step agree with each other.
The condition is a blend of four quadrant embeddings by valence/arousal weights; a null
condition (all weights zero) is trained too, for classifier-free guidance.
With `reads_tokens`, step i also reads the compound tokens of step i-1: in training those the
codes were encoded from, in generation those the decoder wrote, so the prior knows where the
decoded piece stands (which position, which pitches) and not only what it asked for.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PriorConfig
from ..elements import ELEMENTS
from .embedding import StepEmbedding
from .layers import Block, new_caches

# the type slice is predicted first, then the others in element order
GROUP_ORDER_PRODUCT = [ELEMENTS.index("type")] + [i for i, e in enumerate(ELEMENTS) if e != "type"]


class Prior(nn.Module):
    # fine-tuning a prior that reads tokens may start from one that does not (train.init_from)
    OPTIONAL_PARTS = ("token_embed.",)

    def __init__(self, cfg: PriorConfig, groups: int, codebook_size: int,
                 token_sizes: dict[str, int] | None = None) -> None:
        super().__init__()
        self.cfg, self.groups, self.size = cfg, groups, codebook_size
        self.order = GROUP_ORDER_PRODUCT if groups == len(ELEMENTS) else [0]
        d = cfg.d_model
        self.code_embed = nn.ModuleList(nn.Embedding(codebook_size, d) for _ in range(groups))
        if cfg.reads_tokens and token_sizes is None:
            raise ValueError("a prior that reads tokens needs the token vocabulary sizes")
        self.token_embed = StepEmbedding(token_sizes, d) if cfg.reads_tokens else None
        if self.token_embed is not None:  # tokens start by changing nothing, so a code-only prior can grow them
            nn.init.zeros_(self.token_embed.proj.weight)
            nn.init.zeros_(self.token_embed.proj.bias)
        self.emotion = nn.Linear(4, d, bias=False)
        self.null = nn.Parameter(torch.zeros(d))
        self.pos = nn.Embedding(cfg.max_len, d)
        self.blocks = nn.ModuleList(Block(d, cfg.heads, cfg.dropout) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(d)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d), nn.Linear(d, codebook_size))
            for _ in range(groups))

    def embed_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T, G) -> (B, T, d) sum of group embeddings."""
        return sum(self.code_embed[g](codes[..., g]) for g in range(self.groups))

    def embed_inputs(self, codes: torch.Tensor, tokens: torch.Tensor | None) -> torch.Tensor:
        """Codes (B, T, G) and the tokens (B, T, 8) of the same steps; tokens are read only with
        `reads_tokens` (callers may pass them either way)."""
        h = self.embed_codes(codes)
        if self.token_embed is not None:
            if tokens is None:
                raise ValueError("this prior reads the decoded tokens: pass them with the codes")
            h = h + self.token_embed(tokens)
        return h

    def condition(self, emotion: torch.Tensor) -> torch.Tensor:
        """(B, 4) weights -> (B, d); all-zero weights give the null condition."""
        unconditioned = (emotion.sum(-1, keepdim=True) == 0).float()
        return self.emotion(emotion) + unconditioned * self.null

    def states(self, codes: torch.Tensor, emotion: torch.Tensor, start: int = 0, caches=None,
               condition: torch.Tensor | None = None, tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states predicting codes[:, t] from codes[:, :t]; codes (B, T, G) -> (B, T, d).

        With caches, `codes` holds only the inputs not yet seen (the previous step's codes),
        and `start` is the position of the first of them. The condition opens the sequence and
        is also added at every step, so it does not fade over a long piece. `condition` is
        self.condition(emotion), for callers that run many steps on one emotion. `tokens`
        (B, T, 8) are the compound steps of the same steps as `codes` (read with reads_tokens only).
        """
        cond = (self.condition(emotion) if condition is None else condition)[:, None]  # (B, 1, d)
        if start == 0:
            if codes.shape[1] > 1:
                h = torch.cat([cond, self.embed_inputs(codes[:, :-1], None if tokens is None else tokens[:, :-1])], 1)
            else:
                h = cond
        else:
            h = self.embed_inputs(codes, tokens)
        h = h + cond + self.pos(torch.arange(start, start + h.shape[1], device=h.device))
        for j, block in enumerate(self.blocks):
            h = block(h, causal=True, caches=caches[j] if caches else None)
        return self.norm(h)

    def group_logits(self, h: torch.Tensor, chosen: dict[int, torch.Tensor], g: int) -> torch.Tensor:
        """Logits of group g given the hidden state and the groups already chosen at this step."""
        x = h
        for prev, code in chosen.items():
            x = x + self.code_embed[prev](code)
        return self.heads[g](x)

    def forward(self, codes: torch.Tensor, lengths: torch.Tensor, emotion: torch.Tensor,
                tokens: torch.Tensor | None = None) -> torch.Tensor:
        """Mean NLL over valid steps; codes (B, T, G), lengths (B,) steps, emotion (B, 4),
        tokens (B, T, 8) the content steps the codes were encoded from (reads_tokens only)."""
        h = self.states(codes, emotion, tokens=tokens)
        valid = torch.arange(codes.shape[1], device=codes.device)[None] < lengths[:, None]
        chosen: dict[int, torch.Tensor] = {}
        losses = []
        for g in self.order:
            logits = self.group_logits(h, chosen, g)
            losses.append(F.cross_entropy(logits[valid], codes[..., g][valid]))
            chosen[g] = codes[..., g]
        return torch.stack(losses).mean()

    def new_caches(self):
        return new_caches(self.blocks)
