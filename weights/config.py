"""Model configurations: the one vocabulary for sizes shared by weights, layers, runtime and tools.

Field names follow the DLE constructor keywords (``tacotron2/arg_parser.py``, ``waveglow/arg_parser.py``).
Architecture fields are inferred from checkpoint tensor shapes (``weights.hparams``); runtime settings
(``max_decoder_steps``, ``gate_threshold``, ``sigma``, ``denoiser_strength``) carry DLE's inference defaults and
can be overridden at build time with :func:`dataclasses.replace`.  The HDF5 file stores ``to_dict()`` as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping, NamedTuple, TypeVar

C = TypeVar("C", bound="_ConfigBase")


class ConfigError(ValueError):
    """A config value is missing, unknown or inconsistent; the message names the field and the values.
    ``field``, ``value`` and ``allowed`` are set when one value is out of its range."""

    def __init__(self, message: str, field: str | None = None, value: Any = None, allowed: str | None = None):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(message)


class Range(NamedTuple):
    """The values a field accepts: an int or a finite number within [low, high] (open ends excluded)."""

    kind: type
    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        what = "an int" if self.kind is int else "a finite number"
        if self.high is None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        return f"{what} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value) or value < self.low or (self.low_open and value == self.low):
            return False
        return self.high is None or value < self.high or (value == self.high and not self.high_open)


POSITIVE_INT = Range(int, 1)
#: Fields whose range is not "an int >= 1" (every architecture size is).
RANGES: dict[str, Range] = {
    "max_decoder_steps": Range(int, 1),
    "gate_threshold": Range(float, 0, 1, low_open=True, high_open=True),
    "prenet_dropout": Range(float, 0, 1, high_open=True),
    "n_early_size": Range(int, 0),
    "sigma": Range(float, 0),
    "denoiser_strength": Range(float, 0),
    "mel_fmin": Range(float, 0),
    "mel_fmax": Range(float, 0, low_open=True),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (config values must be finite)")


@dataclass(frozen=True)
class _ConfigBase:
    architecture: ClassVar[str] = ""
    runtime_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            checked = check_value(type(self), f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}: the config is a {type(data).__name__}, expected a dict of fields "
                              f"such as {[f.name for f in fields(cls)][:3]}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown config keys {unknown}; known keys are {sorted(known)}")
        return cls(**dict(data))

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        return cls.from_dict(json.loads(text, parse_constant=_reject_constant))

    def architecture_dict(self) -> dict[str, Any]:
        """The fields that shape the weights (everything but the runtime settings)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.runtime_fields}

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def field_range(cls: type[_ConfigBase], name: str) -> Range:
    """The range of ``cls``'s field ``name`` (floats keep their own rule, sizes are ints >= 1)."""
    return RANGES.get(name, POSITIVE_INT)


def check_value(cls: type[_ConfigBase], name: str, value: Any, label: str | None = None) -> Any:
    """``value`` if it lies in the field's range (an int-valued float is not an int; a float field takes an
    int as float), else ConfigError naming ``label`` (default ``Class.field``), the range and the value."""
    rule = field_range(cls, name)
    if rule.accepts(value):
        return float(value) if rule.kind is float and not isinstance(value, float) else value
    label = label or f"{cls.__name__}.{name}"
    raise ConfigError(f"{label} must be {rule.describe()}, got {value!r}", name, value, rule.describe())


