"""Eager twins of the control flow in :mod:`trtnet.control_flow`: a loop's body runs once per step, stopping
and padding as TensorRT does; a conditional runs the branch its predicate picks."""

from __future__ import annotations

from typing import Any

import torch

from ..control_flow import CondSpec, LoopResult, LoopSpec, check_collected
from ..errors import LoopError


def run_loop(be: Any, spec: LoopSpec) -> LoopResult:
    """Step i sees the state after step i−1 and sequence entries [i] (reverse: [max_steps−1−i]); steps stop after
    the first one returning keep_going False or at max_steps.  Every step gets the layer names of TensorRT's
    single trace.  Collected values are stacked and zero-padded to max_steps."""
    g, name, device = be.graph, spec.name, be.device
    limit = spec.max_steps if isinstance(spec.max_steps, int) else int(spec.max_steps.handle)
    for k, seq in spec.sequences.items():
        if seq.shape[0] < limit:
            raise LoopError(f"loop '{name}': sequence '{k}' has {seq.shape[0]} entries on axis 0 but the loop may "
                            f"run {limit} steps (iterating past a tensor's extent is invalid in TensorRT)")
    state_vals = list(spec.values)
    emitted: dict[str, list[torch.Tensor]] = {}
    n = 0
    naming = g.naming_state()
    while n < limit:
        g.restore_naming(naming)
        x = {"step": g.wrap(torch.tensor(n, dtype=torch.int32, device=device), f"{name}/step")}
        for k, seq in spec.sequences.items():
            x[k] = g.wrap(seq.handle[limit - 1 - n if k in spec.reverse else n], f"{name}/iterate/{k}")
        carried = [g.wrap(v.handle, f"{name}/carry/{k}") for k, v in zip(spec.keys, state_vals)]
        with g.scope(name):
            out = spec.step(carried, x)
        state_vals = out.next_values
        if n:
            check_collected(name, list(emitted), list(out.collected))
        for k, v in out.collected.items():
            emitted.setdefault(k, []).append(v.handle)
        n += 1
        if out.keep_going is not None and not bool(out.keep_going.handle):
            break
    collected = {}
    for k, frames in emitted.items():
        stacked = torch.stack(frames)
        pad = torch.zeros((limit - n,) + tuple(stacked.shape[1:]), dtype=stacked.dtype, device=stacked.device)
        collected[k] = g.wrap(torch.cat([stacked, pad]), f"{name}/collect/{k}")
    n_steps = g.wrap(torch.tensor(n, dtype=torch.int32, device=device), f"{name}/n_steps")
    return LoopResult(spec.rebuild([g.wrap(v.handle, f"{name}/last/{k}") if spec.wants_final(k) else None
                                    for k, v in zip(spec.keys, state_vals)]),
                      collected, n_steps)


def run_cond(be: Any, spec: CondSpec) -> Any:
    """The branch ``pred`` picks, on the operands themselves (the other branch is not run)."""
    return (spec.true_fn if bool(spec.pred.handle) else spec.false_fn)(*spec.operands)
