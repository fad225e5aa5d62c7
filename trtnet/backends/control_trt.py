"""TensorRT lowering of :func:`trtnet.loop.loop`: the body is traced once on recurrence tensors."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..dtypes import DType
from ..errors import LoopError
from ..loop import LoopResult, _call, _check_next, _unpack, zero_tail


def _count(g: Any, max_steps: Any) -> Any:
    """The COUNT trip limit / CONCATENATE length: a 0-D int32 or int64 tensor known before the loop."""
    if isinstance(max_steps, int):
        return g.constant(np.array(max_steps, np.int32), name="max_steps")
    if max_steps.ndim != 0 or max_steps.dtype not in (DType.int32, DType.int64):
        raise LoopError(f"max_steps must be an int or a 0-D int32/int64 shape tensor, got {max_steps!r}")
    return max_steps


def run(g: Any, body: Callable, keys, values, rebuild, max_steps, sequences, reverse, name) -> LoopResult:
    be, trt = g.backend, g.backend.trt
    lname = g.layer_name(name)
    lp = be.new_loop(lname)
    count = _count(g, max_steps)
    be.add(lname, "trip_limit", count.handle, trt.TripLimit.COUNT, owner=lp, part="count")

    recs = [be.add(lname, "recurrence", v.handle, owner=lp, part=f"carry/{k}") for k, v in zip(keys, values)]
    carried = [g.wrap(r.get_output(0), f"{lname}/carry/{k}") for r, k in zip(recs, keys)]
    zero = g.constant(np.array(0, np.int32), name=f"{name}_step0")
    step_rec = be.add(lname, "recurrence", zero.handle, owner=lp, part="step")
    step = g.wrap(step_rec.get_output(0), f"{lname}/step")
    x = {"step": step}
    for k, seq in sequences.items():
        it = be.add(lname, "iterator", seq.handle, 0, k in reverse, owner=lp, part=f"iterate/{k}")
        x[k] = g.wrap(it.get_output(0), f"{lname}/iterate/{k}")

    with g.scope(name):
        nxt, emits, keep_going = _unpack(name, _call(body, rebuild(carried), x))
        next_step = step + 1
    for r, v in zip(recs, _check_next(name, keys, carried, nxt)):
        r.set_input(1, v.handle)
    step_rec.set_input(1, next_step.handle)
    if keep_going is not None:
        true = g.constant(np.array(True), name=f"{name}_keep_going0")
        kg = be.add(lname, "recurrence", true.handle, owner=lp, part="keep_going")
        kg.set_input(1, keep_going.handle)
        be.add(lname, "trip_limit", kg.get_output(0), trt.TripLimit.WHILE, owner=lp, part="while")

    def last(rec: Any, part: str) -> Any:
        return be.add(lname, "loop_output", rec.get_output(0), trt.LoopOutput.LAST_VALUE, 0, owner=lp,
                      part=f"last/{part}").get_output(0)

    final = [g.wrap(last(r, k), f"{lname}/last/{k}") for r, k in zip(recs, keys)]
    n_steps = g.wrap(last(step_rec, "n_steps"), f"{lname}/n_steps")
    collected = {}
    for k, v in emits.items():
        lo = be.add(lname, "loop_output", v.handle, trt.LoopOutput.CONCATENATE, 0, owner=lp, part=f"collect/{k}")
        lo.set_input(1, count.handle)
        with g.scope(f"{name}/collect/{k}"):
            # a static cap keeps the index constant static; a shape-tensor cap stays dynamic
            length = max_steps if isinstance(max_steps, int) else count
            collected[k] = zero_tail(g.wrap(lo.get_output(0), f"{lname}/collect/{k}"), n_steps, length)
    return LoopResult(rebuild(final), collected, n_steps)

