"""A functional loop: the body is a function, so the TensorRT backend can trace it once into an ILoop while the
eager backend runs it once per step with the same semantics.

    result = loop(body, init, max_steps=cfg.max_decoder_steps, sequences={"mask": masks}, name="decoder")
    # body(state, x) -> (next_state, {"mel": frame, ...}, keep_going | None)

* ``init`` is the carried state: a dataclass, NamedTuple or dict of Tensors (``carry``); the body returns
  the ``next_state`` of the same structure (``update``).  A field left out, or returned unchanged, is an error:
  loop-invariant values are captured from the enclosing scope instead.
* ``x`` holds ``x["step"]`` (0-D int32, the iteration index) and one slice per entry of ``sequences`` (axis 0;
  names in ``reverse`` iterate from index max_steps−1 down, as TensorRT's reverse iterator does).
* The loop always has a COUNT limit (``max_steps``: an int, or a 0-D int32/int64 shape tensor).  When the body
  returns ``keep_going`` (0-D bool computed from the next state), iteration i+1 runs only if iteration i
  returned True — TensorRT's WHILE limit on a recurrence.  The step whose ``keep_going`` is False is kept.
* Results: ``state`` (the last state, LAST_VALUE), ``collected[name]`` ([max_steps, ...] CONCATENATE on axis 0,
  entries at and past ``n_steps`` set to zero, never garbage) and ``n_steps`` (0-D int32).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .control_flow import LoopResult, LoopSpec, check_max_steps, flatten_state
from .dtypes import DType
from .errors import LoopError
from .tensor import Tensor


def loop(body: Callable, init: Any, *, max_steps: int | Tensor, sequences: Mapping[str, Tensor] | None = None,
         reverse: Sequence[str] = (), name: str = "loop", final: Sequence[str] | None = None) -> LoopResult:
    """Run ``body`` until it returns keep_going False or ``max_steps`` steps ran (see the module docstring).
    ``final``: the carried fields whose last value the caller reads (default all); the others come back as None
    and cost no loop output (one ILoopOutputLayer per field otherwise).
    The contract is checked in :mod:`trtnet.control_flow`; the graph's backend lowers the loop
    (:meth:`Graph.control`).  TRT: ILoop with COUNT (+ WHILE) trip limits, IRecurrenceLayer, IIteratorLayer,
    ILoopOutputLayer."""
    keys, values, rebuild = flatten_state(init)
    sequences = dict(sequences or {})
    unknown = set(reverse) - set(sequences)
    if unknown:
        raise LoopError(f"loop '{name}': reverse names {sorted(unknown)} are not among sequences {sorted(sequences)}")
    if not values or not all(isinstance(v, Tensor) for v in values):
        raise LoopError(f"loop '{name}': the carried state must be Tensors (fields {keys})")
    check_max_steps(name, max_steps)
    fields = {k.split(".", 1)[0] for k in keys}
    if final is not None and not set(final) <= fields:
        raise LoopError(f"loop '{name}': final names {sorted(set(final) - fields)} are not carried fields {sorted(fields)}")
    spec = LoopSpec(name, body, keys, values, rebuild, max_steps, sequences, frozenset(reverse),
                    None if final is None else frozenset(final))
    return spec.graph.control(spec)


def zero_tail(stacked: Tensor, n_steps: Tensor, max_steps: int | Tensor) -> Tensor:
    """Set entries [n_steps:] of a [max_steps, ...] tensor to zero (TensorRT leaves them undefined).  Outputs of
    one rank share one mask [max_steps, 1, …].  TRT: IFillLayer LINSPACE, IElementWiseLayer LESS, IShuffleLayer,
    ISelectLayer."""
    from . import ops
    g = stacked.graph
    from .ops.shape import _memo
    steps = ops.arange(g, max_steps, DType.int32, name="step_index")
    keep = _memo(g, ("tail", id(steps), id(n_steps)), [steps, n_steps], lambda: ops.less(steps, n_steps))
    if stacked.ndim > 1:
        flat = keep
        keep = _memo(g, ("tail", id(flat), stacked.ndim), [flat],
                     lambda: ops.reshape(flat, [0] + [1] * (stacked.ndim - 1)))
    zero = g.constant(np.zeros((1,) * stacked.ndim, dtype=np.float32 if stacked.dtype is DType.bfloat16
                               else stacked.dtype.numpy), dtype=stacked.dtype)
    return ops.where(keep, stacked, zero, name="zero_tail")


__all__ = ["loop", "LoopResult", "flatten_state", "zero_tail"]
