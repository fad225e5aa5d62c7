"""The functional loop: stop step, COUNT cap, zeroed padding, reverse iteration, a conditional inside a loop,
and the loop contract errors.  Eager semantics are checked by value; every loop also builds with TensorRT-RTX."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from trtnet import ops
from trtnet.errors import LoopError
from trtnet.loop import loop
from trtnet.tensor import Tensor
from graph_helpers import build_plan, eager, trt_graph


@dataclass
class Counter:
    c: Tensor
    acc: Tensor


def counting(stop_at: float, max_steps):
    """c counts 1, 2, ...; keep_going while c < stop_at; collects c and acc = Σ x."""
    def define(g, i):
        x = i["x"]
        init = Counter(c=ops.zeros(g, [1], "float32"), acc=ops.zeros(g, [ops.dim_size(x, 1)], "float32"))

        def body(s, it):
            c = s.c + 1.0
            acc = s.acc + ops.reshape(ops.slice_axis(x, 0, 0, 1), [-1])
            return Counter(c, acc), {"c": c, "acc": acc}, ops.reduce_max(c, None) < stop_at
        steps = i["max_steps"] if "max_steps" in i else max_steps
        r = loop(body, init, max_steps=steps, name="count")
        return {"c": r.collected["c"], "acc": r.collected["acc"], "n": r.n_steps, "last_c": r.state.c}
    return define


def test_early_stop_keeps_the_stop_step_and_zeroes_the_tail(tmp_path):
    x = np.ones((1, 3), np.float32)
    out = eager(counting(3.0, 10), {"x": x})
    assert int(out["n"]) == 3                       # steps 1, 2 continue; step 3 stops and is kept
    assert out["c"].shape == (10, 1)
    np.testing.assert_array_equal(out["c"][:, 0].numpy(), [1, 2, 3, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(out["acc"][2].numpy(), [3, 3, 3])
    assert torch.all(out["acc"][3:] == 0)
    assert float(out["last_c"][0]) == 3.0
    build_plan(trt_graph(counting(3.0, 10), {"x": x}, static=False, dyn_axes={"x": (1,)}), tmp_path)


def test_count_cap_stops_a_loop_whose_condition_never_fails(tmp_path):
    x = np.ones((1, 2), np.float32)
    out = eager(counting(1e9, 7), {"x": x})
    assert int(out["n"]) == 7 and float(out["c"][-1, 0]) == 7.0
    build_plan(trt_graph(counting(1e9, 7), {"x": x}, static=False), tmp_path)


def test_step_cap_from_a_shape_tensor_input(tmp_path):
    """max_steps as a 0-D int32 shape input (set per call at run time, host-side)."""
    x = np.ones((1, 2), np.float32)
    out = eager(counting(1e9, None), {"x": x, "max_steps": 5})
    assert int(out["n"]) == 5 and out["c"].shape == (5, 1)
    g = trt_graph(counting(1e9, None), {"x": x, "max_steps": 5}, static=False)
    assert g.inputs["max_steps"].is_shape_tensor
    res = build_plan(g, tmp_path)
    assert res.sidecar.io.dims["max_steps"].max == 20


def test_reverse_iterator_runs_from_the_end(rng, tmp_path):
    seq = rng.standard_normal((6, 2, 3)).astype(np.float32)

    def define(g, i):
        def body(s, it):
            acc = s["acc"] + it["seq"]
            return {"acc": acc}, {"fwd_acc": acc, "idx": it["step"]}, None
        r = loop(body, {"acc": ops.zeros(g, [2, 3], "float32")}, max_steps=6, sequences={"seq": i["seq"]},
                 reverse=["seq"], name="rev")
        return {"acc": r.collected["fwd_acc"], "idx": r.collected["idx"], "n": r.n_steps}
    out = eager(define, {"seq": seq})
    want = np.cumsum(seq[::-1], axis=0)             # step i sees seq[T-1-i]
    np.testing.assert_allclose(out["acc"].numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(out["idx"].numpy(), np.arange(6))
    assert int(out["n"]) == 6
    build_plan(trt_graph(define, {"seq": seq}), tmp_path)


def test_forward_and_reverse_iterators_together_like_a_bilstm(rng, tmp_path):
    seq = rng.standard_normal((5, 4)).astype(np.float32)

    def define(g, i):
        T = ops.dim_size(i["seq"], 0)
        def body(s, it):
            return {"h": s["h"] * 0.5 + it["f"]}, {"f": it["f"], "b": it["b"]}, None
        r = loop(body, {"h": ops.zeros(g, [4], "float32")}, max_steps=ops.cast(T, "int32"),
                 sequences={"f": i["seq"], "b": i["seq"]}, reverse=["b"], name="bi")
        return {"f": r.collected["f"], "b": r.collected["b"]}
    out = eager(define, {"seq": seq})
    np.testing.assert_array_equal(out["f"].numpy(), seq)
    np.testing.assert_array_equal(out["b"].numpy(), seq[::-1])
    build_plan(trt_graph(define, {"seq": seq}, static=False), tmp_path)


def test_conditional_inside_a_loop(tmp_path):
    def define(g, i):
        def body(s, it):
            even = ops.equal(ops.floor_div(it["step"], 2) * 2, it["step"])
            v = ops.cond(even, lambda a: a + 10.0, lambda a: a - 1.0, [s["v"]], name="parity")
            return {"v": v}, {"v": v}, None
        r = loop(body, {"v": i["x"]}, max_steps=4, name="lc")
        return r.collected["v"]
    x = np.zeros((2,), np.float32)
    out = eager(define, {"x": x})["y"]
    np.testing.assert_array_equal(out[:, 0].numpy(), [10, 9, 19, 18])
    build_plan(trt_graph(define, {"x": x}), tmp_path)


def test_dynamic_shape_state_like_attention_weights(rng, tmp_path):
    """A carried [B, T_in] state whose T_in comes from an input, with a conv inside the loop body."""
    mem = rng.standard_normal((2, 9, 4)).astype(np.float32)
    w = (rng.standard_normal((3, 2, 5)) * 0.2).astype(np.float32)

    def define(g, i):
        m = i["mem"]
        B, T = ops.dim_size(m, 0), ops.dim_size(m, 1)
        kernel = g.constant(w, name="location_conv")
        def body(s, it):
            feats = ops.conv1d(ops.concat([ops.unsqueeze(s["w"], 1), ops.unsqueeze(s["cum"], 1)], 1), kernel, padding=2)
            e = ops.reduce_sum(feats, 1) + ops.reduce_sum(m, 2)
            a = ops.softmax(e, -1)
            return {"w": a, "cum": s["cum"] + a}, {"align": a}, None
        z = ops.zeros(g, [B, T], "float32")
        r = loop(body, {"w": z, "cum": z}, max_steps=3, name="att")
        return {"align": r.collected["align"], "cum": r.state["cum"]}
    out = eager(define, {"mem": mem})
    np.testing.assert_allclose(out["align"].sum(-1).numpy(), np.ones((3, 2)), rtol=1e-5)
    np.testing.assert_allclose(out["cum"].numpy(), out["align"].sum(0).numpy(), rtol=1e-5)
    build_plan(trt_graph(define, {"mem": mem}, static=False, dyn_axes={"mem": (0, 1)}), tmp_path)


# ---- the loop contract ----------------------------------------------------------------------------------
def _run_body(body, init_fields=("h",)):
    def define(g, i):
        init = {k: i["x"] for k in init_fields}
        return loop(body, init, max_steps=3, name="bad").collected.get("y", i["x"])
    return define


@pytest.mark.parametrize("make", ["eager", "trt"])
def test_a_carried_value_that_is_never_updated_is_an_error(make):
    x = {"x": np.zeros(2, np.float32)}
    missing = _run_body(lambda s, it: ({"h": s["h"] + 1}, {}, None), init_fields=("h", "c"))
    unchanged = _run_body(lambda s, it: ({"h": s["h"]}, {}, None))
    for define, word in ((missing, "never updated: ['c']"), (unchanged, "never updated")):
        with pytest.raises(LoopError, match=word.replace("[", r"\[").replace("]", r"\]")):
            eager(define, x) if make == "eager" else trt_graph(define, x)


def test_state_dtype_or_shape_changes_and_bad_keep_going_are_errors():
    x = {"x": np.zeros(2, np.float32)}
    with pytest.raises(LoopError, match="changes dtype"):
        eager(_run_body(lambda s, it: ({"h": ops.cast(s["h"], "float16")}, {}, None)), x)
    with pytest.raises(LoopError, match="changes shape"):
        eager(_run_body(lambda s, it: ({"h": ops.concat([s["h"], s["h"]], 0)}, {}, None)), x)
    with pytest.raises(LoopError, match="0-D bool"):
        eager(_run_body(lambda s, it: ({"h": s["h"] + 1}, {}, s["h"] > 0)), x)
    with pytest.raises(LoopError, match="never a positional tuple"):
        eager(lambda g, i: loop(lambda s, it: ((s[0] + 1,), {}, None), (i["x"],), max_steps=2).n_steps, x)
