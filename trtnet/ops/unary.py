"""Unary ops and casts.  TRT: IUnaryLayer, IActivationLayer (relu/tanh/sigmoid), ICastLayer."""

from __future__ import annotations

from ..tensor import Tensor
from ._util import as_dt, check_dtype, float_types


def _unary(op: str, x: Tensor, name: str | None, floats_only: bool = True) -> Tensor:
    if floats_only:
        check_dtype(op, x, float_types())
    return x.graph.apply("unary", [x], op=op, name=name or op)


def exp(x, *, name=None) -> Tensor:
    """eˣ."""
    return _unary("exp", x, name)


def log(x, *, name=None) -> Tensor:
    """ln x."""
    return _unary("log", x, name)


def sqrt(x, *, name=None) -> Tensor:
    """√x."""
    return _unary("sqrt", x, name)


def reciprocal(x, *, name=None) -> Tensor:
    """1 / x."""
    return _unary("recip", x, name)


def sin(x, *, name=None) -> Tensor:
    """sin x."""
    return _unary("sin", x, name)


def cos(x, *, name=None) -> Tensor:
    """cos x."""
    return _unary("cos", x, name)


def floor(x, *, name=None) -> Tensor:
    """⌊x⌋."""
    return _unary("floor", x, name)


def abs(x, *, name=None) -> Tensor:  # noqa: A001
    """|x| (floats and ints)."""
    return _unary("abs", x, name, floats_only=False)


def neg(x, *, name=None) -> Tensor:
    """−x (floats and ints)."""
    return _unary("neg", x, name, floats_only=False)


def relu(x, *, name=None) -> Tensor:
    """max(x, 0).  TRT: IActivationLayer RELU."""
    return _unary("relu", x, name)


def tanh(x, *, name=None) -> Tensor:
    """tanh x.  TRT: IActivationLayer TANH."""
    return _unary("tanh", x, name)


def sigmoid(x, *, name=None) -> Tensor:
    """1 / (1 + e⁻ˣ).  TRT: IActivationLayer SIGMOID."""
    return _unary("sigmoid", x, name)


def cast(x: Tensor, dtype, *, name=None) -> Tensor:
    """x converted to ``dtype`` (float→int truncates; bool→number gives 0/1).  TRT: ICastLayer."""
    dt = as_dt(dtype)
    if dt == x.dtype:
        return x
    return x.graph.apply("cast", [x], dtype=dt, name=name or "cast")
