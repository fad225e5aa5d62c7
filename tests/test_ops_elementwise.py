"""Elementwise, unary, comparison, logical and cast ops: eager vs a float64 numpy reference on fresh random
inputs plus edge values, TensorRT's inferred shapes vs eager shapes, and a TensorRT-RTX build of each op."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet import ops
from graph_helpers import check_against


def _pair(rng, dtype, low=-3.0, high=3.0):
    a = rng.uniform(low, high, (3, 1, 5)).astype(dtype)
    b = rng.uniform(low, high, (4, 5)).astype(dtype)
    a.flat[:3] = [0, high, low]  # edge values
    return a, b


BINARY = {
    "add": (ops.add, np.add), "sub": (ops.sub, np.subtract), "mul": (ops.mul, np.multiply),
    "minimum": (ops.minimum, np.minimum), "maximum": (ops.maximum, np.maximum),
}


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary(op, dtype, rng, tmp_path):
    fn, ref = BINARY[op]
    a, b = _pair(rng, np.float32 if dtype != "int32" else np.float64)
    a, b = (a.round().astype(dtype), b.round().astype(dtype)) if dtype == "int32" else (a.astype(dtype), b.astype(dtype))
    check_against(lambda g, x: fn(x["a"], x["b"]), {"a": a, "b": b}, lambda a, b: ref(a, b), tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_div_and_pow(dtype, rng, tmp_path):
    a, b = _pair(rng, dtype, 0.5, 2.0)
    check_against(lambda g, x: {"d": x["a"] / x["b"], "p": x["a"] ** x["b"]}, {"a": a, "b": b},
                  lambda a, b: {"d": a / b, "p": a ** b}, tmp_path)


def test_integer_division_truncates_like_tensorrt(rng):
    a = np.array([7, -7, 7, -7, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    check_against(lambda g, x: {"d": ops.div(x["a"], x["b"]), "f": ops.floor_div(x["a"], x["b"])},
                  {"a": a, "b": b}, lambda a, b: {"d": np.trunc(a / b).astype(np.int32), "f": a // b})


UNARY = {
    "exp": (ops.exp, np.exp, -5, 5), "log": (ops.log, np.log, 0.01, 50), "sqrt": (ops.sqrt, np.sqrt, 0, 50),
    "abs": (ops.abs, np.abs, -5, 5), "neg": (ops.neg, np.negative, -5, 5),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), -5, 5), "tanh": (ops.tanh, np.tanh, -8, 8),
    "sigmoid": (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), -300, 300),
    "reciprocal": (ops.reciprocal, lambda x: 1 / x, 0.1, 5), "sin": (ops.sin, np.sin, -4, 4),
    "cos": (ops.cos, np.cos, -4, 4), "floor": (ops.floor, np.floor, -4, 4),
}


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, dtype, rng, tmp_path):
    fn, ref, low, high = UNARY[op]
    if dtype == "float16" and op == "sigmoid":
        low, high = -30, 30  # fp16 overflows exp beyond ±11; the op itself saturates correctly
    x = rng.uniform(low, high, (2, 3, 7)).astype(dtype)
    x.flat[:2] = [low, high]
    if op not in ("log", "reciprocal"):
        x.flat[2] = 0
    check_against(lambda g, i: fn(i["x"]), {"x": x}, lambda x: ref(x), tmp_path)


def test_sigmoid_saturates_at_extremes():
    x = np.array([-300.0, -30.0, 0.0, 30.0, 300.0], np.float32)
    out = check_against(lambda g, i: ops.sigmoid(i["x"]), {"x": x}, lambda x: 1 / (1 + np.exp(-x)))
    assert out["y"][0] == 0.0 and out["y"][-1] == 1.0 and out["y"][2] == 0.5


@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_comparisons(dtype, rng, tmp_path):
    a, b = _pair(rng, np.float32)
    a, b = a.round().astype(dtype), b.round().astype(dtype)
    check_against(lambda g, x: {"eq": ops.equal(x["a"], x["b"]), "lt": x["a"] < x["b"], "gt": x["a"] > x["b"],
                                "le": x["a"] <= x["b"], "ge": x["a"] >= x["b"]},
                  {"a": a, "b": b}, lambda a, b: {"eq": a == b, "lt": a < b, "gt": a > b, "le": a <= b, "ge": a >= b},
                  tmp_path)


def test_logical_and_where(rng, tmp_path):
    p = rng.random((4, 6)) > 0.5
    q = rng.random((1, 6)) > 0.5
    v = rng.standard_normal((4, 6)).astype(np.float32)
    check_against(lambda g, x: {"and": x["p"] & x["q"], "or": x["p"] | x["q"], "xor": ops.logical_xor(x["p"], x["q"]),
                                "not": ~x["p"], "where": ops.where(x["p"], x["v"], -1.0),
                                "clamp": ops.clamp(x["v"], -0.5, 0.5)},
                  {"p": p, "q": q, "v": v},
                  lambda p, q, v: {"and": p & q, "or": p | q, "xor": p ^ q, "not": ~p, "where": np.where(p, v, -1.0),
                                   "clamp": np.clip(v, -0.5, 0.5)}, tmp_path)


@pytest.mark.parametrize("src,dst", [("float32", "float16"), ("float16", "float32"), ("float32", "int32"),
                                     ("int32", "float32"), ("bool", "float32"), ("int32", "int64")])
def test_cast(src, dst, rng, tmp_path):
    x = (rng.uniform(-50, 50, (3, 4)) if src != "bool" else rng.random((3, 4)) > 0.5).astype(src)
    check_against(lambda g, i: ops.cast(i["x"], dst), {"x": x}, lambda x: np.asarray(x).astype(dst), tmp_path)


def test_python_scalars_take_the_tensor_dtype_and_rank():
    x = np.arange(6, dtype=np.float16).reshape(2, 3)
    out = check_against(lambda g, i: 2.5 * i["x"] - 1, {"x": x}, lambda x: 2.5 * x - 1)
    assert str(out["y"].dtype) == "torch.float16"
