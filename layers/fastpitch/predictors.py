"""FastPitch's temporal predictors, pitch/energy embeddings and the length regulator.

  predictor   h = x·keep;  n × h = LN(ReLU(conv_k(h)))·keep;  out = (h·Wᵀ + b)·keep           [B, L, n_out]
  durations   dur = clamp(exp(log_dur) − 1, 0, max_duration)                                   float32
  regulator   r = ⌊dur / pace + 0.5⌋;  e_i = Σ_{j≤i} r_j (a matmul with the triangle j ≤ i);  s_i = e_i − r_i
              take[b, t, i] = s_i ≤ t < e_i for t < T (the ``max_frames`` shape input);  y = take · x
              mel_lengths = min(Σ r, T)
The regulator runs in float32 (the sums are exact integers below 2^24); ``take`` is 0/1, so y is exact in any
precision.  TRT: IConvolutionLayer, IReduceLayer, IUnaryLayer EXP/FLOOR, IMatrixMultiplyLayer, IElementWiseLayer.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import F32, I32, DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import as_row, module, param, zero_padding
from .transformer import conv_time_major, layer_norm


def predictor(g: Graph, store: WeightStore, prefix: str, x: Tensor, keep: Tensor, sizes: dict[str, int],
              n_out: int) -> Tensor:
    """DLE TemporalPredictor on x [B, L, D] → [B, L, n_out] (x's dtype), 0 outside ``keep``."""
    h = zero_padding(x, keep)
    with module(g, store, prefix) as w:
        for j in range(sizes["n_layers"]):
            c_in = h.static_dim(2)
            with module(g, w, f"layers.{j}") as lw:
                with module(g, lw, "conv") as m:
                    h = ops.relu(conv_time_major(g, m, h, (sizes["filter"], c_in, sizes["kernel"]), x.dtype))
                with module(g, lw, "norm") as m:
                    h = zero_padding(layer_norm(g, m, h, sizes["filter"]), keep)
        with module(g, w, "fc") as m:
            out = ops.linear(h, param(g, m, "weight", x.dtype, shape=(n_out, sizes["filter"]), transform=np.transpose),
                             param(g, m, "bias", x.dtype, shape=(n_out,), transform=as_row))
    return zero_padding(out, keep)


def embed(g: Graph, store: WeightStore, prefix: str, values: Tensor, d: int, kernel: int) -> Tensor:
    """conv_k of per-symbol values [B, L, C] → [B, L, D] (DLE's ``pitch_emb`` / ``energy_emb``)."""
    with module(g, store, prefix) as w:
        return conv_time_major(g, w, values, (d, values.static_dim(2), kernel), values.dtype)


def durations(log_dur: Tensor, max_duration: float) -> Tensor:
    """[B, L, 1] log-durations → float32 [B, L]: clamp(exp(·) − 1, 0, max_duration)."""
    return ops.clamp(ops.exp(ops.squeeze(ops.cast(log_dur, F32), 2)) - 1.0, 0.0, max_duration)


def regulate(g: Graph, dur: Tensor, pace: Tensor, x: Tensor, max_frames: Tensor) -> tuple[Tensor, Tensor]:
    """Each symbol of x [B, L, D] repeated ⌊dur/pace + 0.5⌋ times into T = ``max_frames`` frames:
    (y [B, T, D] in x's dtype, mel_lengths int32 [B] ≤ T).  pace float32 [B]."""
    with g.scope("length_regulator"):
        reps = ops.floor(dur / ops.unsqueeze(pace, 1) + 0.5, name="repeats")              # [B, L]
        sym = ops.arange(g, ops.dims(dur)[1], DType.int32)
        tri = ops.cast(ops.less_equal(ops.unsqueeze(sym, 1), ops.unsqueeze(sym, 0)), F32)  # [L, L]: j ≤ i
        ends = ops.squeeze(ops.matmul(ops.unsqueeze(reps, 1), tri, name="cumsum"), 1)     # [B, L]
        starts = ends - reps
        frames = ops.unsqueeze(ops.cast(ops.arange(g, max_frames, DType.int32), F32), 1)  # [T, 1]
        take = ops.logical_and(ops.less_equal(ops.unsqueeze(starts, 1), frames),
                               ops.greater(ops.unsqueeze(ends, 1), frames), name="take")   # [B, T, L]
        y = ops.matmul(ops.cast(take, x.dtype), x, name="expand")
        total = ops.reduce_sum(reps, 1, name="total_frames")
        lengths = ops.cast(ops.minimum(total, ops.cast(ops.cast(max_frames, I32), F32)), I32, name="mel_lengths")
    return y, lengths
