"""Helpers for op and layer tests: run a definition eagerly, get TensorRT's inferred shapes, build with RTX."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from trtnet.build import BuildConfig, build
from trtnet.dtypes import as_dtype
from trtnet.graph import Graph
from trtnet.sidecar import verified_sidecar

Define = Callable[[Graph, dict], Any]  # returns a Tensor or a dict of Tensors

TOL = {"float32": (2e-5, 2e-5), "float16": (2e-3, 4e-3), "bfloat16": (2e-2, 3e-2),
       "int32": (0, 0), "int64": (0, 0), "bool": (0, 0), "int8": (0, 0)}


def _declare(g: Graph, feeds: Mapping[str, np.ndarray], dynamic: bool, dyn_axes: Mapping[str, tuple] | None = None
             ) -> dict:
    """Declare one input per feed; ``dynamic`` makes axis 0 of every rank>=1 input (or ``dyn_axes``) dynamic."""
    inputs = {}
    for name, arr in feeds.items():
        if np.isscalar(arr) or isinstance(arr, int):
            inputs[name] = g.shape_input(name, 1, int(arr), max(int(arr), 1) * 4)
            continue
        shape = tuple(arr.shape)
        if dynamic:
            dims = []
            axes = (dyn_axes or {}).get(name, (0,) if shape else ())
            for i, d in enumerate(shape):
                if i not in axes:
                    dims.append(d)
                    continue
                dn = f"{name}_d{i}"
                g.dim(dn, 1, max(d, 1), max(d, 1) * 2)
                dims.append(dn)
            shape = tuple(dims)
        inputs[name] = g.input(name, arr.dtype if arr.dtype != np.float64 else np.float32, shape)
    return inputs


def _outputs(g: Graph, result: Any) -> None:
    if isinstance(result, dict):
        for k, v in result.items():
            g.output(k, v)
    else:
        g.output("y", result)


def eager(define: Define, feeds: Mapping[str, Any], **kw: Any) -> dict[str, torch.Tensor]:
    g = Graph.eager(feeds, **kw)
    _outputs(g, define(g, _declare(g, feeds, dynamic=False)))
    return g.results()


def trt_graph(define: Define, feeds: Mapping[str, Any], *, static: bool = True, name: str = "test",
              dyn_axes: Mapping[str, tuple] | None = None) -> Graph:
    """A TensorRT graph of ``define``: static (inputs pinned to the feed shapes) or dynamic."""
    g = Graph.trt(name)
    _outputs(g, define(g, _declare(g, feeds, dynamic=not static, dyn_axes=dyn_axes)))
    return g


def trt_shapes(define: Define, feeds: Mapping[str, Any]) -> dict[str, tuple]:
    g = trt_graph(define, feeds, static=True)
    return {k: s.shape for k, (s, _) in g.outputs.items()}


def build_plan(g: Graph, tmp_path: Path, **cfg: Any):
    return build(g, tmp_path / f"{g.name}.plan", BuildConfig(optimization_level=0, heartbeat_seconds=0, **cfg))


def assert_built(res: Any, g: Graph) -> None:
    """What a build promises beyond not raising: the plan on disk is the bytes its sidecar hashes, of the size
    reported, and the sidecar declares the graph's outputs, in order, with their dtypes."""
    side = verified_sidecar(res.plan_path)
    assert res.plan_path.stat().st_size == res.plan_bytes > 0
    assert [(s.name, s.dtype) for s in side.io.outputs] == [(n, s.dtype) for n, (s, _) in g.outputs.items()]


def check_against(define: Define, feeds: Mapping[str, np.ndarray], reference: Callable[..., Any],
                  tmp_path: Path | None = None, *, atol: float | None = None, rtol: float | None = None,
                  seed_note: str = "", dyn_axes: Mapping[str, tuple] | None = None) -> dict[str, torch.Tensor]:
    """Eager output vs a float64 numpy reference (shape, dtype, values), TensorRT's static shapes vs eager
    shapes, and (with ``tmp_path``) a TensorRT-RTX build of the one-op network."""
    out = eager(define, feeds)
    ref = reference(**{k: (v.astype(np.float64) if np.asarray(v).dtype.kind == "f" else v) for k, v in feeds.items()})
    ref = ref if isinstance(ref, dict) else {"y": ref}
    shapes = trt_shapes(define, feeds)
    for k, want in ref.items():
        got = out[k]
        want = np.asarray(want)
        assert tuple(got.shape) == want.shape, f"{k}: eager shape {tuple(got.shape)} != reference {want.shape}"
        assert tuple(shapes[k]) == tuple(got.shape), f"{k}: TensorRT shape {shapes[k]} != eager {tuple(got.shape)}"
        dt = as_dtype(got.dtype).value
        a, r = TOL[dt]
        a, r = atol if atol is not None else a, rtol if rtol is not None else r
        g64 = got.double().numpy() if got.dtype != torch.bool else got.numpy()
        if dt == "bool" or dt.startswith("int"):
            np.testing.assert_array_equal(g64, want, err_msg=f"{k} {seed_note}")
        else:
            np.testing.assert_allclose(g64, want, atol=a * max(1.0, float(np.nanmax(np.abs(want), initial=0))),
                                       rtol=r, equal_nan=True, err_msg=f"{k} ({dt}) {seed_note}")
    if tmp_path is not None:
        g = trt_graph(define, feeds, static=False, dyn_axes=dyn_axes)
        assert_built(build_plan(g, tmp_path), g)
    return out


def garbage_padded(x: np.ndarray, valid: list[int], seed: int) -> np.ndarray:
    """x with every position at or past valid[b] (last axis) replaced by large random values, so only the masks
    inside a network can make a ragged batch's items equal their single runs."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    for b, n in enumerate(valid):
        out[b, ..., n:] = rng.standard_normal(out[b, ..., n:].shape).astype(x.dtype) * 5.0
    return out


def rel_err(got: Any, want: Any) -> float:
    """max |got − want| / max(|want|, 1e-12) in float64: the error relative to the signal's scale (torch tensors
    or numpy arrays; the shapes must be equal)."""
    got, want = torch.as_tensor(got).double(), torch.as_tensor(want).double()
    if got.shape != want.shape:
        raise AssertionError(f"shapes differ: {tuple(got.shape)} vs {tuple(want.shape)}")
    return float((got - want).abs().max()) / max(float(want.abs().max()), 1e-12)
