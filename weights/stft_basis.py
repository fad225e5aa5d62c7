"""STFT bases of DLE's ``tacotron2_common/stft.py`` as plain numpy (float64), for the denoiser network.

N = filter_length, H = hop_length, W = win_length ≤ N, F = N/2 + 1 frequency bins, s = N/H.

* window w [N]: periodic Hann of length W, w[n] = ½ − ½·cos(2πn/W), zero-padded to N in the centre.
* DFT rows M [2F, N]: M[k] = cos(2πkn/N) and M[F + k] = −sin(2πkn/N), k = 0 … N/2 (Re and Im of e^{−2πikn/N}).
* forward basis [2F, 1, N] = M · w (each row times the window).
* inverse basis [2F, 1, N] = pinv(s·M)ᵀ · w.  The rows of M are mutually orthogonal (M·Mᵀ = D diagonal, D_k = N
  for the cosines at k = 0 and N/2, N/2 for the other cosines and sines, 0 for the sines at k = 0 and N/2), so
  pinv(s·M) = Mᵀ·D⁺ / s exactly: row k of pinv(s·M)ᵀ is M[k] / (s·D_k), or 0 where D_k = 0.  This closed form
  equals ``numpy.linalg.pinv`` (DLE's construction) to rounding and costs no SVD.
* window sum-square [N + H·(frames − 1)]: Σ_i w²[n − i·H] (librosa ``window_sumsquare``), what the inverse STFT
  divides by.
"""

from __future__ import annotations

import functools

import numpy as np


def _check(filter_length: int, hop_length: int, win_length: int) -> None:
    if not 0 < win_length <= filter_length or hop_length <= 0 or filter_length % hop_length or filter_length % 2:
        raise ValueError(f"STFT sizes need an even filter_length, 0 < win_length ≤ filter_length and hop_length | "
                         f"filter_length; got filter {filter_length}, hop {hop_length}, win {win_length}")


def periodic_hann(length: int) -> np.ndarray:
    """w[n] = ½ − ½·cos(2πn/length), n = 0 … length−1 (scipy ``get_window('hann', length, fftbins=True)``)."""
    if length < 1:
        raise ValueError(f"window length must be >= 1, got {length}")
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)


def window(filter_length: int, win_length: int) -> np.ndarray:
    """The periodic Hann of ``win_length`` centred in ``filter_length`` zeros ((N − W)//2 on the left): [N]."""
    if win_length > filter_length:
        raise ValueError(f"win_length {win_length} exceeds filter_length {filter_length}")
    left = (filter_length - win_length) // 2
    return np.pad(periodic_hann(win_length), (left, filter_length - win_length - left))


def dft_rows(filter_length: int) -> np.ndarray:
    """M [2F, N]: rows cos(2πkn/N), then −sin(2πkn/N), for k = 0 … N/2."""
    k = np.arange(filter_length // 2 + 1)[:, None]
    n = np.arange(filter_length)[None, :]
    phase = 2.0 * np.pi * ((k * n) % filter_length) / filter_length  # k·n reduced mod N exactly
    return np.vstack([np.cos(phase), -np.sin(phase)])


@functools.lru_cache(maxsize=8)
def _bases(filter_length: int, hop_length: int, win_length: int) -> tuple[np.ndarray, np.ndarray]:
    _check(filter_length, hop_length, win_length)
    rows = dft_rows(filter_length)
    w = window(filter_length, win_length)
    norms = np.einsum("kn,kn->k", rows, rows)  # D = diag(M·Mᵀ)
    scale = filter_length / hop_length
    inv_d = np.divide(1.0, scale * norms, out=np.zeros_like(norms), where=norms > 0.5)
    forward, inverse = rows * w, rows * inv_d[:, None] * w
    for arr in (forward, inverse):
        arr.flags.writeable = False
    return forward[:, None, :], inverse[:, None, :]


def forward_basis(filter_length: int, hop_length: int, win_length: int) -> np.ndarray:
    """[2F, 1, N] float64: the windowed DFT rows (conv1d weight, stride H)."""
    return _bases(filter_length, hop_length, win_length)[0]


def inverse_basis(filter_length: int, hop_length: int, win_length: int) -> np.ndarray:
    """[2F, 1, N] float64: pinv((N/H)·M)ᵀ · window (conv_transpose1d weight, stride H)."""
    return _bases(filter_length, hop_length, win_length)[1]


def window_square(filter_length: int, win_length: int) -> np.ndarray:
    """w² [N]: one frame's contribution to the window sum-square."""
    return window(filter_length, win_length) ** 2


def window_sumsquare(n_frames: int, filter_length: int, hop_length: int, win_length: int) -> np.ndarray:
    """Σ_{i < frames} w²[n − i·H], n = 0 … N + H·(frames − 1) − 1: [N + H·(frames − 1)] float64."""
    _check(filter_length, hop_length, win_length)
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    wsq = window_square(filter_length, win_length)
    out = np.zeros(filter_length + hop_length * (n_frames - 1))
    for i in range(n_frames):
        out[i * hop_length: i * hop_length + filter_length] += wsq
    return out


def frames(length: int, hop_length: int) -> int:
    """Frames of a centred (reflect-padded N/2 per side) STFT of ``length`` samples: ⌊length/H⌋ + 1."""
    return length // hop_length + 1
