"""Numeric transforms of checkpoint tensors shared by the WaveGlow and HiFi-GAN converters (float64 math)."""

from __future__ import annotations

import numpy as np

from .config import WaveGlowConfig


def fold_weight_norm(g: np.ndarray, v: np.ndarray) -> np.ndarray:
    """w = g · v / ‖v‖ for g [O,1,1], v [O,I,K]; norm over (I, K) per output row; float64 math → float32."""
    v64 = v.astype(np.float64)
    norm = np.sqrt(np.einsum("oik,oik->o", v64, v64))[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero row gives NaN, caught by the finite check
        return (g.astype(np.float64).reshape(-1, 1, 1) * v64 / norm).astype(np.float32)


def first_frame_magnitude(audio: np.ndarray, config: WaveGlowConfig) -> np.ndarray:
    """|STFT| frame 0 [N//2+1] of audio [L]: reflect-pad N/2, window (periodic Hann centred in N), |rfft|."""
    from .reference.stft import pad_center, periodic_hann

    n = config.stft_filter_length
    frame = np.pad(audio.astype(np.float64), n // 2, mode="reflect")[:n]
    return np.abs(np.fft.rfft(frame * pad_center(periodic_hann(config.stft_win_length), n)))
