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

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .dtypes import DType
from .errors import LoopError
from .tensor import Tensor


@dataclass
class LoopResult:
    state: Any
    collected: dict[str, Tensor]
    n_steps: Tensor


# ---- state structure ----------------------------------------------------------------------------------
def flatten_state(state: Any) -> tuple[list[str], list[Tensor], Callable[[Sequence[Tensor]], Any]]:
    """Field names, Tensor leaves, and a function that rebuilds the same structure from new leaves.  The top
    level is a dataclass, NamedTuple or dict (never a positional tuple); fields may hold lists of Tensors
    (leaf names ``h.0``, ``h.1``)."""
    if not (isinstance(state, Mapping) or _is_dataclass(state) or _is_namedtuple(state)):
        raise LoopError(f"loop state must be a dataclass, NamedTuple or dict of Tensors, got {type(state).__name__} "
                        "(never a positional tuple)")
    keys: list[str] = []
    leaves: list[Tensor] = []
    _flatten(state, "", keys, leaves)

    def rebuild(values: Sequence[Tensor]) -> Any:
        it = iter(values)
        return _rebuild(state, it)
    return keys, leaves, rebuild


def _is_dataclass(x: Any) -> bool:
    return dataclasses.is_dataclass(x) and not isinstance(x, type)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _children(x: Any) -> list[tuple[str, Any]] | None:
    if isinstance(x, Mapping):
        return list(x.items())
    if _is_dataclass(x):
        return [(f.name, getattr(x, f.name)) for f in dataclasses.fields(x)]
    if _is_namedtuple(x):
        return list(zip(x._fields, x))
    if isinstance(x, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(x)]
    return None


def _flatten(x: Any, prefix: str, keys: list[str], leaves: list[Any]) -> None:
    kids = _children(x)
    if kids is None:
        keys.append(prefix)
        leaves.append(x)
        return
    for k, v in kids:
        _flatten(v, f"{prefix}.{k}" if prefix else k, keys, leaves)


def _rebuild(x: Any, it: Any) -> Any:
    kids = _children(x)
    if kids is None:
        return next(it)
    vals = [_rebuild(v, it) for _, v in kids]
    if isinstance(x, Mapping):
        return dict(zip([k for k, _ in kids], vals))
    if _is_dataclass(x):
        return dataclasses.replace(x, **dict(zip([k for k, _ in kids], vals)))
    if _is_namedtuple(x):
        return type(x)(*vals)
    return type(x)(vals)


def _check_next(name: str, keys: list[str], carried: list[Tensor], nxt: Any) -> list[Tensor]:
    nkeys, nvals, _ = flatten_state(nxt)
    if nkeys != keys:
        missing = [k for k in keys if k not in nkeys]
        raise LoopError(f"loop '{name}': next state fields {nkeys} differ from carried {keys}"
                        + (f"; never updated: {missing}" if missing else ""))
    for k, before, after in zip(keys, carried, nvals):
        if not isinstance(after, Tensor):
            raise LoopError(f"loop '{name}': field '{k}' update is {type(after).__name__}, not a Tensor")
        if after is before:
            raise LoopError(f"loop '{name}': carried value '{k}' is never updated (returned unchanged); "
                            "capture loop-invariant values from outside instead of carrying them")
        if after.dtype != before.dtype:
            raise LoopError(f"loop '{name}': field '{k}' changes dtype {before.dtype} -> {after.dtype}")
        bs, as_ = before.shape, after.shape
        if len(bs) != len(as_) or any(isinstance(p, int) and isinstance(q, int) and p != q for p, q in zip(bs, as_)):
            raise LoopError(f"loop '{name}': field '{k}' changes shape {bs} -> {as_} (carried state has a fixed shape)")
    return nvals


def _check_keep_going(name: str, keep_going: Any) -> None:
    if keep_going is not None and (not isinstance(keep_going, Tensor) or keep_going.dtype != DType.bool
                                   or keep_going.ndim != 0):
        desc = f"{keep_going.dtype} {keep_going.shape}" if isinstance(keep_going, Tensor) else type(keep_going)
        raise LoopError(f"loop '{name}': keep_going must be a 0-D bool Tensor, got {desc}")


def _unpack(name: str, ret: Any) -> tuple[Any, dict, Any]:
    if not (isinstance(ret, tuple) and len(ret) == 3):
        raise LoopError(f"loop '{name}': body must return (next_state, collected_dict, keep_going_or_None)")
    nxt, emits, keep_going = ret
    emits = dict(emits or {})
    _check_keep_going(name, keep_going)
    return nxt, emits, keep_going


def _call(body: Callable, state: Any, x: dict) -> Any:
    return body(state, x)


# ---- the construct -------------------------------------------------------------------------------------
def loop(body: Callable, init: Any, *, max_steps: int | Tensor, sequences: Mapping[str, Tensor] | None = None,
         reverse: Sequence[str] = (), name: str = "loop") -> LoopResult:
    """Run ``body`` until it returns keep_going False or ``max_steps`` steps ran (see the module docstring).
    TRT: ILoop with COUNT (+ WHILE) trip limits, IRecurrenceLayer, IIteratorLayer, ILoopOutputLayer."""
    keys, values, rebuild = flatten_state(init)
    sequences = dict(sequences or {})
    unknown = set(reverse) - set(sequences)
    if unknown:
        raise LoopError(f"loop '{name}': reverse names {sorted(unknown)} are not among sequences {sorted(sequences)}")
    pool = values + list(sequences.values()) + ([max_steps] if isinstance(max_steps, Tensor) else [])
    if not pool or not all(isinstance(v, Tensor) for v in values):
        raise LoopError(f"loop '{name}': the carried state must be Tensors (fields {keys})")
    if isinstance(max_steps, int) and max_steps < 1:
        raise LoopError(f"loop '{name}': max_steps must be >= 1, got {max_steps}")
    g = values[0].graph
    from .backends import loop_eager, loop_trt
    run = loop_eager.run if g.is_eager else loop_trt.run
    return run(g, body, keys, values, rebuild, max_steps, sequences, set(reverse), name)


def zero_tail(stacked: Tensor, n_steps: Tensor, max_steps: int | Tensor) -> Tensor:
    """Set entries [n_steps:] of a [max_steps, ...] tensor to zero (TensorRT leaves them undefined)."""
    from . import ops
    g = stacked.graph
    steps = ops.arange(g, max_steps, DType.int32, name="step_index")
    keep = ops.less(steps, n_steps)
    keep = ops.reshape(keep, [0] + [1] * (stacked.ndim - 1)) if stacked.ndim > 1 else keep
    zero = g.constant(np.zeros((1,) * stacked.ndim, dtype=np.float32 if stacked.dtype is DType.bfloat16
                               else stacked.dtype.numpy), dtype=stacked.dtype)
    return ops.where(keep, stacked, zero, name="zero_tail")


__all__ = ["loop", "LoopResult", "flatten_state", "zero_tail", "_check_next", "_unpack", "_call"]
