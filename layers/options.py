"""Build-time options of the networks: precision, profile limits, and the random-number modes.

Dimensions of the model never appear here: they come from the HDF5 config (``store.config``).  These are the
engine's run-time limits (optimization-profile ranges) and modes, as ``trtnet build-engines`` flags set them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from trtnet.dtypes import DType

PRECISIONS = {"fp32": DType.float32, "fp16": DType.float16}
DROPOUT_MODES = ("in-engine", "input", "off")
NOISE_MODES = ("in-engine", "input")
DEFAULT_MAX_FRAMES = 2000                    # mel-frame cap for configs without max_decoder_steps (WaveGlow)


@dataclass(frozen=True)
class NetworkOptions:
    precision: str = "fp16"
    max_batch: int = 8
    opt_batch: int = 1
    max_text_len: int = 256
    opt_text_len: int = 128
    max_decoder_steps: int | None = None     # None: the model config's max_decoder_steps
    opt_decoder_steps: int = 600
    dropout: str = "in-engine"               # prenet dropout: in-engine random (DLE), fed masks, or off
    noise: str = "in-engine"                 # WaveGlow z: drawn in the engine, or fed
    alignments: bool = False                 # decoder loop also outputs [B, steps, T_in] alignments
    fuse_denoiser: bool = False              # waveglow also takes ``strength`` and outputs ``audio_denoised``

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose one of {sorted(PRECISIONS)}")
        if self.dropout not in DROPOUT_MODES:
            raise ValueError(f"dropout {self.dropout!r}: choose one of {DROPOUT_MODES}")
        if self.noise not in NOISE_MODES:
            raise ValueError(f"noise {self.noise!r}: choose one of {NOISE_MODES}")
        for name in ("max_batch", "max_text_len", "opt_batch", "opt_text_len", "opt_decoder_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_decoder_steps is not None and self.max_decoder_steps < 1:
            raise ValueError(f"max_decoder_steps must be >= 1, got {self.max_decoder_steps}")
        # opt values are clamped to their max here (a profile needs min ≤ opt ≤ max); steps also in steps_range
        object.__setattr__(self, "opt_batch", min(self.opt_batch, self.max_batch))
        object.__setattr__(self, "opt_text_len", min(self.opt_text_len, self.max_text_len))
        if self.max_decoder_steps is not None:
            object.__setattr__(self, "opt_decoder_steps", min(self.opt_decoder_steps, self.max_decoder_steps))

    @property
    def dtype(self) -> DType:
        """The activation and weight dtype of the network's main path."""
        return PRECISIONS[self.precision]

    def steps_cap(self, config: Any) -> int:
        """Most decoder steps (mel frames) an engine supports: the COUNT limit's profile max.  Configs without
        ``max_decoder_steps`` (WaveGlow) fall back to ``DEFAULT_MAX_FRAMES``."""
        return int(self.max_decoder_steps or getattr(config, "max_decoder_steps", None) or DEFAULT_MAX_FRAMES)

    def steps_range(self, config: Any) -> tuple[int, int]:
        """(opt, cap) of every decoder-step / mel-frame dimension: ``steps_cap`` and opt_decoder_steps clamped
        to it (the cap depends on the model config, so it cannot be clamped in ``__post_init__``)."""
        cap = self.steps_cap(config)
        return min(self.opt_decoder_steps, cap), cap

    def replace(self, **changes: Any) -> "NetworkOptions":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
