"""Blocks shared by the Tacotron 2 and WaveGlow layers, written with trtnet ops only."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore


def valid_positions(lengths: Tensor, width: Any) -> Tensor:
    """[B, W] bool, True where t < lengths[b]; ``width`` an int or a 0-D int tensor (:func:`step_mask` in the
    row layout).  Every per-item length (text tokens, mel frames, audio samples) masks padding this way."""
    return step_mask(lengths, width, rows=True)


def keep_steps(lengths: Tensor, x: Tensor, rate: Any = 1) -> Tensor:
    """The padding mask of a channel-major x [B, C, W] or [B, C, W, 1]: [B, 1, W] (or [B, 1, W, 1]) bool,
    True where w < rate·lengths[b] (``rate`` an int or a 0-D int tensor).  One per resolution and network,
    shared by every layer at it (:func:`step_mask` at x's width)."""
    return step_mask(lengths, ops.dims(x)[2], x.ndim - 3, rate)


def step_mask(lengths: Tensor, width: Any, unit_axes: int = 0, rate: Any = 1, *, rows: bool = False) -> Tensor:
    """The one padding mask: True where w < rate·lengths[b], w in [0, W); ``width`` an int or a 0-D int tensor.
    Channel-major layout [B, 1, W] (``unit_axes`` more size-1 axes after W), or ``rows``: [B, W].
    TRT: IFillLayer LINSPACE, IShuffleLayer (placeholders), IElementWiseLayer (PROD when rate ≠ 1), LESS."""
    pos = ops.arange(lengths.graph, width, DType.int32, name="positions")
    n = lengths if isinstance(rate, int) and rate == 1 else lengths * rate
    if rows:
        return ops.less(ops.unsqueeze(pos, 0), ops.unsqueeze(n, 1), name="valid")
    tail = [1] * unit_axes
    return ops.less(ops.reshape(pos, [1, 1, -1, *tail]), ops.reshape(n, [0, 1, 1, *tail]), name="keep")


def with_unit_axis(w: np.ndarray) -> np.ndarray:
    """A conv kernel [O, C, K] → [O, C, K, 1], TensorRT's own layout (no reshape layer per conv)."""
    return w[..., None]


def zero_padding(x: Tensor, keep: Tensor, *, name: str = "mask_padding") -> Tensor:
    """x where ``keep`` (bool, broadcast against x), else 0: padded positions of a ragged batch become exactly
    the zeros a single run's convolution padding reads.  TRT: ISelectLayer."""
    return ops.where(keep, x, 0.0, name=name)


def lstm_update(gates: Tensor, c: Tensor, dtype: Any) -> tuple[Tensor, Tensor]:
    """PyTorch LSTM math on pre-activations gates [..., 4H] (order i, f, g, o) and cell c [..., H]:
    c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c').  Returns (h' cast to ``dtype``, c' in c's dtype).
    σ runs once over all 4H pre-activations (one layer, not three) and the gates are static channel slices.
    TRT: IActivationLayer, ISliceLayer (``axes``: no shape tensors), IElementWiseLayer."""
    hidden = gates.static_dim(-1) // 4
    sig = ops.sigmoid(gates)
    i, f, o = (ops.slice_axis(sig, -1, k * hidden, (k + 1) * hidden, name="gate") for k in (0, 1, 3))
    g = ops.slice_axis(gates, -1, 2 * hidden, 3 * hidden, name="gate")
    c2 = f * c + i * ops.tanh(g)
    h2 = o * ops.tanh(c2)
    return ops.cast(h2, dtype), c2


def lstm_step(x_proj: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor) -> tuple[Tensor, Tensor]:
    """One PyTorch LSTM step with the four gates fused in one GEMM: gates = x_proj + h·W_hhᵀ, then
    :func:`lstm_update`.  x_proj [B, 4H] = x·W_ihᵀ + b_ih + b_hh (computed by the caller, outside a loop where
    possible); w_hh_t is W_hhᵀ [H, 4H].  TRT: IMatrixMultiplyLayer."""
    return lstm_update(x_proj + ops.matmul(h, w_hh_t, name="gates"), c, h.dtype)


@contextlib.contextmanager
def module(g: Graph, store: WeightStore, prefix: str) -> Iterator[WeightStore]:
    """Enter the layer-name scope and the weight scope of one module at once: weights
    ``decoder.attention_rnn.*`` belong to layers ``decoder/attention_rnn/...``."""
    with g.scope(prefix):
        yield store.scoped(prefix)


def derived(g: Graph, store: WeightStore, name: str, dtype: Any, inputs: Mapping[str, Sequence[int | None] | None],
            make: Callable[..., np.ndarray]) -> Tensor:
    """A constant computed in numpy from weights ``inputs`` (key → expected shape): ``make(*arrays)`` with float
    weights as float64 (BatchNorm folding, fused gates, transposes), cast to ``dtype``, named ``name`` in the
    current scope.  ``make`` is a module-level function: the graph's weight manifest records the full keys and
    its name (:meth:`Graph.weight`).  Eager graphs compute it once per network, not per run or loop step.
    TRT: IConstantLayer."""
    local = {f"{store.prefix}.{k}" if store.prefix else k: (k, s) for k, s in inputs.items()}  # full → (key, shape)

    def read(full: str) -> np.ndarray:
        a = store.get(local[full][0], shape=local[full][1])
        return np.asarray(a, np.float64) if a.dtype.kind == "f" else a
    return g.weight(make, name=name, dtype=dtype, keys=list(local), read=read)


def param(g: Graph, store: WeightStore, key: str, dtype: Any, *, shape: Sequence[int | None] | None = None,
          transform: Callable[[np.ndarray], np.ndarray] | None = None, name: str | None = None) -> Tensor:
    """The constant for weight ``key`` (checked against ``shape``, optionally transformed by a module-level
    function), named after the key inside the current scope: :func:`derived` of one weight."""
    return derived(g, store, name or key.rsplit(".", 1)[-1], dtype, {key: shape}, transform or same)


def as_row(b: np.ndarray) -> np.ndarray:
    """A bias [N] as a [1, N] row: it adds to [B, N] without a reshape layer."""
    return b[None, :]


def same(x: np.ndarray) -> np.ndarray:
    """The identity transform of a weight used as stored."""
    return x
