"""Eager twin of :func:`trtnet.loop.loop`: the body runs once per step, stopping and padding as TensorRT does."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..errors import LoopError
from ..loop import LoopResult, _call, _check_next, _unpack


def run(g: Any, body: Callable, keys, values, rebuild, max_steps, sequences, reverse, name) -> LoopResult:
    limit = int(max_steps.handle) if not isinstance(max_steps, int) else max_steps
    device = g.backend.device
    for k, seq in sequences.items():
        if seq.shape[0] < limit:
            raise LoopError(f"loop '{name}': sequence '{k}' has {seq.shape[0]} entries on axis 0 but the loop may "
                            f"run {limit} steps (iterating past a tensor's extent is invalid in TensorRT)")
    state_vals = list(values)
    emitted: dict[str, list[torch.Tensor]] = {}
    n = 0
    naming = g.naming_state()
    while n < limit:
        g.restore_naming(naming)
        x = {"step": g.wrap(torch.tensor(n, dtype=torch.int32, device=device), f"{name}/step")}
        for k, seq in sequences.items():
            x[k] = g.wrap(seq.handle[limit - 1 - n if k in reverse else n], f"{name}/iterate/{k}")
        carried = [g.wrap(v.handle, f"{name}/carry/{k}") for k, v in zip(keys, state_vals)]
        with g.scope(name):
            nxt, emits, keep_going = _unpack(name, _call(body, rebuild(carried), x))
        state_vals = _check_next(name, keys, carried, nxt)
        if n and set(emits) != set(emitted):
            raise LoopError(f"loop '{name}': collected names changed from {sorted(emitted)} to {sorted(emits)}")
        for k, v in emits.items():
            emitted.setdefault(k, []).append(v.handle)
        n += 1
        if keep_going is not None and not bool(keep_going.handle):
            break
    collected = {}
    for k, frames in emitted.items():
        stacked = torch.stack(frames)
        pad = torch.zeros((limit - n,) + tuple(stacked.shape[1:]), dtype=stacked.dtype, device=stacked.device)
        collected[k] = g.wrap(torch.cat([stacked, pad]), f"{name}/collect/{k}")
    n_steps = g.wrap(torch.tensor(n, dtype=torch.int32, device=device), f"{name}/n_steps")
    return LoopResult(rebuild([g.wrap(v.handle, f"{name}/last/{k}") for k, v in zip(keys, state_vals)]),
                      collected, n_steps)
