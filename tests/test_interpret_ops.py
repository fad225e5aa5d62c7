"""The interpreter on one-op networks built with trtnet ops (dynamic input axes): its outputs equal the eager
twin's for every op family, at FP32, FP16 and integer types; unsupported layers and bad feeds are errors."""

from __future__ import annotations

import numpy as np
import pytest

from graph_helpers import trt_graph
from interpret_helpers import check_interpret, interpret
from trtnet import ops
from trtnet.graph import Graph
from trtnet.interpret import InterpretError, interpret_network


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_elementwise_family(dtype, rng):
    a = rng.uniform(-3, 3, (3, 1, 5))
    b = rng.uniform(0.5, 3, (1, 4, 5))
    if dtype == "int32":
        a, b = a.round() * 3, b.round()
    feeds = {"a": a.astype(dtype), "b": b.astype(dtype)}

    def define(g, x):
        a, b = x["a"], x["b"]
        out = {"add": a + b, "sub": a - b, "mul": a * b, "min": ops.minimum(a, b), "max": ops.maximum(a, b),
               "div": ops.div(a, b), "lt": a < b, "gt": a > b, "eq": ops.equal(a, b), "fdiv": ops.floor_div(a, b)}
        if dtype != "int32":
            out["pow"] = ops.pow(ops.abs(a), b)
        return out
    check_interpret(define, feeds, dyn_axes={"a": (0,), "b": (1,)})


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_unary_and_activations(dtype, rng):
    x = rng.uniform(-4, 4, (2, 7)).astype(dtype)
    pos = rng.uniform(0.1, 4, (2, 7)).astype(dtype)
    fns = {"exp": ops.exp, "abs": ops.abs, "neg": ops.neg, "relu": ops.relu, "tanh": ops.tanh,
           "sigmoid": ops.sigmoid, "sin": ops.sin, "cos": ops.cos, "floor": ops.floor}
    check_interpret(lambda g, i: {**{k: f(i["x"]) for k, f in fns.items()}, "log": ops.log(i["p"]),
                                  "sqrt": ops.sqrt(i["p"]), "recip": ops.reciprocal(i["p"])},
                    {"x": x, "p": pos}, tol=2e-6 if dtype == "float32" else 1e-3)


def test_logical_where_cast(rng):
    x = rng.uniform(-3, 3, (4, 3)).astype(np.float32)
    x[0, 0] = -2.7

    def define(g, i):
        pos = i["x"] > 0.0
        big = ops.logical_or(i["x"] > 2.0, i["x"] < -2.0)
        return {"and": ops.logical_and(pos, big), "xor": ops.logical_xor(pos, big), "not": ops.logical_not(pos),
                "where": ops.where(pos, i["x"], ops.neg(i["x"])), "i32": ops.cast(i["x"], "int32"),
                "f16": ops.cast(i["x"], "float16"), "b2f": ops.cast(pos, "float32"), "i64": ops.cast(pos, "int64")}
    check_interpret(define, {"x": x})


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul_transposes(ta, tb, dtype, rng):
    a = rng.standard_normal((3, 2, 5, 4) if ta else (3, 2, 4, 5)).astype(dtype)
    b = rng.standard_normal((6, 5) if tb else (5, 6)).astype(dtype)
    check_interpret(lambda g, i: ops.matmul(i["a"], g.constant(b, name="w"), transpose_a=ta, transpose_b=tb),
                    {"a": a})


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_softmax_and_reductions(dtype, rng):
    x = rng.standard_normal((3, 4, 5)).astype(dtype)

    def define(g, i):
        x = i["x"]
        return {"sm0": ops.softmax(x, 0), "sm2": ops.softmax(x, -1), "sum": ops.reduce_sum(x, [0, 2]),
                "mean": ops.reduce_mean(x, 1, keepdims=True), "max": ops.reduce_max(x, None),
                "min": ops.reduce_min(x, 2), "arg": ops.argmax(x, 1)}
    check_interpret(define, {"x": x})


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("stride,padding,dilation,groups,bias", [(1, 0, 1, 1, False), (1, 2, 1, 1, True),
                                                                (2, 1, 1, 2, True), (1, 3, 3, 1, True)])
