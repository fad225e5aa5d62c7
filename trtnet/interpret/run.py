"""Execute a :class:`~.plan.Plan`: feeds in, every layer in plan order, loops and conditionals as TensorRT
defines them, every result rounded to the layer's declared dtype.

Loop semantics (TensorRT's formal definition, on sequences over iterations): a recurrence is ⟨init, Y₀, Y₁, …⟩,
an iterator is ⟨X[0], X[1], …⟩ on its axis (reverse: X[M−1−i] with M the COUNT trip count); the trip count n
is the COUNT limit, or the least n whose WHILE input is false, whichever comes first.  LAST_VALUE of a
recurrence is its n-th element (the value after the last iteration); CONCATENATE stacks X₀…X_{n−1} on its axis
and pads to the length given by its second input — the padding is undefined in TensorRT, so it is poison here
(NaN for floats, the smallest integer for integers).  An IIfConditional evaluates only the branch its condition
picks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops_math, ops_shape
from .errors import InterpretError
from .plan import Block, CondRegion, LoopRegion, Plan
from .readback import Node

EVAL = {**ops_math.EVAL, **ops_shape.EVAL}


class Context:
    """Values by tensor name, the seeded generator, a float32 cache of float16 loop invariants, the recorder."""

    def __init__(self, seed: int, record: dict | None):
        self.values: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)
        self.record = record
        self._f32: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def f32(self, node: Node, i: int, x: np.ndarray) -> np.ndarray:
        """``x`` (input i of node) as float32, converted once while the same array stays bound to its name."""
        if x.dtype != np.float16:
            return x
        name = node.inputs[i]
        hit = self._f32.get(name)
        if hit is not None and hit[0] is x:
            return hit[1]
        y = x.astype(np.float32)
        self._f32[name] = (x, y)
        return y

    def set(self, name: str, value: np.ndarray) -> None:
        self.values[name] = value
        if self.record is not None:
            self.record.setdefault(name, []).append(value)


def _conform(node: Node, i: int, value: Any) -> np.ndarray:
    want = node.dtypes[i]
    v = np.asarray(value)
    if v.dtype != want:
        v = v.astype(want)
    decl = node.shapes[i]
    if v.ndim != len(decl) or any(d >= 0 and d != s for d, s in zip(decl, v.shape)):
        raise InterpretError(f"output {i} has shape {v.shape}, TensorRT declares {decl}", node.name)
    return v


def run_node(node: Node, ctx: Context) -> None:
    vals = ctx.values
    ins = [vals[t] if t is not None else None for t in node.inputs]
    try:
        outs = EVAL[node.kind](node, ins, ctx)
    except InterpretError as e:
        if e.layer is None:
            raise InterpretError(str(e), node.name) from None
        raise
    except (ValueError, IndexError, TypeError, RuntimeError) as e:
        shapes = [None if x is None else (x.dtype.name, x.shape) for x in ins]
        raise InterpretError(f"{node.kind} failed on inputs {shapes}: {e}", node.name) from None
    for i, (t, v) in enumerate(zip(node.outputs, outs)):
        ctx.set(t, _conform(node, i, v))


def run_block(block: Block, ctx: Context) -> None:
    for item in block.items:
        if isinstance(item, Node):
            run_node(item, ctx)
        elif isinstance(item, LoopRegion):
            run_loop(item, ctx)
        else:
            run_cond(item, ctx)


def _scalar(node: Node, ctx: Context, kind: str) -> Any:
    v = ctx.values[node.inputs[0]]
    if v.ndim != 0:
        raise InterpretError(f"{kind} input must be 0-D, got shape {v.shape}", node.name)
    return v.item()


def run_loop(loop: LoopRegion, ctx: Context) -> None:
    vals = ctx.values
    count = int(_scalar(loop.count, ctx, "COUNT trip limit")) if loop.count is not None else None
    if count is not None and count < 0:
        raise InterpretError(f"trip count {count} < 0", loop.count.name)
    state = [vals[r.inputs[0]] for r in loop.recurrences]
    seqs = [vals[it.inputs[0]] for it in loop.iterators]
    concat = {o.name: [] for o in loop.outputs if o.attrs["kind"] != "LAST_VALUE"}
    i = 0
    while count is None or i < count:
        for r, v in zip(loop.recurrences, state):
            ctx.set(r.outputs[0], _conform(r, 0, v))
        for it, seq in zip(loop.iterators, seqs):
            ax = it.attrs["axis"]
            if it.attrs["reverse"] and count is None:
                raise InterpretError("a reverse iterator needs a COUNT trip limit", it.name)
            j = count - 1 - i if it.attrs["reverse"] else i
            if not 0 <= j < seq.shape[ax]:
                raise InterpretError(f"iteration {i} reads index {j} of a size-{seq.shape[ax]} axis", it.name)
            ctx.set(it.outputs[0], _conform(it, 0, np.take(seq, j, axis=ax)))
        run_block(loop.pre, ctx)
        if loop.while_ is not None and not bool(_scalar(loop.while_, ctx, "WHILE trip limit")):
            break
        run_block(loop.body, ctx)
        for o in loop.outputs:
            if o.name in concat:
                concat[o.name].append(vals[o.inputs[0]])
        state = [vals[r.inputs[1]] for r in loop.recurrences]
        i += 1
    last = {r.outputs[0]: v for r, v in zip(loop.recurrences, state)}
    for o in loop.outputs:
        kind = o.attrs["kind"]
        if kind == "LAST_VALUE":
            if o.inputs[0] not in last:
                raise InterpretError("LAST_VALUE input must be a recurrence output of the same loop", o.name)
            ctx.set(o.outputs[0], _conform(o, 0, last[o.inputs[0]]))
            continue
        ctx.set(o.outputs[0], _conform(o, 0, _concatenate(o, concat[o.name], vals, i)))


def _poison(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return True


def _concatenate(o: Node, frames: list[np.ndarray], vals: dict, n: int) -> np.ndarray:
    length = vals[o.inputs[1]] if len(o.inputs) > 1 and o.inputs[1] is not None else None
    if length is None:
        raise InterpretError(f"{o.attrs['kind']} output needs its length input (input 1)", o.name)
    length = int(np.asarray(length).reshape(()))
    if length < n:
        raise InterpretError(f"length {length} < trip count {n} (a run-time error in TensorRT)", o.name)
    if o.attrs["kind"] == "REVERSE":
        frames = frames[::-1]
    dtype = o.dtypes[0]
    ax = o.attrs["axis"]
    decl = o.shapes[0]
    item_shape = frames[0].shape if frames else tuple(d for k, d in enumerate(decl) if k != ax)
    if any(d < 0 for d in item_shape):
        raise InterpretError("zero iterations and a dynamic item shape: the output shape is unknown", o.name)
    out = np.full(item_shape[:ax] + (length,) + item_shape[ax:], _poison(dtype), dtype)
    if frames:
        sel = [slice(None)] * out.ndim
        sel[ax] = slice(0, n)
        out[tuple(sel)] = np.stack([np.asarray(f, dtype) for f in frames], axis=ax)
    return out


def run_cond(cond: CondRegion, ctx: Context) -> None:
    pick = bool(_scalar(cond.condition, ctx, "condition"))
    for ci in cond.inputs:
        ctx.set(ci.outputs[0], _conform(ci, 0, ctx.values[ci.inputs[0]]))
    run_block(cond.then if pick else cond.else_, ctx)
    for co in cond.outputs:
        ctx.set(co.outputs[0], _conform(co, 0, ctx.values[co.inputs[0 if pick else 1]]))


def bind_inputs(plan: Plan, feeds: dict, ctx: Context) -> None:
    missing = [name for name, _, _ in plan.inputs if name not in feeds]
    if missing:
        raise InterpretError(f"no feed for inputs {missing}; feeds: {sorted(feeds)}")
    for name, dtype, decl in plan.inputs:
        v = feeds[name]
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and len(decl) == 0:
            v = np.array(v, dtype)
        v = np.asarray(v)
        if v.dtype != dtype:
            raise InterpretError(f"input '{name}': expected {dtype.name}, got {v.dtype.name} (no silent casts)")
        if v.ndim != len(decl) or any(d >= 0 and d != s for d, s in zip(decl, v.shape)):
            raise InterpretError(f"input '{name}': shape {v.shape} does not fit the declared {decl}")
        ctx.set(name, v)
