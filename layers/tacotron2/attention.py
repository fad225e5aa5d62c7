"""Location-sensitive attention (``decoder.attention_layer``), energies and softmax in float32.

    e[b, t] = v · tanh(W_q q_b + W_l conv([α; Σα])_t + W_m m_t)   (−∞-like on padded t),  α' = softmax_t(e)
    context_b = Σ_t α'[b, t] m[b, t]

Shapes: B batch, T = T_in, E encoder dim, A attention_dim, H_att attention_rnn_dim, K location kernel.
``location_dense ∘ location_conv`` are both linear and bias-free, so they are folded (numpy, float64) into one
conv 2 → A with kernel W_dense·W_conv, stored [A, 2, K, 1] (TensorRT's layout: no reshape of the kernel); the
attention then works channel-major ([B, A, T]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import derived, module, param, step_mask
from .blocks import F32

MASKED_ENERGY = -1e9  # float32 energy of padded positions: exp underflows to exactly 0, no inf arithmetic


@dataclass
class AttentionParams:
    query_t: Tensor       # [H_att, A] network dtype
    location: Tensor      # [A, 2, K, 1] float32 (dense folded into the conv)
    v: Tensor             # [1, 1, A] float32
    kernel: int


@dataclass
class AttentionMemory:
    """Loop-invariant attention inputs, computed once before the decode."""

    memory: Tensor              # [B, T, E] network dtype
    processed_t: Tensor         # [B, A, T] float32: processed_memory, channel-major
    mask_bias: Tensor           # [B, 1, T] float32: 0 on valid positions, MASKED_ENERGY on padding


def _fold_location(conv: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """location_dense ∘ location_conv as one conv 2 → A: W[a, c, k, 0] = Σ_f dense[a, f]·conv[f, c, k]."""
    return np.einsum("af,fck->ack", dense, conv)[..., None]


def _as_row_kernel(v: np.ndarray) -> np.ndarray:
    """v.weight [1, A] → [1, 1, A] (broadcast against the [B, 1, A] energies' inputs)."""
    return v.reshape(1, 1, -1)


def attention_params(g: Graph, store: WeightStore, dtype: DType) -> AttentionParams:
    """The weights of ``decoder.attention_layer`` except memory_layer (applied by the encoder)."""
    cfg = store.config
    a, k, n_filters = cfg.attention_dim, cfg.attention_location_kernel_size, cfg.attention_location_n_filters
    with module(g, store, "decoder.attention_layer.query_layer.linear_layer") as w:
        query_t = param(g, w, "weight", dtype, shape=(a, cfg.attention_rnn_dim), transform=np.transpose)
    with module(g, store, "decoder.attention_layer.location_layer") as w:
        location = derived(g, w, "dense_conv_folded", F32, {"location_conv.conv.weight": (n_filters, 2, k),
                                                             "location_dense.linear_layer.weight": (a, n_filters)},
                           _fold_location)
    with module(g, store, "decoder.attention_layer.v.linear_layer") as w:
        v = param(g, w, "weight", F32, shape=(1, a), transform=_as_row_kernel)
    return AttentionParams(query_t, location, v, k)


def attention_memory(memory: Tensor, processed_memory: Tensor, lengths: Tensor) -> AttentionMemory:
    """memory [B, T, E], processed_memory [B, T, A] (network dtype), lengths int32 [B] → loop invariants, the
    padding mask built at [B, 1, T] (:func:`step_mask`)."""
    processed_t = ops.cast(ops.transpose(processed_memory, 1, 2), F32)
    zero = ops.zeros(memory.graph, [1, 1, 1], F32)
    bias = ops.where(step_mask(lengths, ops.dims(memory)[1]), zero, MASKED_ENERGY, name="mask_bias")
    return AttentionMemory(memory, processed_t, bias)


def attend(p: AttentionParams, mem: AttentionMemory, query: Tensor, weights: Tensor, weights_cum: Tensor
           ) -> tuple[Tensor, Tensor]:
    """query [B, H_att] (network dtype), weights / weights_cum [B, 1, T] float32 → (context [B, E] network
    dtype, new weights [B, 1, T] float32: the softmax's own layout, stacked as the conv's channels as they are).
    TRT: IMatrixMultiplyLayer, IConvolutionLayer, IActivationLayer TANH, ISoftMaxLayer (axis T)."""
    pq = ops.unsqueeze(ops.cast(ops.matmul(query, p.query_t, name="query"), F32), 2)             # [B, A, 1]
    stacked = ops.concat([weights, weights_cum], axis=1)                                        # [B, 2, T]
    pl = ops.conv1d(stacked, p.location, padding=(p.kernel - 1) // 2, name="location")           # [B, A, T]
    energies = ops.matmul(p.v, ops.tanh(pq + pl + mem.processed_t), name="energies")            # [B, 1, T]
    alpha = ops.softmax(energies + mem.mask_bias, axis=2)                                       # [B, 1, T]
    context = ops.matmul(ops.cast(alpha, mem.memory.dtype), mem.memory, name="context")         # [B, 1, E]
    return ops.squeeze(context, 1), alpha
