"""Eager twins of the control flow in :mod:`trtnet.control_flow`: a loop's body runs once per step, stopping
and padding as TensorRT does; a conditional runs the branch its predicate picks."""

from __future__ import annotations

from typing import Any

import torch

from ..control_flow import CondSpec, LoopResult, LoopSpec, check_branches, check_collected, check_sequences


def run_loop(be: Any, spec: LoopSpec) -> LoopResult:
    """Step i sees the state after step i−1 and sequence entries [i] (reverse: [max_steps−1−i]); steps stop after
    the first one returning keep_going False or at max_steps.  Every step gets the layer names of TensorRT's
    single trace.  Collected values are stacked and zero-padded to max_steps."""
    g, name, device = be.graph, spec.name, be.device
    limit = spec.max_steps if isinstance(spec.max_steps, int) else int(spec.max_steps.handle)
    check_sequences(name, spec.sequences, limit)
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
    """The branch ``pred`` picks, on the operands themselves.  The other branch runs too, after it, so both
    outputs pass the same check as TensorRT's two traces (``check_branches``); its random draws are undone
    (the generator's state is restored), so the taken branch's values are those of running it alone."""
    g, base = be.graph, spec.base
    taken = bool(spec.pred.handle)

    def run(which: bool) -> Any:
        with g.scope(f"{base}/{'then' if which else 'else'}"):
            return (spec.true_fn if which else spec.false_fn)(*spec.operands)
    outs = {taken: run(taken)}
    after = None if be._generator is None else be._generator.get_state()
    outs[not taken] = run(not taken)
    if after is not None:
        be._generator.set_state(after)
    else:
        be._generator = None            # made by the other branch: as if it never drew
    check_branches(g.layer_name(base), outs[True], outs[False])
    return outs[taken]
