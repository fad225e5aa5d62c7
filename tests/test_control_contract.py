"""One control-flow contract (trtnet/control_flow.py), applied identically by both backends: each bad program
below is refused by the eager backend and by the TensorRT one, with the same error."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet import ops
from trtnet.errors import DTypeError, GraphError, LoopError
from trtnet.loop import loop
from graph_helpers import eager, trt_graph

X = {"x": np.zeros((4, 3), np.float32)}


def short_sequence(g, i):
    """A sequence of 4 entries iterated by a loop that may run 6 steps."""
    def body(s, it):
        return {"v": s["v"] + it["x"]}, {"v": s["v"]}, None
    return loop(body, {"v": ops.zeros(g, [3], "float32")}, max_steps=6, sequences={"x": i["x"]},
                name="walk").collected["v"]


def branches(true_fn, false_fn):
    def define(g, i):
        pred = ops.reduce_max(i["x"], None) > 0.0
        out = ops.cond(pred, true_fn, false_fn, [i["x"]], name="pick")
        return out if not isinstance(out, list) else out[0]
    return define


BAD = {
    "sequence shorter than the trip cap": (short_sequence, LoopError,
                                           r"sequence 'x' has 4 entries on axis 0 but the loop may run 6 steps"),
    "branches of different dtypes": (branches(lambda a: a, lambda a: ops.cast(a, "float16")), DTypeError,
                                     r"output 0: operands must have one dtype"),
    "branches of different ranks": (branches(lambda a: a, lambda a: ops.reshape(a, [-1])), GraphError,
                                    r"output 0: ranks 2 and 1 differ"),
    "branches returning different counts": (branches(lambda a: [a, a], lambda a: [a]), GraphError,
                                            r"branches return 2 and 1 tensors"),
}


@pytest.mark.parametrize("backend", ["eager", "tensorrt"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_both_backends_refuse_the_same_programs(case, backend):
    define, error, message = BAD[case]
    with pytest.raises(error, match=message):
        eager(define, X) if backend == "eager" else trt_graph(define, X)


def test_eager_cond_returns_the_taken_branch_with_its_own_random_draws():
    """The untaken branch runs for the check only: the taken branch's random values are those of running alone."""
    def alone(g, i):
        first = ops.random_uniform(g, [3], 0.0, 1.0) + ops.reduce_sum(i["x"], 0)
        return first + 10.0 * ops.random_uniform(g, [3], 0.0, 1.0)

    def with_cond(g, i):
        pred = ops.reduce_max(i["x"], None) >= 0.0                   # true
        picked = ops.cond(pred, lambda a: ops.random_uniform(g, [3], 0.0, 1.0) + ops.reduce_sum(a, 0),
                          lambda a: ops.random_uniform(g, [3], 0.0, 1.0) * 0.0, [i["x"]], name="pick")
        return picked + 10.0 * ops.random_uniform(g, [3], 0.0, 1.0)     # the stream goes on after the cond
    want = eager(alone, X, seed=3)["y"].numpy()
    got = eager(with_cond, X, seed=3)["y"].numpy()
    np.testing.assert_array_equal(got, want)
