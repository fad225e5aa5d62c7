"""Constants, fills and random tensors; shapes may be static or run-time.  TRT: IConstantLayer, IFillLayer
(LINSPACE, RANDOM_UNIFORM, RANDOM_NORMAL), ISliceLayer (broadcast)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..dtypes import DType, as_dtype
from ..errors import DTypeError
from ..tensor import Tensor
from .shape import Size, _memo, broadcast_to, size_vector


def constant(g, value: Any, *, dtype: Any = None, name: str | None = None) -> Tensor:
    """A constant tensor from an array or scalar.  TRT: IConstantLayer."""
    return g.constant(value, dtype=dtype, name=name)


#: Most elements a fill's constant holds at its static sizes (beyond this, one element is repeated by a slice).
FULL_CONSTANT_ELEMENTS = 1 << 16


def full(g, sizes: Sequence[Size], value: float, dtype: Any, *, name=None) -> Tensor:
    """A tensor of ``sizes`` (ints and/or 0-D tensors) filled with ``value``: a constant of the static sizes (1
    on the run-time axes; one element repeated first when the static part exceeds FULL_CONSTANT_ELEMENTS),
    repeated along the run-time axes, so no size vector mixes the two (no concatenation).
    TRT: IConstantLayer + ISliceLayer stride 0 (one per kind of axis that needs it)."""
    dt = as_dtype(dtype)
    static = [int(s) if isinstance(s, (int, np.integer)) else 1 for s in sizes]
    at = static if int(np.prod(static)) <= FULL_CONSTANT_ELEMENTS else [1] * len(sizes)
    filled = g.constant(np.full(at, value, dtype=np.float32 if dt is DType.bfloat16 else dt.numpy),
                        dtype=dt, name=name)
    filled = broadcast_to(filled, static, name=name or "full")
    return broadcast_to(filled, sizes, name=name or "full")


def zeros(g, sizes: Sequence[Size], dtype: Any, *, name=None) -> Tensor:
    """A tensor of zeros."""
    return full(g, sizes, 0, dtype, name=name or "zeros")


def arange(g, n: Size, dtype: Any = DType.int32, *, name=None) -> Tensor:
    """[0, 1, …, n−1]; n an int or a 0-D int tensor.  One per graph for the same n and dtype (a deterministic
    fill: every mask at one resolution shares it).  TRT: IFillLayer LINSPACE."""
    key = ("arange", ("t", id(n)) if isinstance(n, Tensor) else int(n), str(as_dtype(dtype)))
    return _memo(g, key, [n] if isinstance(n, Tensor) else [], lambda: _fill(g, [n], "linspace", 0, 1, dtype,
                                                                              name or "arange"))


def random_uniform(g, sizes: Sequence[Size], low: float = 0.0, high: float = 1.0, dtype: Any = DType.float32,
                   *, name=None) -> Tensor:
    """U[low, high) of ``sizes``; fresh values per call (and per loop step).  TRT: IFillLayer RANDOM_UNIFORM.
    Eager twin: torch.rand with the graph's seeded generator (not the same numbers as TensorRT)."""
    return _fill(g, sizes, "random_uniform", low, high, dtype, name or "random_uniform")


def random_normal(g, sizes: Sequence[Size], mean: Any = 0.0, std: Any = 1.0, dtype: Any = DType.float32,
                  *, name=None) -> Tensor:
    """N(mean, std²) of ``sizes``; mean/std floats or 0-D tensors of ``dtype``.  TRT: IFillLayer RANDOM_NORMAL."""
    return _fill(g, sizes, "random_normal", mean, std, dtype, name or "random_normal")


def _fill(g, sizes: Sequence[Size], op: str, alpha: Any, beta: Any, dtype: Any, name: str) -> Tensor:
    dt = as_dtype(dtype)
    if op.startswith("random") and not dt.is_float:
        raise DTypeError(f"{name}: random fills produce floats, not {dt}")
    shape = size_vector(g, list(sizes))
    inputs = [shape] if isinstance(shape, Tensor) else []
    if isinstance(alpha, Tensor) or isinstance(beta, Tensor):
        alpha, beta = (v if isinstance(v, Tensor) else g.constant(np.array(v), dtype=dt) for v in (alpha, beta))
        if alpha.dtype != dt or beta.dtype != dt or alpha.ndim or beta.ndim:
            raise DTypeError(f"{name}: tensor alpha/beta must be 0-D {dt}, got {alpha.dtype}{alpha.shape} and "
                             f"{beta.dtype}{beta.shape}")
    return g.apply("fill", inputs, shape=None if inputs else shape, op=op, alpha=alpha, beta=beta, dtype=dt,
                   name=name)
