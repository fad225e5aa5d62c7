"""The comparison harness (not the interpreter): a registry network defined twice — a TensorRT network that
:func:`~trtnet.interpret.interpret_network` computes, and the eager twin — with their outputs compared, and,
where they differ, the first layer whose inputs agree but whose outputs do not (the origin of the difference).

Bounds: FP32 networks ≤ 1e-5 of the signal's max |value|; FP16 networks ≤ 2e-3, two FP16 ulps at the signal's
max (both round every FP16 layer output from float32 math, but accumulate in different orders, so a layer can
land one ulp apart, and the decoder feeds its frames back; measured up to ~8e-4 on the full-size decoder);
ints and bools exactly.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from trtnet.graph import Graph
from trtnet.layers import networks

from trtnet.interpret import InterpretError, interpret_network, plan_network
from trtnet.interpret.plan import Block, CondRegion, LoopRegion, Plan
from trtnet.interpret.readback import Node

FP32_BOUND = 1e-5
FP16_BOUND = 2e-3
LAYER_TOL = {"float32": 1e-4, "float16": 2e-2}   # per-layer agreement when looking for the origin


@dataclass
class OutputCheck:
    network: str
    output: str
    dtype: str
    shape: tuple
    error: float            # max |interpreted − eager| / max |eager| (ints, bools: count of differing values)
    bound: float
    passed: bool
    detail: str = ""
    versus: str = ""        # what an engine's output was compared with (engine checks); "" for interpreted vs eager

    @property
    def name(self) -> str:
        return f"{self.network} {self.output} vs {self.versus}" if self.versus else \
            f"interpreted {self.network} {self.output} vs eager"

    @property
    def value(self) -> float:
        return self.error

    @property
    def threshold(self) -> float:
        return self.bound

    def row(self) -> str:
        state = "ok  " if self.passed else "FAIL"
        return (f"{state} {self.network:14s} {self.output:22s} {self.dtype:8s} {str(list(self.shape)):18s} "
                f"{self.error:10.3g} <= {self.bound:g} {self.detail}")


@dataclass
class Comparison:
    network: str
    checks: list[OutputCheck]
    first_difference: str | None = None      # "layer: reason"
    loop_layers: dict[str, Counter] = field(default_factory=dict)
    seconds: float = 0.0
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    eager: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def loop_layer_counts(plan: Plan) -> dict[str, Counter]:
    """Layers each loop runs per iteration, by layer type (its body, nested regions included once)."""
    out: dict[str, Counter] = {}

    def count(block: Block, c: Counter) -> None:
        for item in block.items:
            if isinstance(item, Node):
                c[item.kind] += 1
            elif isinstance(item, LoopRegion):
                inner: Counter = Counter()
                count(item.pre, inner)
                count(item.body, inner)
                out[item.name] = inner
                c.update(inner)
            elif isinstance(item, CondRegion):
                count(item.then, c)
                count(item.else_, c)
    count(plan.top, Counter())
    return out


def _np(v: Any) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)


def _error(got: np.ndarray, want: np.ndarray) -> float:
    if want.dtype.kind in "biu":
        return float(np.count_nonzero(got != want))
    g, w = got.astype(np.float64), want.astype(np.float64)
    if np.isnan(g).any() != np.isnan(w).any() or (np.isnan(g) != np.isnan(w)).any():
        return float("inf")
    ok = ~np.isnan(w)
    scale = float(np.abs(w[ok]).max(initial=0.0))
    return float(np.abs(g[ok] - w[ok]).max(initial=0.0)) / max(scale, 1e-12)


def _agree(a: np.ndarray | None, b: np.ndarray | None, tol: float) -> bool:
    if a is None or b is None or a.shape != b.shape:
        return False
    return _error(a, b) <= (0 if b.dtype.kind in "biu" else tol)


def first_difference(eager_rec: dict, trt_rec: dict, values: dict, tol: float) -> str | None:
    """Where eager and interpreter part: the earliest eager evaluation of an op whose outputs differ while its
    inputs agree; failing that, the earliest differing op, with the inputs that no compared op makes (a loop
    output, a constant, a layer only TensorRT has).  Ops are matched by layer name, and compared only where
    their input and output shapes and dtypes match (the shape-tensor branches add layers only TensorRT has,
    which can shift an op counter); loop steps are matched by position in the records."""
    pairs = {n: (trt_rec[n][0][0], trt_rec[n][0][1], runs) for n, runs in eager_rec.items()
             if n in trt_rec and _comparable(trt_rec[n][0], runs[0], values)}
    made = {t.name for t_in, t_out, _ in pairs.values() for t in t_out}
    origin = first = None
    for name, (t_in, t_out, runs) in pairs.items():
        for k, (e_in, e_out, seq) in enumerate(runs):
            if origin is not None and seq >= origin[0]:
                break
            got = [_nth(values, t.name, k) for t in t_out]
            bad = [i for i, (g, e) in enumerate(zip(got, e_out)) if not _agree(g, _np(e), tol)]
            if not bad:
                continue
            g, e = got[bad[0]], _np(e_out[bad[0]])
            why = f"error {_error(g, e):.3g} of max |eager| {float(np.abs(e.astype(np.float64)).max(initial=0)):.3g}"
            why += f" at evaluation {k}" if len(runs) > 1 else ""
            differ = [t.name for t, x in zip(t_in, e_in) if not _agree(_nth(values, t.name, k), _np(x), tol)]
            if not differ:
                origin = (seq, f"{name}: {why} (its inputs agree)")
            elif first is None or seq < first[0]:
                outside = [t for t in differ if t not in made]
                first = (seq, f"{outside[0]} -> {name}: {why}" if outside else f"{name}: {why} (inputs {differ} differ)")
            break
    best = origin or first
    return None if best is None else best[1]


def _comparable(trt_run: tuple, eager_run: tuple, values: dict) -> bool:
    (t_in, t_out), (e_in, e_out, _) = trt_run[:2], eager_run
    if len(t_in) != len(e_in) or len(t_out) != len(e_out):
        return False
    for t, e in zip(t_in + t_out, list(e_in) + list(e_out)):
        v, x = _nth(values, t.name, 0), _np(e)
        if v is None or v.shape != x.shape or v.dtype != x.dtype:
            return False
    return True


def _nth(values: dict, name: str, k: int) -> np.ndarray | None:
    runs = values.get(name)
    if not runs:
        return None
    return runs[k] if k < len(runs) else runs[-1]     # loop invariants are evaluated once


def _define(name: str, store: Any, opts: Any, record: dict | None) -> Graph:
    g = Graph.trt(name, record=record)
    networks.define(name, g, store, opts)
    return g


def _eager(name: str, store: Any, opts: Any, feeds: Mapping[str, Any], seed: int, record: dict | None) -> dict:
    with torch.inference_mode():
        e = Graph.eager({k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in feeds.items()},
                        name, seed=seed, cast_floats=True, record=record)
        networks.define(name, e, store, opts)
        return {k: _np(v) for k, v in e.results().items()}


def compare_network(name: str, store: Any, opts: Any, feeds: Mapping[str, Any], *, seed: int = 0,
                    bound: float | None = None, locate: bool = True, trt_graph: Graph | None = None) -> Comparison:
    """Interpret registry network ``name`` (its TensorRT definition, or ``trt_graph`` when given) and run its
    eager twin on ``feeds``; compare every output.  When they differ and ``locate``, both run again recording
    every layer, and :func:`first_difference` names where they part."""
    t0 = time.perf_counter()
    g = trt_graph if trt_graph is not None else _define(name, store, opts, None)
    want = _eager(name, store, opts, feeds, seed, None)
    try:
        plan = plan_network(g.network)
        got = interpret_network(g.network, feeds, seed=seed, plan=plan)
    except InterpretError as e:       # TensorRT would reject what the network computes: a failed check
        check = OutputCheck(name, "(interpreter)", "-", (), float("inf"), 0.0, False, str(e))
        return Comparison(name, [check], first_difference=f"{e.layer}: {e}", seconds=time.perf_counter() - t0)
    fp16 = getattr(opts, "precision", "fp32") == "fp16"
    b = bound if bound is not None else (FP16_BOUND if fp16 else FP32_BOUND)
    checks = []
    for out, w in want.items():
        v = got.get(out)
        if v is None or v.shape != w.shape or v.dtype != w.dtype:
            detail = "missing" if v is None else f"interpreted {v.dtype}{list(v.shape)} vs eager {w.dtype}{list(w.shape)}"
            checks.append(OutputCheck(name, out, w.dtype.name, w.shape, float("inf"), b, False, detail))
            continue
        err = _error(v, w)
        limit = 0.0 if w.dtype.kind in "biu" else b
        checks.append(OutputCheck(name, out, w.dtype.name, w.shape, err, limit, err <= limit))
    res = Comparison(name, checks, loop_layers=loop_layer_counts(plan), outputs=got, eager=want)
    if locate and not res.passed:
        trt_rec, eager_rec, values = {}, {}, {}
        g2 = _define(name, store, opts, trt_rec)
        _eager(name, store, opts, feeds, seed, eager_rec)
        interpret_network(g2.network, feeds, seed=seed, record=values)
        res.first_difference = first_difference(eager_rec, trt_rec, values, LAYER_TOL["float16" if fp16 else "float32"])
    res.seconds = time.perf_counter() - t0
    return res
