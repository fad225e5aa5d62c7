"""The control-flow contract shared by both backends: what a loop or a conditional is, and the checks its
user code must pass.  Nothing here emits layers or knows a backend; ``trtnet.loop.loop`` and ``ops.cond`` build
a :class:`LoopSpec` / :class:`CondSpec` and hand it to :meth:`Graph.control`, which calls the backend's
``ctl_loop`` / ``ctl_cond`` (TensorRT: one trace into an ILoop / IIfConditional; eager: run it).

Loop state is a dataclass, NamedTuple or dict of Tensors (fields may hold lists of Tensors, leaf names
``h.0``, ``h.1``); the body maps ``(state, x)`` to ``(next_state, collected, keep_going)`` where the next
state has the same fields, each a new Tensor of the same dtype and rank-compatible shape, ``collected`` is a
dict of Tensors and ``keep_going`` is None or a 0-D bool.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .dtypes import DType
from .errors import DTypeError, GraphError, LoopError
from .tensor import Tensor


@dataclass
class LoopResult:
    state: Any                      # the last state (LAST_VALUE), same structure as ``init``
    collected: dict[str, Tensor]    # [max_steps, ...] per collected name, zero at and past n_steps
    n_steps: Tensor                 # 0-D int32


@dataclass(frozen=True)
class Step:
    """One traced (TensorRT) or executed (eager) body step, checked."""
    next_values: list[Tensor]
    collected: dict[str, Tensor]
    keep_going: Tensor | None


@dataclass(frozen=True)
class LoopSpec:
    """A loop as the backends receive it: ``max_steps`` an int ≥ 1 or a 0-D int32/int64 Tensor; ``values`` the
    carried leaves of ``init`` (names ``keys``); ``rebuild`` turns leaves back into the state structure."""
    name: str
    body: Callable[[Any, dict], Any]
    keys: list[str]
    values: list[Tensor]
    rebuild: Callable[[Sequence[Tensor]], Any]
    max_steps: int | Tensor
    sequences: dict[str, Tensor]
    reverse: frozenset[str]
    final: frozenset[str] | None = None   # carried fields whose last value is returned (None: all; others None)
    kind: str = "loop"

    def static_limit(self) -> int | None:
        """``max_steps`` when it is an int (known while defining), else None."""
        return self.max_steps if isinstance(self.max_steps, int) else None

    def wants_final(self, key: str) -> bool:
        """Whether the last value of carried leaf ``key`` (or of a field it is a part of) is returned."""
        return self.final is None or key in self.final or key.split(".", 1)[0] in self.final

    @property
    def graph(self) -> Any:
        return self.values[0].graph

    def step(self, carried: Sequence[Tensor], x: dict[str, Tensor]) -> Step:
        """Call the body on the state rebuilt from ``carried`` and check what it returns."""
        ret = self.body(self.rebuild(list(carried)), x)
        if not (isinstance(ret, tuple) and len(ret) == 3):
            raise LoopError(f"loop '{self.name}': body must return (next_state, collected_dict, keep_going_or_None)")
        nxt, emits, keep_going = ret
        check_keep_going(self.name, keep_going)
        return Step(check_next(self.name, self.keys, list(carried), nxt), dict(emits or {}), keep_going)


@dataclass(frozen=True)
class CondSpec:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``; ``name`` None means "cond"."""
    name: str | None
    pred: Tensor
    true_fn: Callable[..., Any]
    false_fn: Callable[..., Any]
    operands: tuple[Tensor, ...]
    kind: str = "cond"

    @property
    def base(self) -> str:
        return self.name or "cond"


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
        return _rebuild(state, iter(values))
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


# ---- checks -------------------------------------------------------------------------------------------
def check_max_steps(name: str, max_steps: Any) -> None:
    """An int ≥ 1, or a 0-D int32/int64 Tensor (known before the loop: TensorRT's COUNT trip limit)."""
    if isinstance(max_steps, Tensor):
        if max_steps.ndim != 0 or max_steps.dtype not in (DType.int32, DType.int64):
            raise LoopError(f"loop '{name}': max_steps must be an int or a 0-D int32/int64 shape tensor, "
                            f"got {max_steps!r}")
    elif not isinstance(max_steps, int) or max_steps < 1:
        raise LoopError(f"loop '{name}': max_steps must be >= 1, got {max_steps!r}")


def check_next(name: str, keys: list[str], carried: list[Tensor], nxt: Any) -> list[Tensor]:
    """The next state's leaves, after checking: same fields, each a new Tensor of the same dtype and shape."""
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


def check_sequences(name: str, sequences: Mapping[str, Tensor], limit: int | None) -> None:
    """Each sequence has at least ``limit`` entries on axis 0 (iterating past a tensor's extent is invalid in
    TensorRT).  ``limit``: the trip cap once known (a static ``max_steps`` when defining; eager: the run's value);
    None checks nothing (a run-time cap against a run-time extent is TensorRT's to refuse)."""
    if limit is None:
        return
    for k, seq in sequences.items():
        n = seq.shape[0]
        if isinstance(n, int) and n < limit:
            raise LoopError(f"loop '{name}': sequence '{k}' has {n} entries on axis 0 but the loop may run {limit} "
                            "steps (iterating past a tensor's extent is invalid in TensorRT)")


def check_keep_going(name: str, keep_going: Any) -> None:
    if keep_going is not None and (not isinstance(keep_going, Tensor) or keep_going.dtype != DType.bool
                                   or keep_going.ndim != 0):
        desc = f"{keep_going.dtype} {keep_going.shape}" if isinstance(keep_going, Tensor) else type(keep_going)
        raise LoopError(f"loop '{name}': keep_going must be a 0-D bool Tensor, got {desc}")


def check_collected(name: str, before: Sequence[str], now: Sequence[str]) -> None:
    """Every step collects the same names (a traced body collects once, so this only bites when executing)."""
    if set(before) != set(now):
        raise LoopError(f"loop '{name}': collected names changed from {sorted(before)} to {sorted(now)}")


def check_pred(pred: Tensor) -> None:
    if pred.dtype != DType.bool or pred.ndim != 0:
        raise GraphError(f"cond: predicate {pred.name} must be a 0-D bool, got {pred.dtype} {pred.shape}")


def check_branches(name: str, t_out: Any, f_out: Any) -> tuple[bool, list[tuple[Tensor, Tensor]]]:
    """(single, output pairs): both branches return a Tensor, or lists of equal length; pairs share dtype and
    rank."""
    single = isinstance(t_out, Tensor)
    t_list, f_list = ([t_out], [f_out]) if single else (list(t_out), list(f_out))
    if len(t_list) != len(f_list):
        raise GraphError(f"cond '{name}': branches return {len(t_list)} and {len(f_list)} tensors")
    for i, (a, b) in enumerate(zip(t_list, f_list)):
        if a.dtype != b.dtype:
            raise DTypeError(f"cond '{name}' output {i}: operands must have one dtype in a strongly typed network "
                             f"({a.name}: {a.dtype}, {b.name}: {b.dtype}); cast one explicitly with ops.cast")
        if a.ndim != b.ndim:
            raise GraphError(f"cond '{name}' output {i}: ranks {a.ndim} and {b.ndim} differ")
    return single, list(zip(t_list, f_list))