@dataclass(frozen=True)
class Tacotron2Config(_ConfigBase):
    """Tacotron 2 sizes (DLE defaults) plus the inference settings."""

    architecture: ClassVar[str] = "tacotron2"
    runtime_fields: ClassVar[tuple[str, ...]] = ("max_decoder_steps", "gate_threshold", "prenet_dropout")

    n_mel_channels: int = 80
    n_symbols: int = 148
    symbols_embedding_dim: int = 512
    encoder_kernel_size: int = 5
    encoder_n_convolutions: int = 3
    encoder_embedding_dim: int = 512
    attention_rnn_dim: int = 1024
    attention_dim: int = 128
    attention_location_n_filters: int = 32
    attention_location_kernel_size: int = 31
    n_frames_per_step: int = 1
    decoder_rnn_dim: int = 1024
    prenet_dim: int = 256
    postnet_embedding_dim: int = 512
    postnet_kernel_size: int = 5
    postnet_n_convolutions: int = 5
    # runtime settings (DLE inference defaults)
    max_decoder_steps: int = 2000
    gate_threshold: float = 0.5
    prenet_dropout: float = 0.5

    @property
    def encoder_lstm_dim(self) -> int:
        """Hidden size of each direction of the encoder BiLSTM."""
        return self.encoder_embedding_dim // 2

    @property
    def frame_dim(self) -> int:
        """Values produced per decoder step: n_mel_channels · n_frames_per_step."""
        return self.n_mel_channels * self.n_frames_per_step

    @classmethod
    def small(cls, **changes: Any) -> "Tacotron2Config":
        """A tiny model with the full structure, for fast tests."""
        base = dict(
            n_mel_channels=12, n_symbols=148, symbols_embedding_dim=16, encoder_kernel_size=5,
            encoder_n_convolutions=3, encoder_embedding_dim=16, attention_rnn_dim=24, attention_dim=8,
            attention_location_n_filters=4, attention_location_kernel_size=7, decoder_rnn_dim=20,
            prenet_dim=10, postnet_embedding_dim=16, postnet_kernel_size=5, postnet_n_convolutions=5,
            max_decoder_steps=120,
        )
        base.update(changes)
        return cls(**base)


@dataclass(frozen=True)
class WaveGlowConfig(_ConfigBase):
    """WaveGlow sizes (DLE defaults, 256 WN channels as in the NGC checkpoint) plus STFT/denoiser settings."""

    architecture: ClassVar[str] = "waveglow"
    runtime_fields: ClassVar[tuple[str, ...]] = ("sigma", "denoiser_strength")

    n_mel_channels: int = 80
    n_flows: int = 12
    n_group: int = 8
    n_early_every: int = 4
    n_early_size: int = 2
    wn_n_layers: int = 8
    wn_n_channels: int = 256
    wn_kernel_size: int = 3
    upsample_kernel_size: int = 1024
    upsample_stride: int = 256
    # STFT used by the denoiser (tacotron2_common/stft.py via waveglow/denoiser.py)
    sampling_rate: int = 22050
    stft_filter_length: int = 1024
    stft_hop_length: int = 256
    stft_win_length: int = 1024
    denoiser_bias_frames: int = 88
    # runtime settings (DLE inference.py defaults)
    sigma: float = 0.9
    denoiser_strength: float = 0.01

    def remaining_channels(self, flow: int) -> int:
        """Audio channels still flowing at ``flow`` (8, 8, 8, 8, 6, ... for DLE)."""
        early = sum(1 for k in range(1, flow + 1) if k % self.n_early_every == 0)
        return self.n_group - early * self.n_early_size

    @property
    def n_remaining_channels(self) -> int:
        """Channels left after the last flow (4 for DLE)."""
        return self.remaining_channels(self.n_flows - 1)

    @property
    def cond_channels(self) -> int:
        """WN conditioning input width: n_mel_channels · n_group (640 for DLE)."""
        return self.n_mel_channels * self.n_group

    @classmethod
    def small(cls, **changes: Any) -> "WaveGlowConfig":
        """A tiny WaveGlow with the full structure (early outputs included), for fast tests."""
        base = dict(
            n_mel_channels=12, n_flows=6, n_group=8, n_early_every=2, n_early_size=2, wn_n_layers=3,
            wn_n_channels=16, wn_kernel_size=3, upsample_kernel_size=64, upsample_stride=16,
            stft_filter_length=64, stft_hop_length=16, stft_win_length=64, denoiser_bias_frames=12,
        )
        base.update(changes)
        return cls(**base)


from .hifigan_config import HiFiGANConfig  # noqa: E402 (it builds on _ConfigBase above)

CONFIG_CLASSES: dict[str, type[_ConfigBase]] = {
    Tacotron2Config.architecture: Tacotron2Config,
    WaveGlowConfig.architecture: WaveGlowConfig,
    HiFiGANConfig.architecture: HiFiGANConfig,
}
