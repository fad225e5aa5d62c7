"""FastPitchConfig: DLE FastPitch sizes (``fastpitch/arg_parser.py`` defaults) plus its text front end.

Field names are DLE's ``FastPitch(...)`` constructor keywords (the ``config`` dict a DLE checkpoint stores);
dropout probabilities are not kept (inference runs without dropout).  ``symbol_set`` and ``text_cleaners`` come
from the checkpoint's ``train_setup`` (DLE's argparse namespace) and pick the text front end.

Shapes: D = symbols_embedding_dim (both FFTs' d_model); attention heads H·d_head; FFT conv feed-forward
D → d_inner → D with kernel k; predictors D → filter → … → 1 (pitch: ``pitch_conditioning_formants``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .config_base import ConfigError, Range, _ConfigBase, check_value

SYMBOL_SETS = ("english_basic", "english_mandarin_basic", "english_basic_lowercase", "english_expanded")
_NON_NEGATIVE_INT = Range(int, 0)
_FLOAT_FIELDS = {"speaker_emb_weight": Range(float, 0), "max_duration": Range(float, 0, low_open=True),
                 "fallback_pitch_std": Range(float, 0, low_open=True)}


@dataclass(frozen=True)
class FastPitchConfig(_ConfigBase):
    """DLE FastPitch defaults (LJSpeech, ``english_basic``, no energy); ``max_duration`` is the run-time clamp of
    the predicted durations (DLE ``infer(max_duration=75)``)."""

    architecture: ClassVar[str] = "fastpitch"
    runtime_fields: ClassVar[tuple[str, ...]] = ("max_duration",)

    n_mel_channels: int = 80
    n_symbols: int = 148
    padding_idx: int = 0
    symbols_embedding_dim: int = 384
    in_fft_n_layers: int = 6
    in_fft_n_heads: int = 1
    in_fft_d_head: int = 64
    in_fft_conv1d_kernel_size: int = 3
    in_fft_conv1d_filter_size: int = 1536
    in_fft_output_size: int = 384
    out_fft_n_layers: int = 6
    out_fft_n_heads: int = 1
    out_fft_d_head: int = 64
    out_fft_conv1d_kernel_size: int = 3
    out_fft_conv1d_filter_size: int = 1536
    out_fft_output_size: int = 384
    dur_predictor_kernel_size: int = 3
    dur_predictor_filter_size: int = 256
    dur_predictor_n_layers: int = 2
    pitch_predictor_kernel_size: int = 3
    pitch_predictor_filter_size: int = 256
    pitch_predictor_n_layers: int = 2
    pitch_embedding_kernel_size: int = 3
    pitch_conditioning_formants: int = 1
    energy_conditioning: bool = False
    energy_predictor_kernel_size: int = 3
    energy_predictor_filter_size: int = 256
    energy_predictor_n_layers: int = 2
    energy_embedding_kernel_size: int = 3
    n_speakers: int = 1
    speaker_emb_weight: float = 1.0
    # a pitch shift in Hz is divided by the model's pitch_std buffer, or by this when it is 0 (DLE: LJSpeech's)
    fallback_pitch_std: float = 67.24
    symbol_set: str = "english_basic"
    text_cleaners: str = "english_cleaners_v2"
    # runtime setting (DLE inference default)
    max_duration: float = 75.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            label = f"FastPitchConfig.{f.name}"
            if f.name == "energy_conditioning":
                if not isinstance(value, bool):
                    raise ConfigError(f"{label} must be true or false, got {value!r}", f.name, value, "a bool")
            elif f.name in ("symbol_set", "text_cleaners"):
                if not isinstance(value, str) or not value:
                    raise ConfigError(f"{label} must be a name, got {value!r}", f.name, value, "a string")
            elif f.name in _FLOAT_FIELDS:
                rule = _FLOAT_FIELDS[f.name]
                if not rule.accepts(value):
                    raise ConfigError(f"{label} must be {rule.describe()}, got {value!r}", f.name, value,
                                      rule.describe())
                value = float(value)
            elif f.name == "padding_idx":
                if not _NON_NEGATIVE_INT.accepts(value):
                    raise ConfigError(f"{label} must be {_NON_NEGATIVE_INT.describe()}, got {value!r}", f.name,
                                      value, _NON_NEGATIVE_INT.describe())
            else:
                value = check_value(type(self), f.name, value)
            object.__setattr__(self, f.name, value)
        problems = []
        if self.padding_idx >= self.n_symbols:
            problems.append(f"padding_idx {self.padding_idx} is not below n_symbols {self.n_symbols}")
        if self.symbols_embedding_dim % 2:
            problems.append(f"symbols_embedding_dim {self.symbols_embedding_dim} must be even (sin/cos halves)")
        for name in ("in_fft_output_size", "out_fft_output_size"):
            if getattr(self, name) != self.symbols_embedding_dim:
                problems.append(f"{name} {getattr(self, name)} differs from symbols_embedding_dim "
                                f"{self.symbols_embedding_dim} (DLE's FFT output is d_model)")
        if self.n_speakers != 1:
            problems.append(f"n_speakers {self.n_speakers}: only single-speaker FastPitch is supported")
        for name in ("in_fft_conv1d_kernel_size", "out_fft_conv1d_kernel_size", "dur_predictor_kernel_size",
                     "pitch_predictor_kernel_size", "energy_predictor_kernel_size", "pitch_embedding_kernel_size",
                     "energy_embedding_kernel_size"):
            if getattr(self, name) % 2 == 0:
                problems.append(f"{name} {getattr(self, name)} must be odd ('same' padding k // 2)")
        if problems:
            raise ConfigError("FastPitchConfig: " + "; ".join(problems))

    def fft(self, which: str) -> dict[str, int]:
        """The sizes of one FFT stack, ``which`` ∈ {"in", "out"}: n_layers, n_heads, d_head, kernel, d_inner."""
        p = f"{which}_fft_"
        return {"n_layers": getattr(self, p + "n_layers"), "n_heads": getattr(self, p + "n_heads"),
                "d_head": getattr(self, p + "d_head"), "kernel": getattr(self, p + "conv1d_kernel_size"),
                "d_inner": getattr(self, p + "conv1d_filter_size")}

    def predictor(self, which: str) -> dict[str, int]:
        """Sizes of one temporal predictor, ``which`` ∈ {"dur", "pitch", "energy"}: n_layers, filter, kernel."""
        return {"n_layers": getattr(self, f"{which}_predictor_n_layers"),
                "filter": getattr(self, f"{which}_predictor_filter_size"),
                "kernel": getattr(self, f"{which}_predictor_kernel_size")}

    @classmethod
    def small(cls, **changes: Any) -> "FastPitchConfig":
        """A tiny FastPitch with the full structure (2 heads, 2 layers per FFT, energy on), 12 mels."""
        base = dict(n_mel_channels=12, symbols_embedding_dim=16, in_fft_n_layers=2, in_fft_n_heads=2,
                    in_fft_d_head=6, in_fft_conv1d_filter_size=24, in_fft_output_size=16, out_fft_n_layers=2,
                    out_fft_n_heads=2, out_fft_d_head=6, out_fft_conv1d_filter_size=24, out_fft_output_size=16,
                    dur_predictor_filter_size=12, pitch_predictor_filter_size=12, energy_predictor_filter_size=12,
                    energy_conditioning=True)
        base.update(changes)
        return cls(**base)