def test_conv1d(stride, padding, dilation, groups, bias, dtype, rng):
    x = rng.standard_normal((2, 4, 11)).astype(dtype)
    w = (rng.standard_normal((6, 4 // groups, 3)) * 0.3).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)

    def define(g, i):
        return ops.conv1d(i["x"], g.constant(w, name="w"), g.constant(b, name="b") if bias else None,
                          stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_interpret(define, {"x": x}, dyn_axes={"x": (0, 2)})


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (4, 2)])
def test_conv_transpose1d(stride, padding, rng):
    x = rng.standard_normal((2, 4, 7)).astype(np.float32)
    w = (rng.standard_normal((4, 3, 2 * stride)) * 0.3).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    check_interpret(lambda g, i: ops.conv_transpose1d(i["x"], g.constant(w, name="w"), g.constant(b, name="b"),
                                                      stride=stride, padding=padding), {"x": x}, dyn_axes={"x": (2,)})


def test_shape_ops_with_dynamic_sizes(rng):
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)

    def define(g, i):
        x = i["x"]
        t = ops.dim_size(x, 0)
        a, b = ops.split(x, [1, 3], axis=-1)
        return {"r": ops.reshape(x, (0, -1)), "p": ops.permute(x, (2, 0, 1)), "u": ops.unsqueeze(x, [1, -1]),
                "s": ops.squeeze(ops.unsqueeze(x, 1), 1), "cat": ops.concat([x, x], axis=0), "a": a, "b": b,
                "tail": ops.slice_axis(x, 0, t - 2, t), "step": ops.slice_axis(x, 0, 0, t, 2),
                "shape": ops.shape(x), "n": t, "ar": ops.arange(g, t), "bc": ops.broadcast_to(ops.slice_axis(x, 1, 0, 1),
                                                                                        [t, 3, 4])}
    check_interpret(define, {"x": x})


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_pad_modes(mode, rng):
    x = rng.standard_normal((2, 3, 6)).astype(np.float32)
    check_interpret(lambda g, i: {"p": ops.pad(i["x"], [(2, 3)], mode=mode),
                                  "v": ops.pad(i["x"], [(1, 1), (0, 2)], value=-7.0) if mode == "constant"
                                  else ops.pad(i["x"], [(1, 1), (2, 0)], mode=mode)}, {"x": x}, dyn_axes={"x": (0, 2)})


def test_gather_and_reverse_sequence(rng):
    table = rng.standard_normal((11, 4)).astype(np.float32)
    ids = rng.integers(0, 11, (3, 6)).astype(np.int32)
    seq = rng.standard_normal((6, 3, 2)).astype(np.float32)
    lengths = np.array([6, 2, 0], np.int32)

    def define(g, i):
        return {"e": ops.gather(g.constant(table, name="emb"), i["ids"], 0),
                "c": ops.gather(ops.transpose(g.constant(table), 0, 1), i["ids"], 1),
                "rev": ops.reverse_sequence(i["s"], i["lengths"], batch_axis=1, seq_axis=0)}
    check_interpret(define, {"ids": ids, "s": seq, "lengths": lengths}, dyn_axes={"s": (0,), "ids": (0, 1)})


def test_out_of_range_gather_is_poison():
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    out = interpret(lambda g, i: ops.gather(g.constant(table), i["ids"], 0), {"ids": np.array([1, 4], np.int32)})
    assert np.isnan(out["y"][1]).all() and (out["y"][0] == table[1]).all()


def test_random_fills_are_seeded_and_distributed():
    x = np.zeros((2000, 1), np.float32)

    def define(g, i):
        n = ops.dim_size(i["x"], 0)
        return {"u": ops.random_uniform(g, [n, 4], -1.0, 3.0), "n": ops.random_normal(g, [n, 4], 2.0, 0.5)}
    a, b, c = (interpret(define, {"x": x}, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["u"], c["u"])
    u, n = a["u"], a["n"]
    assert u.shape == (2000, 4) and u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.1
    assert abs(n.mean() - 2) < 0.05 and abs(n.std() - 0.5) < 0.05


def test_unsupported_layer_is_an_error_naming_it():
    g = trt_graph(lambda g, i: ops.relu(i["x"]), {"x": np.ones((1, 2, 4, 4), np.float32)}, static=False)
    trt, net = g.backend.trt, g.backend.network
    pool = net.add_pooling_nd(net.get_output(0), trt.PoolingType.MAX, (2, 2))
    pool.name = "my_pool"
    net.mark_output(pool.get_output(0))
    with pytest.raises(InterpretError, match="my_pool.*POOLING"):
        interpret_network(net, {"x": np.ones((1, 2, 4, 4), np.float32)})


def test_feeds_are_checked():
    g = trt_graph(lambda g, i: ops.relu(i["x"]), {"x": np.ones((3, 2), np.float32)}, static=False)
    net = g.backend.network
    with pytest.raises(InterpretError, match="expected float32, got float64"):
        interpret_network(net, {"x": np.ones((3, 2))})
    with pytest.raises(InterpretError, match="does not fit"):
        interpret_network(net, {"x": np.ones((3, 5), np.float32)})
    with pytest.raises(InterpretError, match="no feed"):
        interpret_network(net, {})


def test_strict_slice_out_of_bounds_is_an_error():
    g = Graph.trt("t")
    g.dim("T", 1, 4, 8)
    x = g.input("x", "float32", ("T",))
    g.output("y", ops.slice(x, [2], [3]))
    with pytest.raises(InterpretError, match="strict slice"):
        interpret_network(g.backend.network, {"x": np.ones(4, np.float32)})


def test_the_interpreter_imports_nothing_that_made_the_network():
    """Independence: the interpreter modules import numpy, torch and themselves only (the comparison harness,
    ``compare``/``suite``, is the one place that also runs the eager twin)."""
    import ast
    from pathlib import Path
    import trtnet.interpret as pkg
    for path in Path(pkg.__file__).parent.glob("*.py"):
        if path.stem in ("compare", "suite"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [("." * node.level) + (node.module or "")] if isinstance(node, ast.ImportFrom) else [])
            for n in names:
                assert n.startswith(".") and not n.startswith("..") or n.split(".")[0] in (
                    "numpy", "torch", "__future__", "dataclasses", "typing", "sys", "math"), f"{path.name}: {n}"
