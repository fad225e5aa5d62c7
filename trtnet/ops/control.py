"""Conditional execution on a 0-D bool.  TRT: IIfConditional (both branches are built; one runs)."""

from __future__ import annotations

from typing import Callable, Sequence

from ..dtypes import DType
from ..errors import GraphError
from ..tensor import Tensor
from ._util import check_same_dtype


def cond(pred: Tensor, true_fn: Callable[..., Tensor | Sequence[Tensor]],
         false_fn: Callable[..., Tensor | Sequence[Tensor]], operands: Sequence[Tensor], *, name=None):
    """``true_fn(*operands)`` if pred else ``false_fn(*operands)``; both return the same number of tensors with
    equal dtypes and ranks.  Returns a Tensor or a list, as the branches do.  TRT: IIfConditional."""
    if pred.dtype != DType.bool or pred.ndim != 0:
        raise GraphError(f"cond: predicate {pred.name} must be a 0-D bool, got {pred.dtype} {pred.shape}")
    g = pred.graph
    if g.is_eager:
        return (true_fn if bool(pred.handle) else false_fn)(*operands)
    be = g.backend
    lname = g.layer_name(name or "cond")
    c = be.new_conditional(lname, pred.handle)
    ins = [g.wrap(be.add(lname, "input", t.handle, owner=c, part=f"in{i}").get_output(0), f"{lname}/in{i}")
           for i, t in enumerate(operands)]
    with g.scope(f"{name or 'cond'}/then"):
        t_out = true_fn(*ins)
    with g.scope(f"{name or 'cond'}/else"):
        f_out = false_fn(*ins)
    single = isinstance(t_out, Tensor)
    t_list, f_list = ([t_out], [f_out]) if single else (list(t_out), list(f_out))
    if len(t_list) != len(f_list):
        raise GraphError(f"cond '{lname}': branches return {len(t_list)} and {len(f_list)} tensors")
    outs = []
    for i, (a, b) in enumerate(zip(t_list, f_list)):
        check_same_dtype(f"cond '{lname}' output {i}", a, b)
        if a.ndim != b.ndim:
            raise GraphError(f"cond '{lname}' output {i}: ranks {a.ndim} and {b.ndim} differ")
        h = be.add(lname, "output", a.handle, b.handle, owner=c, part=f"out{i}").get_output(0)
        outs.append(g.wrap(h, f"{lname}/out{i}"))
    return outs[0] if single else outs
