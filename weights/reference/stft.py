"""STFT of DLE's ``tacotron2_common/stft.py``, written from the math with numpy only.

N = filter_length, H = hop_length, F = N/2 + 1 frequency bins.
forward basis [2F, 1, N]: rows = (Re | Im) of the first F rows of the N-point DFT matrix e^{-2πi·k·n/N},
times the periodic Hann window (centred, zero-padded to N).  inverse basis [2F, 1, N] =
pinv((N/H)·DFT)ᵀ times the same window.  transform: reflect-pad N/2, strided conv → (magnitude, phase);
inverse: conv-transpose, divide by the window sum-square where it is not ~0, × N/H, trim N/2 per side.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def periodic_hann(length: int) -> np.ndarray:
    """w[n] = 0.5 − 0.5·cos(2πn/length), n = 0 … length−1 (scipy ``get_window('hann', fftbins=True)``)."""
    n = np.arange(length, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def pad_center(x: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad a 1-D array to ``size``, (size − len)//2 zeros on the left (librosa ``pad_center``)."""
    if len(x) > size:
        raise ValueError(f"cannot centre-pad length {len(x)} to {size}")
    left = (size - len(x)) // 2
    return np.pad(x, (left, size - len(x) - left))


def window_sumsquare(n_frames: int, hop_length: int, win_length: int, filter_length: int) -> np.ndarray:
    """Σ_frames w²[n − i·H] of the centred periodic Hann, length N + H·(n_frames − 1) (librosa semantics)."""
    length = filter_length + hop_length * (n_frames - 1)
    win_sq = pad_center(periodic_hann(win_length) ** 2, filter_length)
    out = np.zeros(length)
    for i in range(n_frames):
        start = i * hop_length
        stop = min(length, start + filter_length)
        out[start:stop] += win_sq[: stop - start]
    return out


class STFT(nn.Module):
    """transform(audio [B, L]) → (magnitude, phase) [B, F, L//H + 1]; inverse(...) → [B, 1, H·(frames−1)]."""

    def __init__(self, filter_length: int = 1024, hop_length: int = 256, win_length: int = 1024):
        super().__init__()
        if win_length > filter_length or filter_length % hop_length:
            raise ValueError(f"need win_length ≤ filter_length and hop | filter_length; got "
                             f"filter {filter_length}, hop {hop_length}, win {win_length}")
        self.filter_length, self.hop_length, self.win_length = filter_length, hop_length, win_length
        self.n_freq = filter_length // 2 + 1
        k = np.arange(self.n_freq)[:, None]
        n = np.arange(filter_length)[None, :]
        angle = 2.0 * np.pi * k * n / filter_length
        fourier = np.vstack([np.cos(angle), -np.sin(angle)])  # [2F, N], float64
        # pinv(s·F) = (FᵀF)⁻¹Fᵀ / s: F has full column rank (FᵀF has eigenvalues N/2 and N); cheaper than an SVD
        inverse = np.linalg.solve(fourier.T @ fourier, fourier.T).T * (hop_length / filter_length)  # [2F, N]
        window = pad_center(periodic_hann(win_length), filter_length)
        self.register_buffer("forward_basis", torch.from_numpy(fourier * window)[:, None, :])
        self.register_buffer("inverse_basis", torch.from_numpy(inverse * window)[:, None, :])

    def transform(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio [B, L] (L > N/2) → magnitude, phase [B, F, L//H + 1]."""
        pad = self.filter_length // 2
        if audio.dim() != 2 or audio.shape[1] <= pad:
            raise ValueError(f"STFT input must be [B, L] with L > {pad} (reflect padding); got {tuple(audio.shape)}")
        x = F.pad(audio.unsqueeze(1), (pad, pad), mode="reflect")
        spec = F.conv1d(x, self.forward_basis.to(audio.dtype), stride=self.hop_length)
        real, imag = spec[:, : self.n_freq], spec[:, self.n_freq:]
        return torch.sqrt(real ** 2 + imag ** 2), torch.atan2(imag, real)

    def inverse(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """magnitude, phase [B, F, frames] → audio [B, 1, H·(frames − 1)]."""
        spec = torch.cat([magnitude * torch.cos(phase), magnitude * torch.sin(phase)], dim=1)
        out = F.conv_transpose1d(spec, self.inverse_basis.to(spec.dtype), stride=self.hop_length)
        wss = self._window_sumsquare(magnitude.shape[-1], out.dtype, out.device)
        nonzero = wss > torch.finfo(out.dtype).tiny
        out = torch.where(nonzero, out / torch.where(nonzero, wss, torch.ones_like(wss)), out)
        out = out * (self.filter_length / self.hop_length)
        pad = self.filter_length // 2
        return out[:, :, pad: out.shape[-1] - pad]

    def _window_sumsquare(self, frames: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The window's summed squares [frames·H + N − H] on ``device``, made once per (frames, dtype, device):
        no host-to-device copy per call, so a warmed-up inverse can be captured in a CUDA graph."""
        key = (frames, dtype, device)
        cache = self.__dict__.setdefault("_wss", {})
        if key not in cache:
            cache[key] = torch.from_numpy(window_sumsquare(frames, self.hop_length, self.win_length,
                                                           self.filter_length)).to(dtype).to(device)
        return cache[key]
