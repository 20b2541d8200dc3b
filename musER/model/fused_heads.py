"""The seven per-step element decoders as a few batched tensor ops, for step-by-step decoding.

At one step each element decoder is ~8 tiny ops on a (B, 64) state; run one by one they cost
more in dispatch than in arithmetic. Here the input projections of all seven are one matrix
product each (the slice projections as one block-diagonal matrix), and the six elements that
read the decoded type run their MLP and head as batched products. Same weights, same maths
(to float rounding) as `ElementDecoder.forward` with `element_layers == 0`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..elements import ELEMENTS

TYPE = ELEMENTS.index("type")
OTHERS = [i for i in range(len(ELEMENTS)) if i != TYPE]


class FusedElementHeads:
    def __init__(self, decoders) -> None:
        d = decoders[0].head.in_features
        self.d = d
        self.type_decoder = decoders[TYPE]
        self.w_in_global = torch.cat([m.from_global.weight for m in decoders])  # (7d, D)
        self.w_in_slice = torch.block_diag(*[m.from_slice.weight for m in decoders])  # (7d, 112)
        self.b_in = torch.cat([m.from_global.bias + m.from_slice.bias for m in decoders])
        others = [decoders[i] for i in OTHERS]
        self.type_tables = torch.stack([m.type_embed.weight for m in others])  # (6, n_types, d)
        self.ln1 = (torch.stack([m.mlp[0].weight for m in others])[:, None],
                    torch.stack([m.mlp[0].bias for m in others])[:, None])
        self.w_mlp = torch.stack([m.mlp[1].weight.T for m in others])  # (6, d, d)
        self.b_mlp = torch.stack([m.mlp[1].bias for m in others])[:, None]
        self.ln2 = (torch.stack([m.norm.weight for m in others])[:, None],
                    torch.stack([m.norm.bias for m in others])[:, None])
        self.sizes = [m.head.out_features for m in others]
        widest = max(self.sizes)
        self.w_head = torch.zeros(len(others), d, widest)
        self.b_head = torch.zeros(len(others), 1, widest)
        for k, m in enumerate(others):
            self.w_head[k, :, :self.sizes[k]] = m.head.weight.T
            self.b_head[k, 0, :self.sizes[k]] = m.head.bias

    @classmethod
    def of(cls, decoder) -> FusedElementHeads | None:
        """Fused heads of a `Decoder`, or None where its element decoders have attention layers."""
        elements = decoder.elements
        if any(m.mlp is None or m.from_slice is None for m in elements):
            return None
        with torch.no_grad():
            return cls(elements)

    def inputs(self, g: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Global states (B, D) and latents (B, 112) -> every element's input (7, B, d)."""
        x = torch.addmm(self.b_in, g, self.w_in_global.T) + z @ self.w_in_slice.T
        return x.view(x.shape[0], len(ELEMENTS), self.d).transpose(0, 1)

    def type_logits(self, x: torch.Tensor) -> torch.Tensor:
        m = self.type_decoder
        h = x[TYPE]
        h = h + m.mlp(h)
        return m.head(m.norm(h))

    def other_logits(self, x: torch.Tensor, type_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits (B, V_e) of the six elements that read the decoded type (B,)."""
        h = x[OTHERS] + self.type_tables[:, type_ids]  # (6, B, d)
        a = F.layer_norm(h, (self.d,)) * self.ln1[0] + self.ln1[1]
        h = h + F.gelu(torch.baddbmm(self.b_mlp, a, self.w_mlp))
        a = F.layer_norm(h, (self.d,)) * self.ln2[0] + self.ln2[1]
        logits = torch.baddbmm(self.b_head, a, self.w_head)
        return {ELEMENTS[i]: logits[k, :, :self.sizes[k]] for k, i in enumerate(OTHERS)}
