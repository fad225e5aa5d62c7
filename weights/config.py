"""Model configurations: the one vocabulary for sizes shared by weights, layers, runtime and tools.

Field names follow the DLE constructor keywords (``tacotron2/arg_parser.py``, ``waveglow/arg_parser.py``).
Architecture fields are inferred from checkpoint tensor shapes (``weights.hparams``); runtime settings
(``max_decoder_steps``, ``gate_threshold``, ``sigma``, ``denoiser_strength``) carry DLE's inference defaults and
can be overridden at build time with :func:`dataclasses.replace`.  The HDF5 file stores ``to_dict()`` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .config_base import ConfigError, Range, _ConfigBase, check_value, field_range  # noqa: F401 (re-exported)

#: WaveGlow inference semantics, named after the code that defines them (README "Checkpoint formats"):
#: ``dle``       DLE ``waveglow/model.py``: every flow transforms the second half of its channels, conditioned on
#:               the first; early channels are injected after every flow k > 0 with k % n_early_every == 0.
#: ``glow``      NVIDIA/waveglow ``glow.py`` (every commit): the same math as ``dle``.
#: ``glow_old``  NVIDIA/waveglow ``glow_old.py`` (every commit): odd flows transform the *first* half, conditioned
#:               on the second; early channels are injected after every 4th flow whatever n_early_every says.
WAVEGLOW_VARIANTS = ("dle", "glow", "glow_old")
GLOW_OLD_EARLY_EVERY = 4  # glow_old.py's infer hard-codes ``k % 4 == 0``


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
    # inference semantics of the code that saved the model (WAVEGLOW_VARIANTS)
    variant: str = "dle"
    # runtime settings (DLE inference.py defaults)
    sigma: float = 0.9
    denoiser_strength: float = 0.01

    def __post_init__(self) -> None:
        if self.variant not in WAVEGLOW_VARIANTS:
            raise ConfigError(f"WaveGlowConfig.variant must be one of {list(WAVEGLOW_VARIANTS)}, got "
                              f"{self.variant!r}", "variant", self.variant, f"one of {list(WAVEGLOW_VARIANTS)}")
        for f in fields(self):
            if f.name != "variant":
                object.__setattr__(self, f.name, check_value(type(self), f.name, getattr(self, f.name)))
        self._check_early_outputs()

    def check_upsample(self) -> None:
        """ConfigError unless G | S and K ≥ S (inference needs S·T upsampled samples, grouped by G)."""
        if self.upsample_stride % self.n_group or self.upsample_kernel_size < self.upsample_stride:
            raise ConfigError(f"WaveGlow upsample_stride {self.upsample_stride} must be a multiple of n_group "
                              f"{self.n_group} and <= upsample_kernel_size {self.upsample_kernel_size}",
                              "upsample_stride", self.upsample_stride)

    def _check_early_outputs(self) -> None:
        """glow_old's fixed every-4th-flow injections must land where n_early_every puts the channel drops."""
        if self.variant == "glow_old" and self.n_early_size and self.injection_flows() != [
                k for k in reversed(range(self.n_flows)) if k % GLOW_OLD_EARLY_EVERY == 0 and k > 0]:
            raise ConfigError(f"WaveGlowConfig: variant glow_old injects early channels after every "
                              f"{GLOW_OLD_EARLY_EVERY}th flow, but n_early_every is {self.n_early_every} with "
                              f"{self.n_flows} flows (its own glow_old.py cannot run such a model)",
                              "n_early_every", self.n_early_every)

    def injection_flows(self) -> list[int]:
        """Flows after whose inverse early channels are prepended, in inverse-pass order (8, 4 for DLE)."""
        return [k for k in reversed(range(self.n_flows)) if k % self.n_early_every == 0 and k > 0]

    def swaps_halves(self, flow: int) -> bool:
        """Whether ``flow`` transforms its first half conditioned on its second (glow_old's odd flows)."""
        return self.variant == "glow_old" and flow % 2 == 1

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


from .fastpitch_config import FastPitchConfig  # noqa: E402 (registered below)
from .hifigan_config import HiFiGANConfig  # noqa: E402 (registered below)

CONFIG_CLASSES: dict[str, type[_ConfigBase]] = {
    Tacotron2Config.architecture: Tacotron2Config,
    WaveGlowConfig.architecture: WaveGlowConfig,
    HiFiGANConfig.architecture: HiFiGANConfig,
    FastPitchConfig.architecture: FastPitchConfig,
}
