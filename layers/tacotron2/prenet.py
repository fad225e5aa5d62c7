"""Decoder prenet (``decoder.prenet``): n × (bias-free linear → ReLU → dropout), dropout on at inference (DLE).

Dropout is a keep mask already scaled by 1/(1−p): [B, n_layers·P] drawn in the engine (``random_keep``:
independent per element, layer, step and row; keep where u < 1−p), [B, n_layers, P] fed by the caller
(``scale_masks`` turns fed {0, 1} masks into scaled ones once, outside the loop), or None (off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import module, param
from .blocks import F32

N_LAYERS = 2  # DLE's Prenet(sizes=[prenet_dim, prenet_dim]): one mask row per layer


@dataclass
class PrenetParams:
    weights_t: list[Tensor]   # Wᵢᵀ [in, P] network dtype
    keep_prob: float          # 1 − p
    scale: float              # 1/(1 − p) (0 when p ≥ 1)
    dim: int


def prenet_params(g: Graph, store: WeightStore, dtype: DType) -> PrenetParams:
    cfg = store.config
    p_drop = float(cfg.prenet_dropout)
    sizes = [cfg.frame_dim] + [cfg.prenet_dim] * N_LAYERS
    weights = []
    for i in range(N_LAYERS):
        with module(g, store, f"decoder.prenet.layers.{i}.linear_layer") as w:
            weights.append(param(g, w, "weight", dtype, shape=(sizes[i + 1], sizes[i]), transform=np.transpose))
    return PrenetParams(weights, 1.0 - p_drop, 0.0 if p_drop >= 1.0 else 1.0 / (1.0 - p_drop), cfg.prenet_dim)


def prenet(p: PrenetParams, x: Tensor, keep: Tensor | Sequence[Tensor] | None) -> Tensor:
    """x [B, M] → [B, P]: per layer relu(x·Wᵀ) ⊙ keep_layer, ``keep`` [B, n_layers, P] or [B, n_layers·P] or one
    [B, P] mask per layer (split outside the loop: :func:`split_keep`) or None.  TRT: IMatrixMultiplyLayer,
    IActivationLayer."""
    masks = split_keep(keep, p.dim) if isinstance(keep, Tensor) else keep
    for i, w_t in enumerate(p.weights_t):
        x = ops.relu(ops.matmul(x, w_t, name=f"layer{i}"))
        if masks is not None:
            x = x * masks[i]
    return x


def split_keep(keep: Tensor, dim: int) -> list[Tensor]:
    """Keep masks [..., n_layers, P] (fed) or [..., n_layers·P] (drawn) → one [..., P] per layer (P = ``dim``):
    static slices of the last axis, after a reshape to [..., n_layers·P] for fed ones.
    TRT: IShuffleLayer (placeholders), ISliceLayer (``axes``)."""
    flat = keep
    if keep.static_dim(-1) == dim:
        flat = ops.reshape(keep, [0] * (keep.ndim - 2) + [keep.static_dim(-2) * dim], name="keep_layers")
    n = flat.static_dim(-1) // dim
    return [ops.slice_axis(flat, -1, i * dim, (i + 1) * dim, name=f"keep{i}") for i in range(n)]


def random_keep(p: PrenetParams, lead: Sequence, dtype: DType) -> Tensor:
    """Fresh scaled keep masks [*lead, n_layers·P] (``lead`` = [B] or [steps, B]; ints or 0-D tensors), drawn
    flat so that :func:`split_keep` only slices: scale where u < 1−p else 0, u ~ U[0, 1) float32.
    TRT: IFillLayer RANDOM_UNIFORM + ISelectLayer."""
    g = p.weights_t[0].graph
    u = ops.random_uniform(g, [*lead, N_LAYERS * p.dim], 0.0, 1.0, F32, name="dropout_uniform")
    scale = g.constant(np.full((1,) * u.ndim, p.scale), dtype=dtype, name="dropout_scale")
    return ops.where(ops.less(u, p.keep_prob), scale, 0.0, name="dropout_keep")


def scale_masks(p: PrenetParams, masks: Tensor) -> Tensor:
    """Fed keep masks {0, 1} [..., n_layers, P] → scaled by 1/(1−p) (done once, outside the loop)."""
    return masks * p.scale
