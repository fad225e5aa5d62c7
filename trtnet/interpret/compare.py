"""The comparison harness (not the interpreter): a registry network defined twice — a TensorRT network that
:func:`~trtnet.interpret.interpret_network` computes, and the eager twin — with their outputs compared, and,
where they differ, the first layer whose inputs agree but whose outputs do not (the origin of the difference).

Bounds: FP32 networks ≤ 1e-5 of the signal's max |value|; FP16 networks ``FP16_BOUND`` (the eager twin and the
interpreter round the same FP16 layers but accumulate in different orders, and the decoder feeds its own
output back); ints and bools exactly.
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

from . import interpret_network, plan_network
from .plan import Block, CondRegion, LoopRegion, Plan
from .readback import Node

FP32_BOUND = 1e-5
FP16_BOUND = 1e-3
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
    """The first op (definition order) whose inputs agree between eager and interpreter but whose outputs do
    not; failing that, the first op whose outputs differ.  Ops are matched by layer name."""
    first_any = None
    for name, (e_in, e_out) in eager_rec.items():
        if name not in trt_rec:
            continue
        t_in, t_out = trt_rec[name]
        if len(t_out) != len(e_out):
            continue
        got = [values.get(t.name) for t in t_out]
        if any(g is None for g in got):
            continue
        bad = [i for i, (g, e) in enumerate(zip(got, e_out)) if not _agree(g, _np(e), tol)]
        if not bad:
            continue
        g, e = got[bad[0]], _np(e_out[bad[0]])
        why = (f"shape {g.shape} vs eager {e.shape}" if g.shape != e.shape
               else f"error {_error(g, e):.3g} relative to max |eager| {float(np.abs(e.astype(np.float64)).max(initial=0)):.3g}")
        first_any = first_any or f"{name}: {why}"
        ins_ok = len(t_in) == len(e_in) and all(_agree(values.get(t.name), _np(x), tol) for t, x in zip(t_in, e_in))
        if ins_ok:
            return f"{name}: {why} (its inputs agree)"
    return first_any


def compare_network(name: str, store: Any, opts: Any, feeds: Mapping[str, Any], *, seed: int = 0,
                    bound: float | None = None, locate: bool = True, trt_graph: Graph | None = None) -> Comparison:
    """Interpret registry network ``name`` (TensorRT definition) and run its eager twin on ``feeds``; compare
    every output.  ``trt_graph``: an already defined TensorRT graph of the network (else one is defined)."""
    t0 = time.perf_counter()
    trt_rec: dict = {}
    if trt_graph is None:
        trt_graph = Graph.trt(name, record=trt_rec if locate else None)
        networks.define(name, trt_graph, store, opts)
    else:
        trt_rec = trt_graph.record or {}
    eager_rec: dict = {}
    with torch.inference_mode():
        e = Graph.eager({k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in feeds.items()},
                        name, seed=seed, cast_floats=True, record=eager_rec if locate else None)
        networks.define(name, e, store, opts)
        want = {k: _np(v) for k, v in e.results().items()}
    plan = plan_network(trt_graph.backend.network)
    values: dict = {}
    got = interpret_network(trt_graph.backend.network, feeds, seed=seed, record=values if locate else None,
                            plan=plan)
    fp16 = getattr(opts, "precision", "fp32") == "fp16"
    b = bound if bound is not None else (FP16_BOUND if fp16 else FP32_BOUND)
    checks = []
    for out, w in want.items():
        g = got.get(out)
        if g is None or g.shape != w.shape or g.dtype != w.dtype:
            detail = "missing" if g is None else f"interpreted {g.dtype}{list(g.shape)} vs eager {w.dtype}{list(w.shape)}"
            checks.append(OutputCheck(name, out, w.dtype.name, w.shape, float("inf"), b, False, detail))
            continue
        err = _error(g, w)
        limit = 0.0 if w.dtype.kind in "biu" else b
        checks.append(OutputCheck(name, out, w.dtype.name, w.shape, err, limit, err <= limit))
    res = Comparison(name, checks, loop_layers=loop_layer_counts(plan), outputs=got, eager=want)
    if locate and not res.passed:
        res.first_difference = first_difference(eager_rec, trt_rec, values, LAYER_TOL["float16" if fp16 else "float32"])
    res.seconds = time.perf_counter() - t0
    return res
