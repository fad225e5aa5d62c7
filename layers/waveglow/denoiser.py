"""WaveGlow bias denoiser (DLE ``waveglow/denoiser.py`` with ``tacotron2_common/stft.py``, spec §3), float32.

N = stft_filter_length, H = stft_hop_length, F = N/2 + 1 bins, frames = ⌊L/H⌋ + 1.
X = STFT(reflect-pad N/2 | audio | N/2) by a strided conv with the windowed DFT basis; m = |X|;
m' = max(m − strength·bias_spec, 0); X' = X·m'/m (the phase of X kept; where m = 0 the phase is 0, so X' = m');
y = conv_transpose(X', inverse basis) / window-sum-square (where > tiny) · N/H, then samples N/2 … N/2 + L − 1.

Output length: L, always.  When H | L (every WaveGlow output) all L samples are DLE's.  Otherwise DLE returns only
the first H·⌊L/H⌋; here the last L mod H samples come from the same overlap-add (the last frame covers them and
the window sum-square there is > 0), so with strength 0 they reconstruct the input like the rest.  Inputs shorter
than N/2 + 1 samples are padded by repeated reflection (TensorRT's REFLECT sampling); DLE refuses them.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights import stft_basis
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from ..common import module, param

F32 = DType.float32
TINY = float(np.finfo(np.float32).tiny)


def _sizes(cfg: WaveGlowConfig) -> tuple[int, int, int]:
    """(N, H, W); H ≤ N/2 keeps the last L mod H samples inside the last frame."""
    if 2 * cfg.stft_hop_length > cfg.stft_filter_length:
        raise ValueError(f"denoiser: stft_hop_length {cfg.stft_hop_length} exceeds half of stft_filter_length "
                         f"{cfg.stft_filter_length}")
    return cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length


def stft(g: Graph, audio: Tensor, cfg: WaveGlowConfig) -> tuple[Tensor, Tensor]:
    """audio [B, L] float32 → (Re, Im) [B, F, frames].  TRT: ISliceLayer REFLECT, IConvolutionLayer stride H."""
    n, hop, win = _sizes(cfg)
    with g.scope("stft"):
        x = ops.pad(ops.unsqueeze(audio, 1), [(n // 2, n // 2)], mode="reflect")  # [B, 1, L + N]
        basis = g.weight(lambda: stft_basis.forward_basis(n, hop, win), dtype=F32, name="forward_basis",
                         cache_key=f"stft|{n}|{hop}|{win}")
        spec = ops.conv1d(x, basis, stride=hop)  # [B, 2F, frames]
        re, im = ops.split(spec, 2, axis=1, name="re_im")
    return re, im


def subtract_bias(g: Graph, store: WeightStore, re: Tensor, im: Tensor, strength: Tensor, cfg: WaveGlowConfig
                  ) -> tuple[Tensor, Tensor]:
    """(Re, Im) [B, F, frames] → the spectrum with magnitude max(|X| − strength·bias_spec, 0), phase kept."""
    bins = cfg.stft_filter_length // 2 + 1
    with module(g, store, "denoiser") as d:
        bias = param(g, d, "bias_spec", F32, shape=(bins,), transform=lambda b: b.reshape(1, bins, 1))
        mag = ops.sqrt(re * re + im * im, name="magnitude")  # [B, F, frames]
        den = ops.maximum(mag - bias * strength, 0.0, name="denoised")
        nonzero = ops.greater(mag, 0.0)
        ratio = ops.where(nonzero, den / ops.maximum(mag, TINY), 0.0, name="ratio")
        return ops.where(nonzero, re * ratio, den, name="re"), ops.mul(im, ratio, name="im")


def istft(g: Graph, re: Tensor, im: Tensor, length: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """(Re, Im) [B, F, frames] → audio [B, length]: overlap-add with the inverse basis, divided by the window
    sum-square (itself the overlap-add of w² over the same frames, computed in-graph), × N/H, N/2 trimmed in
    front.  TRT: IDeconvolutionLayer stride H (twice), ISelectLayer, ISliceLayer."""
    n, hop, win = _sizes(cfg)
    with g.scope("istft"):
        basis = g.weight(lambda: stft_basis.inverse_basis(n, hop, win), dtype=F32, name="inverse_basis",
                         cache_key=f"stft|{n}|{hop}|{win}")
        y = ops.conv_transpose1d(ops.concat([re, im], axis=1), basis, stride=hop)  # [B, 1, (frames−1)·H + N]
        ones = ops.full(g, [1, 1, ops.dim_size(re, 2)], 1.0, F32, name="frames")  # [1, 1, frames]
        wsq = g.weight(lambda: stft_basis.window_square(n, win).reshape(1, 1, n), dtype=F32, name="window_square",
                       cache_key=f"stft|{n}|{win}")
        wss = ops.conv_transpose1d(ones, wsq, stride=hop, name="window_sumsquare")  # [1, 1, (frames−1)·H + N]
        covered = ops.greater(wss, TINY)
        y = ops.where(covered, y / ops.where(covered, wss, 1.0), y, name="normalise") * float(n / hop)
        y = ops.slice_axis(y, 2, n // 2, length + n // 2, name="trim")  # [B, 1, L]
        return ops.squeeze(y, 1)


def denoise(g: Graph, store: WeightStore, audio: Tensor, strength: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """audio [B, L] float32, strength [] float32 → denoised audio [B, L] float32 (module docstring)."""
    if audio.dtype is not F32 or strength.dtype is not F32:
        raise TypeError(f"denoise: audio and strength must be float32, got {audio.dtype} and {strength.dtype}")
    with g.scope("denoiser"):
        re, im = stft(g, audio, cfg)
    re, im = subtract_bias(g, store, re, im, strength, cfg)
    with g.scope("denoiser"):
        return istft(g, re, im, ops.dim_size(audio, 1), cfg)
