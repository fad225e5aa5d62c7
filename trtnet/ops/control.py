"""Conditional execution on a 0-D bool.  TRT: IIfConditional (both branches are built; one runs)."""

from __future__ import annotations

from typing import Callable, Sequence

from ..control_flow import CondSpec, check_pred
from ..tensor import Tensor


def cond(pred: Tensor, true_fn: Callable[..., Tensor | Sequence[Tensor]],
         false_fn: Callable[..., Tensor | Sequence[Tensor]], operands: Sequence[Tensor], *, name=None):
    """``true_fn(*operands)`` if pred else ``false_fn(*operands)``; both return the same number of tensors with
    equal dtypes and ranks.  Returns a Tensor or a list, as the branches do.  The graph's backend lowers it
    (:meth:`Graph.control`; TensorRT traces both branches, eager runs the one ``pred`` picks).
    TRT: IIfConditional."""
    check_pred(pred)
    return pred.graph.control(CondSpec(name, pred, true_fn, false_fn, tuple(operands)))
