"""Frozen, validated configurations that travel inside checkpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .elements import parse_elements
from .errors import ConfigError


class _Config:
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
        return cls(**data)

    def _positive(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{type(self).__name__}.{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class VQVAEConfig(_Config):
    """Sizes of the element-regularised VQ-VAE (DESIGN 1). Defaults fit a 2-core CPU."""

    d_encoder: int = 128
    encoder_layers: int = 2
    d_decoder: int = 128
    decoder_layers: int = 2
    heads: int = 4
    d_element: int = 64
    element_layers: int = 0  # 0 = per-step MLP element decoders (cheapest); the paper uses 2
    use_element_decoders: bool = True  # ablation "without TD": heads read the global decoder only
    codebook: str = "product"  # "product": one codebook per element slice; "single": one over all dims
    codebook_size: int = 128
    commitment: float = 0.25
    ema_decay: float = 0.99
    dead_code_threshold: float = 0.5
    # elements whose loss averages applying and non-applying steps apart ("tempo,chord"; "" = none):
    # tempo applies at 3.6 % of steps, and under a plain mean the latent left it to a copy of the
    # last bar's tempo (val accuracy 0.49)
    balanced_elements: str = ""
    use_regularizer: bool = True  # ablation "without MED" (its DR network then probes detached latents)
    regularizer_weight: float = 0.1
    regularizer_net: str = "light"  # "light" (MLP per step) or "attention" (Transformer over time)
    max_len: int = 1024
    dropout: float = 0.1

    def __post_init__(self) -> None:
        self._positive("d_encoder", "encoder_layers", "d_decoder", "decoder_layers", "heads",
                       "d_element", "codebook_size", "max_len")
        if self.codebook not in ("product", "single"):
            raise ConfigError(f"VQVAEConfig.codebook must be 'product' or 'single', got {self.codebook!r}")
        if self.regularizer_net not in ("light", "attention"):
            raise ConfigError("VQVAEConfig.regularizer_net must be 'light' or 'attention', "
                              f"got {self.regularizer_net!r}")
        if self.balanced_elements:
            parse_elements(self.balanced_elements)
        if self.d_encoder % self.heads or self.d_decoder % self.heads:
            raise ConfigError("model widths must be divisible by heads")


@dataclass(frozen=True)
class PriorConfig(_Config):
    """Sizes of the emotion-conditioned prior over code tuples."""

    d_model: int = 256
    layers: int = 4
    heads: int = 4
    max_len: int = 1024
    dropout: float = 0.25  # 0.25 gave val NLL 1.785 against 1.811 at 0.1 (the prior overfits EMOPIA)
    condition_dropout: float = 0.1  # the share of steps trained unconditioned (for guidance)
    # also read the previous step's decoded tokens, not only its codes: a prior that sees only
    # its own codes falls behind the decoded bar (docs/history.md, What limits it)
    reads_tokens: bool = False

    def __post_init__(self) -> None:
        self._positive("d_model", "layers", "heads", "max_len")
        if self.d_model % self.heads:
            raise ConfigError("PriorConfig.d_model must be divisible by heads")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """Optimisation settings (not stored as architecture; logged with the run)."""

    epochs: int = 20
    batch_size: int = 8
    lr: float = 2e-3
    warmup_steps: int = 100
    grad_clip: float = 3.0
    window: int = 512  # training crop in steps; generation slides a window of this size
    transpose: int = 5  # keys in [-transpose, transpose] semitones: one drawn per VQ-VAE crop, per prior clip
    patience: int = 4
    seed: int = 0
    max_minutes: float = 35.0  # 0 = no limit; the cosine schedule ends at the limit (configs/shipped-gpu.json)
    init_from: str = ""  # a *_best.pt of the same architecture to start from (fine-tuning); a resume wins

    def __post_init__(self) -> None:
        self._positive("epochs", "batch_size", "lr", "window")


PRESETS = {
    "tiny": (VQVAEConfig(d_encoder=32, encoder_layers=1, d_decoder=32, decoder_layers=1, heads=2,
                         d_element=16, codebook_size=16, max_len=256),
             PriorConfig(d_model=32, layers=1, heads=2, max_len=256)),
    "default": (VQVAEConfig(), PriorConfig()),
    # the paper's sizes (DESIGN 1), for a GPU
    "paper": (VQVAEConfig(d_encoder=128, encoder_layers=8, d_decoder=256, decoder_layers=4, heads=8,
                          d_element=256, element_layers=2, codebook="single", codebook_size=512,
                          regularizer_net="attention"),
              PriorConfig(d_model=256, layers=8, heads=8)),
}


def preset(name: str):
    """(VQVAEConfig, PriorConfig) of a named preset."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
