"""Binary elementwise ops with NumPy broadcasting (equal ranks after left padding).  TRT: IElementWiseLayer;
``where``: ISelectLayer."""

from __future__ import annotations

from typing import Any

from ..dtypes import DType
from ..errors import GraphError
from ..tensor import Tensor
from ._util import check_dtype, check_same_dtype, float_types, lift
from .shape import expand_rank


def operands(op: str, a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Lift scalars, check equal dtypes (strong typing), and left-pad the lower rank with size-1 dims."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise GraphError(f"{op}: at least one operand must be a Tensor, got {a!r} and {b!r}")
    like = a if isinstance(a, Tensor) else b
    a, b = lift(a, like), lift(b, like)
    check_same_dtype(op, a, b)
    if a.ndim < b.ndim:
        a = expand_rank(a, b.ndim)
    elif b.ndim < a.ndim:
        b = expand_rank(b, a.ndim)
    return a, b


def _binary(op: str, a: Any, b: Any, name: str | None) -> Tensor:
    a, b = operands(op, a, b)
    return a.graph.apply("elementwise", [a, b], op=op, name=name or op)


def add(a, b, *, name=None) -> Tensor:
    """a + b."""
    return _binary("add", a, b, name)


def sub(a, b, *, name=None) -> Tensor:
    """a − b."""
    return _binary("sub", a, b, name)


def mul(a, b, *, name=None) -> Tensor:
    """a · b."""
    return _binary("mul", a, b, name)


def div(a, b, *, name=None) -> Tensor:
    """a / b (integers: truncated toward zero, as TensorRT's DIV)."""
    return _binary("div", a, b, name)


def floor_div(a, b, *, name=None) -> Tensor:
    """⌊a / b⌋ (TRT FLOOR_DIV)."""
    return _binary("floor_div", a, b, name)


def minimum(a, b, *, name=None) -> Tensor:
    """min(a, b)."""
    return _binary("min", a, b, name)


def maximum(a, b, *, name=None) -> Tensor:
    """max(a, b)."""
    return _binary("max", a, b, name)


def pow(a, b, *, name=None) -> Tensor:  # noqa: A001 - the op is named after the math
    """a ** b (floats)."""
    a, b = operands("pow", a, b)
    check_dtype("pow", a, float_types())
    return a.graph.apply("elementwise", [a, b], op="pow", name=name or "pow")


def equal(a, b, *, name=None) -> Tensor:
    """a == b → bool."""
    return _binary("equal", a, b, name)


def less(a, b, *, name=None) -> Tensor:
    """a < b → bool."""
    return _binary("less", a, b, name)


def greater(a, b, *, name=None) -> Tensor:
    """a > b → bool."""
    return _binary("greater", a, b, name)


def less_equal(a, b, *, name=None) -> Tensor:
    """a ≤ b = not (a > b) → bool."""
    return logical_not(greater(a, b), name=name or "less_equal")


def greater_equal(a, b, *, name=None) -> Tensor:
    """a ≥ b = not (a < b) → bool."""
    return logical_not(less(a, b), name=name or "greater_equal")


def _logical(op: str, a: Any, b: Any, name: str | None) -> Tensor:
    a, b = operands(op, a, b)
    check_dtype(op, a, (DType.bool,))
    return a.graph.apply("elementwise", [a, b], op=op, name=name or f"logical_{op}")


def logical_and(a, b, *, name=None) -> Tensor:
    """a ∧ b (bool)."""
    return _logical("and", a, b, name)


def logical_or(a, b, *, name=None) -> Tensor:
    """a ∨ b (bool)."""
    return _logical("or", a, b, name)


def logical_xor(a, b, *, name=None) -> Tensor:
    """a ⊕ b (bool)."""
    return _logical("xor", a, b, name)


def logical_not(x: Tensor, *, name=None) -> Tensor:
    """¬x (bool).  TRT: IUnaryLayer NOT."""
    check_dtype("logical_not", x, (DType.bool,))
    return x.graph.apply("unary", [x], op="not", name=name or "logical_not")


def where(cond: Tensor, a: Any, b: Any, *, name=None) -> Tensor:
    """cond ? a : b, broadcast.  TRT: ISelectLayer."""
    check_dtype("where", cond, (DType.bool,))
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        raise TypeError("where: a or b must be a Tensor")
    a, b = lift(a, like), lift(b, like)
    check_same_dtype("where", a, b)
    rank = max(cond.ndim, a.ndim, b.ndim)
    cond, a, b = (expand_rank(t, rank) for t in (cond, a, b))
    return cond.graph.apply("select", [cond, a, b], name=name or "where")


def clamp(x: Tensor, low: Any = None, high: Any = None, *, name=None) -> Tensor:
    """min(max(x, low), high) for the bounds given."""
    if low is not None:
        x = maximum(x, low, name=name)
    if high is not None:
        x = minimum(x, high, name=name)
    return x
