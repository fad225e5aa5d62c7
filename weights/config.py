"""Model configurations: the one vocabulary for sizes shared by weights, layers, runtime and tools.

Field names follow the DLE constructor keywords (``tacotron2/arg_parser.py``, ``waveglow/arg_parser.py``).
Architecture fields are inferred from checkpoint tensor shapes (``weights.hparams``); runtime settings
(``max_decoder_steps``, ``gate_threshold``, ``sigma``, ``denoiser_strength``) carry DLE's inference defaults and
can be overridden at build time with :func:`dataclasses.replace`.  The HDF5 file stores ``to_dict()`` as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .config_base import ConfigError, Range, _ConfigBase, check_value, field_range  # noqa: F401 (re-exported)


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


from .hifigan_config import HiFiGANConfig  # noqa: E402 (registered below)

CONFIG_CLASSES: dict[str, type[_ConfigBase]] = {
    Tacotron2Config.architecture: Tacotron2Config,
    WaveGlowConfig.architecture: WaveGlowConfig,
    HiFiGANConfig.architecture: HiFiGANConfig,
}
