"""WaveGlow bias denoiser (DLE ``waveglow/denoiser.py``).

bias_spec [1, F, 1] = |STFT| (first frame only) of ``waveglow.infer(zeros(1, n_mel, bias_frames), sigma=0)``.
forward(audio, strength): |X| − strength·bias_spec, clamped ≥ 0, recombined with the phase of X, inverse STFT.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import WaveGlowConfig
from .stft import STFT
from .waveglow import WaveGlowReference


@torch.no_grad()
def _bias_frame(waveglow: WaveGlowReference, stft: STFT, bias_frames: int) -> torch.Tensor:
    """|STFT| of the zero-mel, zero-noise audio, first frame: [F] in the waveglow's dtype."""
    cfg = waveglow.config
    ref = next(waveglow.parameters())
    mel = torch.zeros(1, cfg.n_mel_channels, bias_frames, dtype=ref.dtype, device=ref.device)
    steps = bias_frames * cfg.upsample_stride // cfg.n_group
    z = torch.zeros(1, cfg.n_group, steps, dtype=ref.dtype, device=ref.device)  # sigma = 0: noise is irrelevant
    audio = waveglow.infer(mel, sigma=0.0, z=z)
    magnitude, _ = stft.transform(audio)
    return magnitude[0, :, 0]


def bias_spectrum(waveglow: WaveGlowReference, config: WaveGlowConfig | None = None) -> torch.Tensor:
    """The denoiser's bias spectrum [stft_filter_length // 2 + 1] (STFT and bias_frames from ``config``)."""
    cfg = config or waveglow.config
    stft = STFT(cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length).to(next(waveglow.parameters()).device)
    return _bias_frame(waveglow, stft, cfg.denoiser_bias_frames)


class Denoiser(nn.Module):
    """forward(audio [B, L], strength) → denoised audio [B, 1, H·(L//H)] (DLE returns [B, 1, ·] too)."""

    def __init__(self, waveglow: WaveGlowReference, filter_length: int = 1024, hop_length: int = 256,
                 win_length: int = 1024, bias_frames: int = 88):
        super().__init__()
        self.stft = STFT(filter_length, hop_length, win_length).to(next(waveglow.parameters()).device)
        self.register_buffer("bias_spec", _bias_frame(waveglow, self.stft, bias_frames)[None, :, None])

    @classmethod
    def from_config(cls, waveglow: WaveGlowReference, config: WaveGlowConfig | None = None) -> "Denoiser":
        cfg = config or waveglow.config
        return cls(waveglow, cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length, cfg.denoiser_bias_frames)

    @torch.no_grad()
    def forward(self, audio: torch.Tensor, strength: float = 0.1) -> torch.Tensor:
        magnitude, phase = self.stft.transform(audio)
        magnitude = torch.clamp(magnitude - self.bias_spec.to(magnitude.dtype) * strength, min=0.0)
        return self.stft.inverse(magnitude, phase)
