"""The interpreter on loops and conditionals: COUNT (static and shape input) and WHILE limits, recurrences,
forward and reverse iterators, LAST_VALUE and CONCATENATE outputs (with their length input; entries past the
trip count are poison), a conditional inside a loop, nested loops — each compared with the eager twin."""

from __future__ import annotations

import numpy as np
import pytest

from interpret_helpers import check_interpret
from test_loop import counting
from trtnet import ops
from trtnet.graph import Graph
from trtnet.interpret import InterpretError, interpret_network
from trtnet.loop import loop


@pytest.mark.parametrize("stop,cap", [(3.0, 10), (1e9, 7), (1.5, 1)])
def test_while_and_count_limits(stop, cap):
    check_interpret(counting(stop, cap), {"x": np.ones((1, 3), np.float32)}, dyn_axes={"x": (1,)})


@pytest.mark.parametrize("cap", [1, 4, 9])
def test_step_cap_from_a_shape_input_below_the_profile_max(cap):
    check_interpret(counting(5.0, None), {"x": np.ones((1, 2), np.float32), "max_steps": cap})


def test_forward_and_reverse_iterators_with_a_dynamic_count(rng):
    seq = rng.standard_normal((5, 3, 4)).astype(np.float32)

    def define(g, i):
        T = ops.dim_size(i["seq"], 0)

        def body(s, it):
            h = ops.tanh(s["h"] * 0.5 + it["f"] - it["b"])
            return {"h": h}, {"f": it["f"], "b": it["b"], "h": h, "step": it["step"]}, None
        r = loop(body, {"h": ops.zeros(g, [3, 4], "float32")}, max_steps=ops.cast(T, "int32"),
                 sequences={"f": i["seq"], "b": i["seq"]}, reverse=["b"], name="bi")
        return {**r.collected, "last": r.state["h"], "n": r.n_steps}
    out = check_interpret(define, {"seq": seq})
    np.testing.assert_array_equal(out["b"], seq[::-1])


def test_conditional_inside_a_loop():
    def define(g, i):
        def body(s, it):
            even = ops.equal(ops.floor_div(it["step"], 2) * 2, it["step"])
            v = ops.cond(even, lambda a: a + 10.0, lambda a: a - 1.0, [s["v"]], name="parity")
            return {"v": v}, {"v": v}, None
        return loop(body, {"v": i["x"]}, max_steps=4, name="lc").collected["v"]
    out = check_interpret(define, {"x": np.zeros((2,), np.float32)})
    np.testing.assert_array_equal(out["y"][:, 0], [10, 9, 19, 18])


def test_nested_loops_with_a_stateful_inner_loop(rng):
    x = rng.standard_normal((3, 2)).astype(np.float32)

    def define(g, i):
        def outer(s, it):
            def inner(t, jt):
                return {"a": t["a"] * 0.5 + s["h"]}, {}, None
            a = loop(inner, {"a": s["h"]}, max_steps=3, name="inner").state["a"]
            return {"h": a + it["x"]}, {"h": a}, None
        r = loop(outer, {"h": ops.zeros(g, [2], "float32")}, max_steps=3, sequences={"x": i["x"]}, name="outer")
        return {"h": r.collected["h"], "last": r.state["h"]}
    check_interpret(define, {"x": x}, dyn_axes={"x": ()})


def test_attention_like_state_with_a_conv_in_the_body(rng):
    mem = rng.standard_normal((2, 9, 4)).astype(np.float32)
    w = (rng.standard_normal((3, 2, 5)) * 0.2).astype(np.float32)

    def define(g, i):
        m = i["mem"]
        kernel = g.constant(w, name="location_conv")

        def body(s, it):
            feats = ops.conv1d(ops.concat([ops.unsqueeze(s["w"], 1), ops.unsqueeze(s["cum"], 1)], 1), kernel, padding=2)
            a = ops.softmax(ops.reduce_sum(feats, 1) + ops.reduce_sum(m, 2), -1)
            return {"w": a, "cum": s["cum"] + a}, {"align": a}, ops.reduce_max(a, None) < 2.0
        z = ops.zeros(g, [ops.dim_size(m, 0), ops.dim_size(m, 1)], "float32")
        r = loop(body, {"w": z, "cum": z}, max_steps=4, name="att")
        return {"align": r.collected["align"], "cum": r.state["cum"]}
    check_interpret(define, {"mem": mem}, dyn_axes={"mem": (0, 1)})


def _raw_loop(kind: str):
    """acc += 1 for 3 steps (WHILE acc < 3) under a COUNT of 5, output with LoopOutput ``kind`` (length 5):
    TensorRT's own API, no trtnet zeroing of the tail."""
    g = Graph.trt("raw")
    be, trt, net = g.backend, g.backend.trt, g.backend.network
    x = g.input("x", "float32", (2,))
    lp = net.add_loop()
    five = be.const("five", np.array(5, np.int32))
    lp.add_trip_limit(five, trt.TripLimit.COUNT)
    rec = lp.add_recurrence(x.handle)
    one = be.const("one", np.array([1, 1], np.float32))
    nxt = net.add_elementwise(rec.get_output(0), one, trt.ElementWiseOperation.SUM)
    rec.set_input(1, nxt.get_output(0))
    three = be.const("three", np.array([3], np.float32))
    red = net.add_reduce(rec.get_output(0), trt.ReduceOperation.MAX, 1, False)
    go = net.add_elementwise(red.get_output(0), be.const("three0", np.array(3, np.float32)),
                             trt.ElementWiseOperation.LESS)
    lp.add_trip_limit(go.get_output(0), trt.TripLimit.WHILE)
    src = rec.get_output(0) if kind == "LAST_VALUE" else nxt.get_output(0)
    out = lp.add_loop_output(src, getattr(trt.LoopOutput, kind), 0)
    if kind != "LAST_VALUE":
        out.set_input(1, five)
    out.get_output(0).name = "y"
    net.mark_output(out.get_output(0))
    del three
    return net


def test_concatenate_entries_past_the_trip_count_are_poison():
    y = interpret_network(_raw_loop("CONCATENATE"), {"x": np.zeros(2, np.float32)})["y"]
    np.testing.assert_array_equal(y[:3], [[1, 1], [2, 2], [3, 3]])
    assert y.shape == (5, 2) and np.isnan(y[3:]).all()
    y = interpret_network(_raw_loop("LAST_VALUE"), {"x": np.zeros(2, np.float32)})["y"]
    np.testing.assert_array_equal(y, [3, 3])       # the recurrence after the last iteration


def test_iterating_past_a_tensor_is_an_error():
    def define(g, i):
        return loop(lambda s, it: ({"h": s["h"] + it["x"]}, {}, None), {"h": ops.zeros(g, [2], "float32")},
                    max_steps=i["n"], sequences={"x": i["x"]}, name="it").state["h"]
    from graph_helpers import trt_graph
    feeds = {"x": np.ones((3, 2), np.float32), "n": 3}
    net = trt_graph(define, feeds, static=False).backend.network
    with pytest.raises(InterpretError, match="reads index 3 of a size-3 axis"):
        interpret_network(net, {**feeds, "n": 4})
