"""Helpers for the interpreter tests: define a small graph twice (TensorRT with dynamic input axes, eager), run
the TensorRT network through the interpreter and compare outputs with the eager twin."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from graph_helpers import eager, trt_graph
from trtnet.interpret import interpret_network

TOL = {"float32": 2e-6, "float16": 1e-3}   # max |diff| / max(|eager|, 1); FP16 is one ulp at scale 1


def interpret(define, feeds: Mapping[str, Any], *, dyn_axes=None, seed: int | None = None) -> dict[str, np.ndarray]:
    g = trt_graph(define, feeds, static=False, dyn_axes=dyn_axes)
    return interpret_network(g.backend.network, feeds, seed=seed)


def check_interpret(define, feeds: Mapping[str, Any], *, dyn_axes=None, tol: float | None = None) -> dict:
    """Interpreted outputs equal eager ones: same names, shapes and dtypes; ints and bools exactly, floats within
    ``tol`` of the eager values' scale."""
    got = interpret(define, feeds, dyn_axes=dyn_axes)
    want = {k: v.numpy() for k, v in eager(define, feeds).items()}
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        g = got[k]
        assert g.dtype == w.dtype and g.shape == w.shape, f"{k}: interpreted {g.dtype}{g.shape}, eager {w.dtype}{w.shape}"
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=k)
        else:
            t = tol if tol is not None else TOL[w.dtype.name]
            scale = max(1.0, float(np.nanmax(np.abs(w.astype(np.float64)), initial=0)))
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=0, atol=t * scale,
                                       equal_nan=True, err_msg=k)
    return got
