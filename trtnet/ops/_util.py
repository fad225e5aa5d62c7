"""Operand handling shared by the ops: finding the graph, lifting Python scalars, rank broadcasting."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..dtypes import DType, as_dtype
from ..errors import DTypeError, GraphError, ShapeError
from ..tensor import Tensor

Scalar = (int, float, bool, np.integer, np.floating, np.bool_)


def graph_of(*values: Any):
    for v in values:
        if isinstance(v, Tensor):
            return v.graph
        if isinstance(v, (list, tuple)):
            for item in v:
                if isinstance(item, Tensor):
                    return item.graph
    raise GraphError("an op needs at least one Tensor operand to know its graph")


def lift(value: Any, like: Tensor) -> Tensor:
    """A Python scalar becomes a constant of ``like``'s dtype and rank ([1]*rank), as TensorRT needs."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, Scalar):
        arr = np.full((1,) * like.ndim, value, dtype=np.float32 if like.dtype is DType.bfloat16 else like.dtype.numpy)
        return like.graph.constant(arr, dtype=like.dtype)
    raise GraphError(f"cannot use {type(value).__name__} {value!r} as an operand beside {like.name}")


def check_same_dtype(op: str, *ts: Tensor) -> DType:
    dts = {t.dtype for t in ts}
    if len(dts) != 1:
        desc = ", ".join(f"{t.name}: {t.dtype}" for t in ts)
        raise DTypeError(f"{op}: operands must have one dtype in a strongly typed network ({desc}); "
                         "cast one explicitly with ops.cast")
    return dts.pop()


def check_dtype(op: str, t: Tensor, allowed: Sequence[DType]) -> None:
    if t.dtype not in allowed:
        raise DTypeError(f"{op}: {t.name} has dtype {t.dtype}; allowed: {[str(d) for d in allowed]}")


def norm_axis(axis: int, rank: int, op: str) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(f"{op}: axis {axis} out of range for rank {rank}")
    return axis % rank if rank else 0


def float_types() -> tuple[DType, ...]:
    return (DType.float32, DType.float16, DType.bfloat16)


def as_dt(value: Any) -> DType:
    return as_dtype(value)
