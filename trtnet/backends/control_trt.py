"""TensorRT lowering of control flow (:mod:`trtnet.control_flow`): a loop's body is traced once on recurrence
tensors into an ILoop; both branches of a conditional are traced into an IIfConditional.  Every layer goes
through :meth:`TrtBackend.add` with the region as ``owner``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..control_flow import CondSpec, LoopResult, LoopSpec, check_branches, check_sequences
from ..loop import zero_tail


def run_loop(be: Any, spec: LoopSpec) -> LoopResult:
    """ILoop: COUNT trip limit (``max_steps``), IRecurrenceLayer per carried leaf and for the step index,
    IIteratorLayer per sequence, WHILE trip limit on a recurrence of ``keep_going`` (True at step 0),
    ILoopOutputLayer LAST_VALUE (state, n_steps) and CONCATENATE (collected, then :func:`zero_tail`)."""
    g, trt, name, max_steps = be.graph, be.trt, spec.name, spec.max_steps
    check_sequences(name, spec.sequences, spec.static_limit())
    lname = g.layer_name(name)
    lp = be.new_loop(lname)
    count = g.constant(np.array(max_steps, np.int32), name="max_steps") if isinstance(max_steps, int) else max_steps
    be.add(lname, "trip_limit", count.handle, trt.TripLimit.COUNT, owner=lp, part="count")

    recs = [be.add(lname, "recurrence", v.handle, owner=lp, part=f"carry/{k}") for k, v in zip(spec.keys, spec.values)]
    carried = [g.wrap(r.get_output(0), f"{lname}/carry/{k}") for r, k in zip(recs, spec.keys)]
    zero = g.constant(np.array(0, np.int32), name=f"{name}_step0")
    step_rec = be.add(lname, "recurrence", zero.handle, owner=lp, part="step")
    step = g.wrap(step_rec.get_output(0), f"{lname}/step")
    x = {"step": step}
    for k, seq in spec.sequences.items():
        it = be.add(lname, "iterator", seq.handle, 0, k in spec.reverse, owner=lp, part=f"iterate/{k}")
        x[k] = g.wrap(it.get_output(0), f"{lname}/iterate/{k}")

    with g.scope(name):
        out = spec.step(carried, x)
        next_step = step + 1
    for r, v in zip(recs, out.next_values):
        r.set_input(1, v.handle)
    step_rec.set_input(1, next_step.handle)
    if out.keep_going is not None:
        true = g.constant(np.array(True), name=f"{name}_keep_going0")
        kg = be.add(lname, "recurrence", true.handle, owner=lp, part="keep_going")
        kg.set_input(1, out.keep_going.handle)
        be.add(lname, "trip_limit", kg.get_output(0), trt.TripLimit.WHILE, owner=lp, part="while")

    def last(rec: Any, part: str) -> Any:
        return be.add(lname, "loop_output", rec.get_output(0), trt.LoopOutput.LAST_VALUE, 0, owner=lp,
                      part=f"last/{part}").get_output(0)

    final = [g.wrap(last(r, k), f"{lname}/last/{k}") if spec.wants_final(k) else None
             for r, k in zip(recs, spec.keys)]
    n_steps = g.wrap(last(step_rec, "n_steps"), f"{lname}/n_steps")
    collected = {}
    for k, v in out.collected.items():
        lo = be.add(lname, "loop_output", v.handle, trt.LoopOutput.CONCATENATE, 0, owner=lp, part=f"collect/{k}")
        lo.set_input(1, count.handle)
        with g.scope(f"{name}/collect/{k}"):
            # a static cap keeps the index constant static; a shape-tensor cap stays dynamic
            collected[k] = zero_tail(g.wrap(lo.get_output(0), f"{lname}/collect/{k}"), n_steps, max_steps)
    return LoopResult(spec.rebuild(final), collected, n_steps)


def run_cond(be: Any, spec: CondSpec) -> Any:
    """IIfConditional: IIfConditionalInputLayer per operand, both branches traced (scopes ``name/then`` and
    ``name/else``), IIfConditionalOutputLayer per output pair.  Returns a Tensor or a list, as the branches do."""
    g, base = be.graph, spec.base
    lname = g.layer_name(base)
    c = be.new_conditional(lname, spec.pred.handle)
    ins = [g.wrap(be.add(lname, "input", t.handle, owner=c, part=f"in{i}").get_output(0), f"{lname}/in{i}")
           for i, t in enumerate(spec.operands)]
    with g.scope(f"{base}/then"):
        t_out = spec.true_fn(*ins)
    with g.scope(f"{base}/else"):
        f_out = spec.false_fn(*ins)
    single, pairs = check_branches(lname, t_out, f_out)
    outs = [g.wrap(be.out(lname, "output", a.handle, b.handle, owner=c, part=f"out{i}"), f"{lname}/out{i}")
            for i, (a, b) in enumerate(pairs)]
    return outs[0] if single else outs
