"""Tensor: a value of a Graph, on either backend.

It carries its graph, the backend handle (a TensorRT ``ITensor`` or a ``torch.Tensor``), its dtype and name.
Shapes are tuples of ``int`` and, for dimensions TensorRT only knows at run time, ``str`` symbols (the input's
declared dimension name where known, else ``"?"``).  Arithmetic dunders delegate to ``trtnet.ops``;
``__bool__`` raises, because a graph value has no truth value while a network is being defined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dtypes import DType

if TYPE_CHECKING:
    from .graph import Graph

Shape = tuple  # tuple[int | str, ...]


class Tensor:
    __slots__ = ("graph", "handle", "dtype", "name", "__weakref__")

    def __init__(self, graph: "Graph", handle: Any, dtype: DType, name: str):
        self.graph = graph
        self.handle = handle
        self.dtype = dtype
        self.name = name

    # ---- shape ---------------------------------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        return self.graph.backend.shape_of(self)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def static_dim(self, axis: int) -> int:
        """The size of ``axis`` as an int; raises if it is only known at run time."""
        d = self.shape[axis]
        if not isinstance(d, int):
            from .errors import ShapeError
            raise ShapeError(f"{self.name}: axis {axis} of shape {self.shape} is dynamic ('{d}'); "
                             "use ops.dim_size for a run-time value")
        return d

    # ---- python protocol -----------------------------------------------------------------------------
    def __bool__(self) -> bool:
        raise TypeError(f"a trtnet Tensor ({self.name}) has no truth value while a graph is defined; "
                        "use ops.where / ops.cond / a loop condition instead")

    def __repr__(self) -> str:
        return f"Tensor({self.name!r}, {self.dtype}, shape={self.shape})"

    __hash__ = object.__hash__  # identity; comparison is ops.equal, never __eq__

    # ---- arithmetic (each delegates to one op) -----------------------------------------------------
    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().sub(self, o)
    def __rsub__(self, o): return _ops().sub(o, self)
    def __mul__(self, o): return _ops().mul(self, o)
    def __rmul__(self, o): return _ops().mul(o, self)
    def __truediv__(self, o): return _ops().div(self, o)
    def __rtruediv__(self, o): return _ops().div(o, self)
    def __pow__(self, o): return _ops().pow(self, o)
    def __neg__(self): return _ops().neg(self)
    def __matmul__(self, o): return _ops().matmul(self, o)
    def __lt__(self, o): return _ops().less(self, o)
    def __gt__(self, o): return _ops().greater(self, o)
    def __le__(self, o): return _ops().less_equal(self, o)
    def __ge__(self, o): return _ops().greater_equal(self, o)
    def __and__(self, o): return _ops().logical_and(self, o)
    def __or__(self, o): return _ops().logical_or(self, o)
    def __invert__(self): return _ops().logical_not(self)

    # ---- conveniences (see trtnet.ops) -------------------------------------------------------------
    def cast(self, dtype) -> "Tensor": return _ops().cast(self, dtype)
    def reshape(self, *shape) -> "Tensor": return _ops().reshape(self, shape[0] if len(shape) == 1 else shape)
    def permute(self, *perm) -> "Tensor": return _ops().permute(self, perm)


def _ops():
    from . import ops
    return ops
