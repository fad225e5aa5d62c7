"""FastPitch's FFT transformer: positional encoding, masked multi-head self-attention, conv feed-forward,
post-norm LayerNorm.  Activations are time-major x [B, T, D]; ``keep`` [B, T, 1] bool is the padding mask.

  layer   a = LN(x + Wo·softmax(q·kᵀ/√d with keys outside ``keep`` at −∞)·v),  a = a where keep else 0
          x = LN(a + conv_k(ReLU(conv_k(a))·keep)),                           x = x where keep else 0
  LN      (x − μ)/√(σ² + 1e-5)·γ + β over D (biased σ², float32 in every precision)
Weights: ``{prefix}.layers.{i}.dec_attn.{qkv_net, o_net, layer_norm}``, ``….pos_ff.{CoreNet.0, CoreNet.2,
layer_norm}`` (DLE's names).  TRT: IMatrixMultiplyLayer, ISoftMaxLayer, ISelectLayer, IConvolutionLayer,
IReduceLayer AVG, IUnaryLayer SQRT/SIN/COS, IElementWiseLayer, IShuffleLayer.
"""

from __future__ import annotations

import math

import numpy as np

from trtnet import ops
from trtnet.dtypes import F32, DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import as_row, module, param, with_unit_axis, zero_padding

LN_EPS = 1e-5  # torch.nn.LayerNorm's default, which DLE keeps


def layer_norm(g: Graph, w: WeightStore, x: Tensor, width: int) -> Tensor:
    """LayerNorm over the last axis of x [..., D] with ``weight``/``bias`` [D] from ``w``; statistics in float32,
    result in x's dtype.  TRT: IReduceLayer AVG ×2, IUnaryLayer SQRT, IElementWiseLayer."""
    dtype = x.dtype
    x32 = ops.cast(x, F32)
    centred = x32 - ops.reduce_mean(x32, -1, keepdims=True, name="mean")
    var = ops.reduce_mean(centred * centred, -1, keepdims=True, name="variance")
    gamma = param(g, w, "weight", F32, shape=(width,), transform=as_row)
    beta = param(g, w, "bias", F32, shape=(width,), transform=as_row)
    return ops.cast(centred / ops.sqrt(var + LN_EPS) * gamma + beta, dtype)


def conv_time_major(g: Graph, w: WeightStore, x: Tensor, shape: tuple[int, int, int], dtype: DType) -> Tensor:
    """'same' conv1d (padding k // 2) of time-major x [B, T, C_in] → [B, T, C_out]; weight ``weight``
    [C_out, C_in, k], ``bias`` [C_out].  TRT: IShuffleLayer, IConvolutionLayer, IShuffleLayer."""
    weight = param(g, w, "weight", dtype, shape=shape, transform=with_unit_axis)
    bias = param(g, w, "bias", dtype, shape=(shape[0],))
    y = ops.conv1d(ops.unsqueeze(ops.transpose(x, 1, 2), 3), weight, bias, padding=shape[2] // 2)
    return ops.transpose(ops.squeeze(y, 3), 1, 2)


def inverse_frequencies(g: Graph, d: int) -> Tensor:
    """ω_j = 10000^(−2j/D) = exp(j·(−2·ln 10000 / D)), j < D/2: float32 [1, D/2], computed in the graph (a fill
    and one scale, so no array constant that the weights do not hold).  TRT: IFillLayer, IElementWiseLayer,
    IUnaryLayer EXP, IShuffleLayer."""
    j = ops.arange(g, d // 2, F32, name="frequency_index")
    return ops.unsqueeze(ops.exp(j * (-2.0 * math.log(10000.0) / d)), 0, name="inv_freq")


def positional_encoding(g: Graph, steps: Tensor, d: int, dtype: DType) -> Tensor:
    """P [T, D] = [sin(p·ω), cos(p·ω)] for p = steps (float32 [T, 1]), cast to ``dtype``."""
    angle = steps * inverse_frequencies(g, d)
    return ops.cast(ops.concat([ops.sin(angle), ops.cos(angle)], 1, name="positions"), dtype)


def attention(g: Graph, w: WeightStore, x: Tensor, key_ok: Tensor, d: int, heads: int, d_head: int) -> Tensor:
    """Multi-head self-attention with the residual and post-norm; key_ok [B, 1, 1, T] bool."""
    hd = heads * d_head
    dtype = x.dtype
    with module(g, w, "qkv_net") as m:
        qkv = ops.linear(x, param(g, m, "weight", dtype, shape=(3 * hd, d), transform=np.transpose),
                         param(g, m, "bias", dtype, shape=(3 * hd,), transform=as_row))
    qkv = ops.reshape(qkv, [0, 0, 3 * heads, d_head], perm=[0, 2, 1, 3])      # [B, 3H, T, d]
    q, k, v = ops.split(qkv, 3, axis=1)
    score = ops.matmul(q, k, transpose_b=True, name="scores") * (1.0 / math.sqrt(d_head))
    score = ops.where(key_ok, ops.cast(score, F32), float("-inf"), name="mask_keys")
    prob = ops.cast(ops.softmax(score, -1), dtype)
    ctx = ops.reshape(ops.permute(ops.matmul(prob, v, name="context"), [0, 2, 1, 3]), [0, 0, hd])  # [B, T, H·d]
    with module(g, w, "o_net") as m:
        out = x + ops.matmul(ctx, param(g, m, "weight", dtype, shape=(d, hd), transform=np.transpose), name="o_net")
    with module(g, w, "layer_norm") as m:
        return layer_norm(g, m, out, d)


def feed_forward(g: Graph, w: WeightStore, x: Tensor, keep: Tensor, d: int, d_inner: int, kernel: int) -> Tensor:
    """x + conv_k(ReLU(conv_k(x))), post-norm; the hidden layer is zeroed outside ``keep`` (as a single run's
    conv padding reads it)."""
    with module(g, w, "CoreNet.0") as m:
        h = zero_padding(ops.relu(conv_time_major(g, m, x, (d_inner, d, kernel), x.dtype)), keep)
    with module(g, w, "CoreNet.2") as m:
        h = conv_time_major(g, m, h, (d, d_inner, kernel), x.dtype)
    with module(g, w, "layer_norm") as m:
        return layer_norm(g, m, x + h, d)


def fft_stack(g: Graph, store: WeightStore, prefix: str, x: Tensor, keep: Tensor, sizes: dict[str, int]) -> Tensor:
    """x [B, T, D] + P·keep, then ``sizes['n_layers']`` FFT layers (weights under ``prefix``); keep [B, T, 1]."""
    d = x.static_dim(2)
    steps = ops.unsqueeze(ops.cast(ops.arange(g, ops.dims(x)[1], DType.int32), F32), 1)
    with g.scope(prefix):
        x = x + zero_padding(ops.unsqueeze(positional_encoding(g, steps, d, x.dtype), 0), keep)
    key_ok = ops.unsqueeze(ops.transpose(keep, 1, 2), 1)                          # [B, 1, 1, T]
    for i in range(sizes["n_layers"]):
        with module(g, store, f"{prefix}.layers.{i}") as w:
            with module(g, w, "dec_attn") as a:
                x = zero_padding(attention(g, a, x, key_ok, d, sizes["n_heads"], sizes["d_head"]), keep)
            with module(g, w, "pos_ff") as f:
                x = zero_padding(feed_forward(g, f, x, keep, d, sizes["d_inner"], sizes["kernel"]), keep)
    return x
