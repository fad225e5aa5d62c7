"""matmul, softmax, reductions, conv1d / conv_transpose1d and random fills."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtnet import ops
from trtnet.dtypes import DType
from graph_helpers import check_against, eager


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(ta, tb, dtype, rng, tmp_path):
    a = rng.standard_normal((2, 3, 4) if not ta else (2, 4, 3)).astype(dtype)
    b = rng.standard_normal((4, 5) if not tb else (5, 4)).astype(dtype)

    def ref(a, b):
        a = a.swapaxes(-1, -2) if ta else a
        b = b.swapaxes(-1, -2) if tb else b
        return a @ b
    check_against(lambda g, x: ops.matmul(x["a"], g.constant(b, name="w"), transpose_a=ta, transpose_b=tb),
                  {"a": a}, lambda a: ref(a, b.astype(np.float64)), tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax(axis, dtype, rng, tmp_path):
    x = (rng.standard_normal((3, 4, 5)) * 4).astype(dtype)
    x.flat[0] = -1e4 if dtype == "float32" else -6e4  # a nearly masked position

    def ref(x):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    check_against(lambda g, i: ops.softmax(i["x"], axis), {"x": x}, ref, tmp_path)


def test_softmax_with_minus_infinity_mask(tmp_path):
    x = np.array([[0.5, -np.inf, 1.0, -np.inf]], np.float32)
    check_against(lambda g, i: ops.softmax(i["x"], -1), {"x": x},
                  lambda x: np.where(np.isinf(x), 0, np.exp(x) / np.exp(x[np.isfinite(x)]).sum()), tmp_path)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axes", [None, 1, (0, 2)])
def test_reductions(axes, keepdims, rng, tmp_path):
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    ax = tuple(range(3)) if axes is None else axes
    check_against(lambda g, i: {"sum": ops.reduce_sum(i["x"], axes, keepdims), "mean": ops.reduce_mean(i["x"], axes, keepdims),
                                "max": ops.reduce_max(i["x"], axes, keepdims), "min": ops.reduce_min(i["x"], axes, keepdims)},
                  {"x": x}, lambda x: {"sum": x.sum(ax, keepdims=keepdims), "mean": x.mean(ax, keepdims=keepdims),
                                       "max": x.max(ax, keepdims=keepdims), "min": x.min(ax, keepdims=keepdims)},
                  tmp_path)


def _np_conv1d(x, w, b, stride, padding, dilation, groups):
    B, C, T = x.shape
    O, Cg, K = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding)])
    Tout = (T + 2 * padding - dilation * (K - 1) - 1) // stride + 1
    out = np.zeros((B, O, Tout))
    og = O // groups
    for o in range(O):
        g = o // og
        for t in range(Tout):
            seg = xp[:, g * Cg:(g + 1) * Cg, t * stride: t * stride + dilation * (K - 1) + 1: dilation]
            out[:, o, t] = (seg * w[o]).sum(axis=(1, 2))
    return out + (b[None, :, None] if b is not None else 0)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("stride,padding,dilation,groups,bias", [(1, 2, 1, 1, True), (2, 0, 1, 1, False),
                                                                 (1, 4, 2, 1, True), (1, 1, 1, 2, True)])
def test_conv1d(stride, padding, dilation, groups, bias, dtype, rng, tmp_path):
    x = rng.standard_normal((2, 4, 11)).astype(dtype)
    w = (rng.standard_normal((6, 4 // groups, 5)) * 0.3).astype(dtype)
    b = rng.standard_normal(6).astype(dtype) if bias else None
    check_against(lambda g, i: ops.conv1d(i["x"], g.constant(w, name="weight"),
                                          g.constant(b, name="bias") if bias else None,
                                          stride=stride, padding=padding, dilation=dilation, groups=groups),
                  {"x": x}, lambda x: _np_conv1d(x, w.astype(np.float64), b if b is None else b.astype(np.float64),
                                                 stride, padding, dilation, groups),
                  tmp_path, dyn_axes={"x": (0, 2)})


@pytest.mark.parametrize("stride,padding", [(1, 0), (4, 0), (3, 2)])
def test_conv_transpose1d(stride, padding, rng, tmp_path):
    x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    w = rng.standard_normal((3, 4, 8)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    want = torch.nn.functional.conv_transpose1d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                                                torch.from_numpy(b).double(), stride=stride, padding=padding).numpy()
    # independent check of the float64 reference itself: the adjoint identity <conv_t(x), y> = <x, conv(y)>
    y = rng.standard_normal(want.shape)
    lhs = ((want - b[None, :, None]) * y).sum()
    rhs = (x * torch.nn.functional.conv1d(torch.from_numpy(y), torch.from_numpy(w).double(), stride=stride,
                                          padding=padding).numpy()[..., :x.shape[2]]).sum()
    assert np.isclose(lhs, rhs)
    check_against(lambda g, i: ops.conv_transpose1d(i["x"], g.constant(w), g.constant(b), stride=stride,
                                                    padding=padding),
                  {"x": x}, lambda x: want, tmp_path, dyn_axes={"x": (0, 2)})


def test_random_fills_have_the_requested_distribution(tmp_path):
    """Eager twins of IFillLayer RANDOM_*: shapes from run-time sizes, moments close to the target."""
    x = np.zeros((4, 3), np.float32)
    define = lambda g, i: {"u": ops.random_uniform(g, [ops.dim_size(i["x"], 0), 5000], -2.0, 4.0),
                           "n": ops.random_normal(g, [4, 5000], 1.5, 0.5, DType.float16)}
    out = eager(define, {"x": x}, seed=3)
    u, n = out["u"].double(), out["n"].double()
    assert tuple(u.shape) == (4, 5000) and n.dtype == torch.float64 and out["n"].dtype == torch.float16
    assert u.min() >= -2 and u.max() < 4 and abs(u.mean() - 1.0) < 0.05
    assert abs(n.mean() - 1.5) < 0.02 and abs(n.std() - 0.5) < 0.02
    again = eager(define, {"x": x}, seed=3)
    assert torch.equal(again["u"], out["u"]), "seeded eager fills must repeat"
    from graph_helpers import build_plan, trt_graph
    assert build_plan(trt_graph(define, {"x": x}, static=False), tmp_path).plan_bytes > 0


def test_random_normal_with_tensor_std(tmp_path):
    """sigma as a 0-D tensor input (how WaveGlow takes sigma at run time)."""
    sig = np.array(0.25, np.float32)
    x = np.zeros((2, 8), np.float32)
    define = lambda g, i: ops.random_normal(g, [ops.dim_size(i["x"], 0), 4000], 0.0, i["s"], DType.float32)
    out = eager(define, {"x": x, "s": sig}, seed=1)["y"]
    assert abs(float(out.std()) - 0.25) < 0.01
    from graph_helpers import build_plan, trt_graph
    assert build_plan(trt_graph(define, {"x": x, "s": sig}, static=False), tmp_path).plan_bytes > 0


@pytest.mark.parametrize("axis", [0, -1])
def test_argmax(axis, rng, tmp_path):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    check_against(lambda g, i: {"a": ops.argmax(i["x"], axis), "k": ops.argmax(i["x"], axis, keepdims=True)},
                  {"x": x}, lambda x: {"a": x.argmax(axis).astype(np.int32),
                                       "k": np.expand_dims(x.argmax(axis), axis).astype(np.int32)}, tmp_path,
                  dyn_axes={"x": (1 if axis == 0 else 0,)})
