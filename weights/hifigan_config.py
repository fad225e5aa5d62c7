"""HiFiGANConfig: DLE HiFi-GAN generator sizes plus its mel front end and denoiser settings.

Field names follow DLE's generator ``config`` (``upsample_rates``, ``upsample_kernel_sizes``,
``upsample_initial_channel``, ``resblock``, ``resblock_kernel_sizes``, ``resblock_dilation_sizes``) and, for the
STFT the denoiser uses, WaveGlowConfig's (``stft_filter_length``, ``stft_hop_length``, ``stft_win_length``,
``denoiser_bias_frames``), so the STFT denoiser layers read either config.  Importable from
``weights.config`` (which registers it in ``CONFIG_CLASSES``).

Shapes: C = upsample_initial_channel, stage i (0 ≤ i < U = len(upsample_rates)) maps C/2^i → C/2^(i+1) channels
and multiplies time by u_i; hop = Π u_i audio samples per mel frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .config_base import ConfigError, _ConfigBase, check_value

RESBLOCK_KINDS = ("1", "2")
INT_LISTS = ("upsample_rates", "upsample_kernel_sizes", "resblock_kernel_sizes")


def _int_tuple(name: str, value: Any) -> tuple[int, ...]:
    """``value`` as a non-empty tuple of ints >= 1, else ConfigError naming the field and the value."""
    label = f"HiFiGANConfig.{name}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"{label} must be a list of ints >= 1, got {value!r}", name, value, "a list of ints >= 1")
    items = tuple(value)
    if not items or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in items):
        raise ConfigError(f"{label} must be a non-empty list of ints >= 1, got {value!r}", name, value,
                          "a non-empty list of ints >= 1")
    return items


@dataclass(frozen=True)
class HiFiGANConfig(_ConfigBase):
    """DLE HiFi-GAN V1 defaults (LJSpeech 22.05 kHz) plus the denoiser's STFT; lists are stored as tuples."""

    architecture: ClassVar[str] = "hifigan"
    runtime_fields: ClassVar[tuple[str, ...]] = ("denoiser_strength",)

    n_mel_channels: int = 80
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (11, 7, 3)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    pre_kernel_size: int = 7  # conv_pre (DLE: 7, padding 3)
    post_kernel_size: int = 7  # conv_post (DLE: 7, padding 3)
    # mel front end (DLE train_setup) and the denoiser STFT (DLE hifigan Denoiser: hop = filter_length / 4)
    sampling_rate: int = 22050
    stft_filter_length: int = 1024
    stft_hop_length: int = 256
    stft_win_length: int = 1024
    mel_fmin: float = 0.0
    mel_fmax: float = 8000.0
    denoiser_bias_frames: int = 88
    # runtime setting (DLE inference default for HiFi-GAN)
    denoiser_strength: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in INT_LISTS:
                value = _int_tuple(f.name, value)
            elif f.name == "resblock_dilation_sizes":
                if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                    raise ConfigError(f"HiFiGANConfig.{f.name} must be a list of lists of ints >= 1, got {value!r}",
                                      f.name, value, "a list of lists of ints >= 1")
                value = tuple(_int_tuple(f.name, d) for d in value)
            elif f.name == "resblock":
                value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
                if value not in RESBLOCK_KINDS:
                    raise ConfigError(f"HiFiGANConfig.resblock must be one of {list(RESBLOCK_KINDS)}, got {value!r}",
                                      f.name, value, f"one of {list(RESBLOCK_KINDS)}")
            else:
                value = check_value(type(self), f.name, value)
            object.__setattr__(self, f.name, value)
        self._check_structure()

    def _check_structure(self) -> None:
        """Cross-field rules: one kernel per rate, even k − u ≥ 0 (output exactly u·T), C divisible by 2^U,
        odd resblock kernels ('same' padding), one dilation list per resblock kernel."""
        problems = []
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            problems.append(f"upsample_rates {list(self.upsample_rates)} and upsample_kernel_sizes "
                            f"{list(self.upsample_kernel_sizes)} differ in length")
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if k < u or (k - u) % 2:
                problems.append(f"upsample kernel {k} with rate {u}: k − u must be even and >= 0")
        if self.upsample_initial_channel % (2 ** self.num_upsamples):
            problems.append(f"upsample_initial_channel {self.upsample_initial_channel} is not divisible by "
                            f"2^{self.num_upsamples}")
        for name in ("resblock_kernel_sizes",):
            if any(k % 2 == 0 for k in getattr(self, name)):
                problems.append(f"{name} {list(getattr(self, name))} must be odd")
        for name in ("pre_kernel_size", "post_kernel_size"):
            if getattr(self, name) % 2 == 0:
                problems.append(f"{name} {getattr(self, name)} must be odd")
        if len(self.resblock_dilation_sizes) != len(self.resblock_kernel_sizes):
            problems.append(f"resblock_dilation_sizes has {len(self.resblock_dilation_sizes)} lists for "
                            f"{len(self.resblock_kernel_sizes)} resblock_kernel_sizes")
        if 2 * self.stft_hop_length > self.stft_filter_length or self.stft_win_length > self.stft_filter_length:
            problems.append(f"STFT hop {self.stft_hop_length} / window {self.stft_win_length} do not fit filter "
                            f"{self.stft_filter_length} (hop <= filter/2, window <= filter)")
        if problems:
            raise ConfigError("HiFiGANConfig: " + "; ".join(problems))

    @property
    def num_upsamples(self) -> int:
        """U: upsample stages."""
        return len(self.upsample_rates)

    @property
    def num_kernels(self) -> int:
        """Resblocks per stage (their outputs are averaged)."""
        return len(self.resblock_kernel_sizes)

    @property
    def upsample_stride(self) -> int:
        """hop = Π u_i: audio samples per mel frame (256 for DLE), the name WaveGlowConfig uses."""
        return math.prod(self.upsample_rates)

    def stage_channels(self, i: int) -> int:
        """Channels after upsample stage i: C / 2^(i+1); stage −1 is conv_pre's C."""
        return self.upsample_initial_channel // (2 ** (i + 1))

    def stage_stride(self, i: int) -> int:
        """Audio samples per mel frame after stage i: Π_{j ≤ i} u_j (1 for i = −1)."""
        return math.prod(self.upsample_rates[: i + 1])

    def convs_per_resblock(self, j: int) -> int:
        """Dilated convs in resblock j: one per dilation (ResBlock1: pairs c1_d, c2)."""
        return len(self.resblock_dilation_sizes[j])

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for name in INT_LISTS:
            out[name] = list(out[name])
        out["resblock_dilation_sizes"] = [list(d) for d in out["resblock_dilation_sizes"]]
        return out

    @classmethod
    def small(cls, **changes: Any) -> "HiFiGANConfig":
        """A tiny HiFi-GAN with the full structure (4 stages, 3 resblocks of 3 dilations), hop 16."""
        base = dict(
            n_mel_channels=12, upsample_rates=(2, 2, 2, 2), upsample_kernel_sizes=(4, 4, 4, 4),
            upsample_initial_channel=32, resblock_kernel_sizes=(5, 3, 3),
            resblock_dilation_sizes=((1, 3, 5), (1, 3, 5), (1, 2, 3)), pre_kernel_size=7, post_kernel_size=7,
            stft_filter_length=64, stft_hop_length=16, stft_win_length=64, denoiser_bias_frames=12,
        )
        base.update(changes)
        return cls(**base)
