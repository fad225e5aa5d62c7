"""WaveGlow bias denoiser (DLE's ``waveglow/denoiser.py`` with its STFT), float32.

N = stft_filter_length, H = stft_hop_length, F = N/2 + 1 bins, frames = ⌊L/H⌋ + 1.
X = STFT(reflect-pad N/2 | audio | N/2) by a strided conv with the windowed DFT basis; m = |X|;
m' = max(m − strength·bias_spec, 0); X' = X·m'/m (the phase of X kept; where m = 0 the phase is 0, so X' = m');
y = conv_transpose(X', inverse basis) / window-sum-square (where > tiny) · N/H, then samples N/2 … N/2 + L − 1.

Ragged batches: item b has samples[b] valid samples (≤ L) and equals its single run on audio[b, :samples[b]]:
its padding reflects at its own end (a per-item gather), its STFT frames past ⌊samples[b]/H⌋ are zeroed and its
window sum-square counts only its own frames, so the overlap-add of the valid region sees exactly the single
run's frames.  Output samples at n ≥ samples[b] are 0.

Output length: L, always.  When H | samples[b] (every WaveGlow output) all samples are DLE's.  Otherwise DLE returns
only the first H·⌊samples/H⌋; here the last samples mod H come from the same overlap-add (the last frame covers
them and the window sum-square there is > 0), so with strength 0 they reconstruct the input like the rest.  Items
shorter than N/2 + 1 samples are padded by repeated reflection; DLE refuses them.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType, F32
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights import stft_basis
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from ..common import keep_steps, module, param, valid_positions, zero_padding

TINY = float(np.finfo(np.float32).tiny)


def _sizes(cfg: WaveGlowConfig) -> tuple[int, int, int]:
    """(N, H, W); H ≤ N/2 keeps the last L mod H samples inside the last frame."""
    if 2 * cfg.stft_hop_length > cfg.stft_filter_length:
        raise ValueError(f"denoiser: stft_hop_length {cfg.stft_hop_length} exceeds half of stft_filter_length "
                         f"{cfg.stft_filter_length}")
    return cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length


def reflect_pad(g: Graph, audio: Tensor, samples: Tensor, pad: int) -> Tensor:
    """audio [B, L], samples [B] int32 → [B, L + 2·pad]: out[b, q] = audio[b, r(q − pad)] with r reflecting into
    [0, samples[b]) without repeating the edges (PyTorch's reflect; repeated for short items):
    m = p mod 2(n − 1), r = m if m < n else 2(n − 1) − m.  TRT: IFillLayer LINSPACE, IElementWiseLayer
    (FLOOR_DIV, PROD, SUB, MIN, MAX), ISelectLayer, IGatherLayer on the flattened batch."""
    i32 = DType.int32
    batch, length = ops.dims(audio)
    n = ops.unsqueeze(samples, 1)                                                   # [B, 1]
    p = ops.unsqueeze(ops.arange(g, length + 2 * pad, i32, name="padded") - pad, 0)  # [1, L + 2·pad]
    period = ops.maximum((n - 1) * 2, 1, name="period")
    m = p - ops.floor_div(p, period) * period
    idx = ops.maximum(ops.minimum(ops.where(ops.less(m, n), m, period - m), n - 1), 0, name="source")
    row_size = length if isinstance(length, int) else ops.cast(length, i32)
    rows = ops.unsqueeze(ops.arange(g, batch, i32, name="rows"), 1) * row_size
    return ops.gather(ops.reshape(audio, [-1]), idx + rows, 0, name="reflect")     # [B, L + 2·pad]


def stft(g: Graph, audio: Tensor, samples: Tensor, cfg: WaveGlowConfig) -> tuple[Tensor, Tensor, Tensor]:
    """audio [B, L] float32, samples [B] int32 → (Re, Im) [B, F, frames] and each item's frame mask
    keep [B, 1, frames] (frame f is item b's iff f ≤ ⌊samples[b]/H⌋).  TRT: IGatherLayer (per-item reflect),
    IConvolutionLayer stride H."""
    n, hop, win = _sizes(cfg)
    with g.scope("stft"):
        x = ops.unsqueeze(reflect_pad(g, audio, samples, n // 2), 1)  # [B, 1, L + N]
        basis = g.weight(stft_basis.forward_basis, dtype=F32, name="forward_basis",
                         args={"filter_length": n, "hop_length": hop, "win_length": win})
        spec = ops.conv1d(x, basis, stride=hop)  # [B, 2F, frames]
        re, im = ops.split(spec, 2, axis=1, name="re_im")
        own = ops.floor_div(samples, hop) + 1
        keep = keep_steps(own, spec)
    return re, im, keep


def _as_channel_column(b: np.ndarray) -> np.ndarray:
    """bias_spec [F] → [1, F, 1] (broadcast over batch and frames)."""
    return b.reshape(1, -1, 1)


def window_square_kernel(filter_length: int, win_length: int) -> np.ndarray:
    """The squared window as a [1, 1, N] conv_transpose1d kernel (its overlap-add is the window sum-square)."""
    return stft_basis.window_square(filter_length, win_length).reshape(1, 1, filter_length)


def subtract_bias(g: Graph, store: WeightStore, re: Tensor, im: Tensor, strength: Tensor, cfg: WaveGlowConfig
                  ) -> tuple[Tensor, Tensor]:
    """(Re, Im) [B, F, frames] → the spectrum with magnitude max(|X| − strength·bias_spec, 0), phase kept."""
    bins = cfg.stft_filter_length // 2 + 1
    with module(g, store, "denoiser") as d:
        bias = param(g, d, "bias_spec", F32, shape=(bins,), transform=_as_channel_column)
        mag = ops.sqrt(re * re + im * im, name="magnitude")  # [B, F, frames]
        den = ops.maximum(mag - bias * strength, 0.0, name="denoised")
        nonzero = ops.greater(mag, 0.0)
        ratio = ops.where(nonzero, den / ops.maximum(mag, TINY), 0.0, name="ratio")
        return ops.where(nonzero, re * ratio, den, name="re"), ops.mul(im, ratio, name="im")


def istft(g: Graph, re: Tensor, im: Tensor, keep: Tensor, length: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """(Re, Im) [B, F, frames], keep [B, 1, frames] bool → audio [B, length]: overlap-add of each item's own
    frames with the inverse basis, divided by the window sum-square (the overlap-add of w² over the same frames,
    computed in-graph per item), × N/H, N/2 trimmed in front.  TRT: ISelectLayer, IDeconvolutionLayer stride H
    (twice), ISliceLayer."""
    n, hop, win = _sizes(cfg)
    with g.scope("istft"):
        basis = g.weight(stft_basis.inverse_basis, dtype=F32, name="inverse_basis",
                         args={"filter_length": n, "hop_length": hop, "win_length": win})
        spec = zero_padding(ops.concat([re, im], axis=1), keep, name="own_frames")  # [B, 2F, frames]
        y = ops.conv_transpose1d(spec, basis, stride=hop)  # [B, 1, (frames−1)·H + N]
        ones = ops.cast(keep, F32, name="frames")  # [B, 1, frames]
        wsq = g.weight(window_square_kernel, dtype=F32, name="window_square",
                       args={"filter_length": n, "win_length": win})
        wss = ops.conv_transpose1d(ones, wsq, stride=hop, name="window_sumsquare")  # [B, 1, (frames−1)·H + N]
        covered = ops.greater(wss, TINY)
        y = ops.where(covered, y / ops.where(covered, wss, 1.0), y, name="normalise") * float(n / hop)
        y = ops.slice_axis(y, 2, n // 2, length + n // 2, name="trim")  # [B, 1, L]
        return ops.squeeze(y, 1)


def denoise(g: Graph, store: WeightStore, audio: Tensor, samples: Tensor, strength: Tensor, cfg: WaveGlowConfig
            ) -> Tensor:
    """audio [B, L] float32, samples [B] int32 (valid samples per item), strength [] float32 → denoised audio
    [B, L] float32, 0 at n ≥ samples[b] (module docstring)."""
    if audio.dtype is not F32 or strength.dtype is not F32:
        raise TypeError(f"denoise: audio and strength must be float32, got {audio.dtype} and {strength.dtype}")
    with g.scope("denoiser"):
        re, im, keep = stft(g, audio, samples, cfg)
    re, im = subtract_bias(g, store, re, im, strength, cfg)
    with g.scope("denoiser"):
        y = istft(g, re, im, keep, ops.dim_size(audio, 1), cfg)
        return zero_padding(y, valid_positions(samples, ops.dims(y)[1]), name="mask_output")
