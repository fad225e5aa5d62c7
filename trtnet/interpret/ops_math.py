"""Evaluators of the arithmetic layers, following TensorRT's documented semantics.

Each evaluator is ``fn(node, ins, ctx) -> list[np.ndarray]``; the executor rounds every result to the layer's
declared output dtype (so FP16 layers compute in float32 and store float16, like TensorRT's FP32-accumulating
kernels).  Matrix products and convolutions run through torch on the CPU in float32.

* IElementWiseLayer: both operands have the same rank; size-1 axes broadcast.  Integer DIV truncates toward
  zero, FLOOR_DIV rounds down.  Comparisons give bool.
* IUnaryLayer / IActivationLayer: elementwise functions (sigmoid 1/(1+e^-x), leaky relu max(x, αx), clip...).
* ICastLayer: value conversion (float→int truncates, →bool is x ≠ 0).
* ISelectLayer: where(cond, a, b), same-rank broadcast.
* IMatrixMultiplyLayer: batched A·B on the last two axes; TRANSPOSE swaps them; VECTOR treats the last axis
  as a vector (that axis is dropped from the result).
* ISoftMaxLayer (one axis), IReduceLayer (axes bitmask, keep_dims), ITopKLayer (k largest / smallest on one
  axis, values and indices; ties keep the lower index).
* IConvolutionLayer / IDeconvolutionLayer: N-D, kernel [O, C/g, k...] (deconvolution [C, O/g, k...]) and bias
  from the layer's weights or from inputs 1 and 2; explicit pre/post padding (deconvolution crops them).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .errors import InterpretError


def f32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _same_rank(node, *xs) -> None:
    ranks = {x.ndim for x in xs}
    if len(ranks) != 1:
        raise InterpretError(f"operand ranks {[x.ndim for x in xs]} differ (TensorRT broadcasts only size-1 "
                             "axes of equal-rank operands)", node.name)
    for axis in range(xs[0].ndim):
        sizes = {x.shape[axis] for x in xs} - {1}
        if len(sizes) > 1:
            raise InterpretError(f"axis {axis}: sizes {[x.shape[axis] for x in xs]} do not broadcast", node.name)


def _int_div(a, b, floor: bool):
    if np.any(b == 0):
        raise InterpretError("integer division by zero")
    q = a // b
    if not floor:
        q = q + ((q < 0) & (q * b != a))
    return q


def elementwise(node, ins, ctx):
    a, b = ins
    _same_rank(node, a, b)
    op = node.attrs["op"]
    if a.dtype.kind == "f":
        a, b = f32(a), f32(b)
        with np.errstate(all="ignore"):
            fn = {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply, "DIV": np.divide, "MIN": np.minimum,
                  "MAX": np.maximum, "POW": np.power, "EQUAL": np.equal, "LESS": np.less, "GREATER": np.greater,
                  "FLOOR_DIV": lambda x, y: np.floor(x / y)}.get(op)
            if fn is None:
                raise InterpretError(f"elementwise {op} on floats", node.name)
            return [fn(a, b)]
    if op in ("DIV", "FLOOR_DIV"):
        return [_int_div(a, b, op == "FLOOR_DIV")]
    fn = {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply, "MIN": np.minimum, "MAX": np.maximum,
          "POW": np.power, "EQUAL": np.equal, "LESS": np.less, "GREATER": np.greater, "AND": np.logical_and,
          "OR": np.logical_or, "XOR": np.logical_xor}.get(op)
    if fn is None:
        raise InterpretError(f"elementwise {op} on {a.dtype}", node.name)
    return [fn(a, b)]


def _erf(x):
    return torch.erf(torch.from_numpy(np.ascontiguousarray(x))).numpy()


UNARY = {"EXP": np.exp, "LOG": np.log, "SQRT": np.sqrt, "ABS": np.abs, "NEG": np.negative, "NOT": np.logical_not,
         "RECIP": np.reciprocal, "FLOOR": np.floor, "CEIL": np.ceil, "SIN": np.sin, "COS": np.cos, "TAN": np.tan,
         "SINH": np.sinh, "COSH": np.cosh, "ASIN": np.arcsin, "ACOS": np.arccos, "ATAN": np.arctan,
         "ASINH": np.arcsinh, "ACOSH": np.arccosh, "ATANH": np.arctanh, "ERF": _erf, "SIGN": np.sign,
         "ROUND": np.rint, "ISINF": np.isinf, "ISNAN": np.isnan}


def unary(node, ins, ctx):
    op = node.attrs["op"]
    if op not in UNARY:
        raise InterpretError(f"unary {op} is not supported", node.name)
    with np.errstate(all="ignore"):
        return [UNARY[op](f32(ins[0]))]


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x))).astype(x.dtype)


def activation(node, ins, ctx):
    x, a = f32(ins[0]), node.attrs
    t, al, be = a["type"], np.float32(a["alpha"]), np.float32(a["beta"])
    fns = {"RELU": lambda: np.maximum(x, 0), "TANH": lambda: np.tanh(x), "SIGMOID": lambda: _sigmoid(x),
           "LEAKY_RELU": lambda: np.where(x >= 0, x, al * x), "CLIP": lambda: np.clip(x, al, be),
           "SOFTPLUS": lambda: al * np.log1p(np.exp(be * x)), "ELU": lambda: np.where(x >= 0, x, al * np.expm1(x)),
           "SCALED_TANH": lambda: al * np.tanh(be * x), "SOFTSIGN": lambda: x / (1 + np.abs(x))}
    if t not in fns:
        raise InterpretError(f"activation {t} is not supported", node.name)
    with np.errstate(all="ignore"):
        return [fns[t]()]


def cast(node, ins, ctx):
    x, to = ins[0], node.dtypes[0]
    if to == np.bool_:
        return [x != 0]
    if to.kind in "iu" and x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise InterpretError("casting a non-finite float to an integer is undefined", node.name)
        return [np.trunc(x).astype(to)]
    return [x.astype(to)]


def select(node, ins, ctx):
    c, a, b = ins
    _same_rank(node, c, a, b)
    return [np.where(c, a, b)]


def identity(node, ins, ctx):
    return [ins[0]]


def matmul(node, ins, ctx):
    a, b = (ctx.f32(node, i, x) for i, x in enumerate(ins))
    op0, op1 = node.attrs["op0"], node.attrs["op1"]
    ta, tb = torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b))
    if ta.dtype != tb.dtype:
        raise InterpretError(f"operand dtypes {a.dtype} and {b.dtype} differ", node.name)
    ta = ta.unsqueeze(-2) if op0 == "VECTOR" else (ta.transpose(-1, -2) if op0 == "TRANSPOSE" else ta)
    tb = tb.unsqueeze(-1) if op1 == "VECTOR" else (tb.transpose(-1, -2) if op1 == "TRANSPOSE" else tb)
    lead_a, lead_b = ta.shape[:-2], tb.shape[:-2]
    if op0 != "VECTOR" and op1 != "VECTOR" and len(lead_a) != len(lead_b):
        raise InterpretError(f"ranks {a.ndim} and {b.ndim} differ", node.name)
    if ta.shape[-1] != tb.shape[-2]:
        raise InterpretError(f"inner sizes differ: {tuple(a.shape)} {op0} · {tuple(b.shape)} {op1}", node.name)
    out = torch.matmul(ta, tb)
    if op1 == "VECTOR":
        out = out.squeeze(-1)
    if op0 == "VECTOR":
        out = out.squeeze(-1 if op1 == "VECTOR" else -2)
    return [out.numpy()]


def softmax(node, ins, ctx):
    axes = node.attrs["axes"]
    if len(axes) != 1:
        raise InterpretError(f"softmax over axes {axes}: exactly one axis expected", node.name)
    x = f32(ins[0])
    with np.errstate(all="ignore"):
        e = np.exp(x - np.max(x, axis=axes[0], keepdims=True))
        return [e / np.sum(e, axis=axes[0], keepdims=True)]


def reduce(node, ins, ctx):
    a = node.attrs
    x = f32(ins[0])
    fn = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}[a["op"]]
    axes = tuple(a["axes"])
    if any(ax >= x.ndim for ax in axes):
        raise InterpretError(f"reduce axes {axes} exceed rank {x.ndim}", node.name)
    return [np.asarray(fn(x, axis=axes, keepdims=a["keep_dims"]))]


def topk(node, ins, ctx):
    a = node.attrs
    axis, k, x = a["axes"][0], a["k"], ins[0]
    key = -x.astype(np.float64) if a["op"] == "MAX" else x.astype(np.float64)
    order = np.argsort(key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, idx, axis=axis), idx]


def convolution(node, ins, ctx):
    a = node.attrs
    x = ctx.f32(node, 0, ins[0])
    w = ctx.f32(node, 1, ins[1]) if len(ins) > 1 and ins[1] is not None else f32(a["kernel"])
    b = ins[2] if len(ins) > 2 and ins[2] is not None else (a["bias"] if a.get("bias") is not None and
                                                            np.size(a["bias"]) else None)
    nsp = len(a["kernel_size"])
    deconv = node.kind == "DECONVOLUTION"
    c, groups, o = x.shape[1], a["groups"], a["num_output_maps"]
    kshape = ((c, o // groups) if deconv else (o, c // groups)) + tuple(a["kernel_size"])
    if w.size != math.prod(kshape):
        raise InterpretError(f"kernel has {w.size} values; {kshape} expected", node.name)
    w = w.reshape(kshape)
    if a["padding_mode"] not in ("EXPLICIT_ROUND_DOWN",):
        raise InterpretError(f"padding mode {a['padding_mode']} is not supported", node.name)
    tx, tw = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w))
    tb = torch.from_numpy(f32(np.asarray(b)).reshape(-1)) if b is not None else None
    pre, post = a["pre"], a["post"]
    conv = {1: (F.conv1d, F.conv_transpose1d), 2: (F.conv2d, F.conv_transpose2d),
            3: (F.conv3d, F.conv_transpose3d)}[nsp]
    if deconv:
        y = conv[1](tx, tw, tb, stride=a["stride"], dilation=a["dilation"], groups=groups)
        crop = tuple(slice(p, y.shape[2 + i] - q) for i, (p, q) in enumerate(zip(pre, post)))
        y = y[(slice(None), slice(None)) + crop]
    else:
        pad = [v for p, q in zip(reversed(pre), reversed(post)) for v in (p, q)]
        if any(pad):
            tx = F.pad(tx, pad)
        y = conv[0](tx, tw, tb, stride=a["stride"], dilation=a["dilation"], groups=groups)
    return [y.numpy()]


EVAL = {"ELEMENTWISE": elementwise, "UNARY": unary, "ACTIVATION": activation, "CAST": cast, "SELECT": select,
        "IDENTITY": identity, "MATRIX_MULTIPLY": matmul, "SOFTMAX": softmax, "REDUCE": reduce, "TOPK": topk,
        "CONVOLUTION": convolution, "DECONVOLUTION": convolution}
