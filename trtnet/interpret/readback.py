"""Read an ``INetworkDefinition`` back through the TensorRT Python API into plain records.

Each layer becomes a :class:`Node`: its name, ``LayerType`` name, input and output tensor names, the declared
output dtypes and static shapes, and the attributes of its ``I*Layer`` subclass as plain Python values (enum
members become their names).  The subclass is exposed by setting ``layer.__class__`` (the bindings return
``ILayer``).  Nothing here knows how the network was made: only what TensorRT holds is read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InterpretError

DTYPES = {"FLOAT": np.dtype(np.float32), "HALF": np.dtype(np.float16), "INT32": np.dtype(np.int32),
          "INT64": np.dtype(np.int64), "BOOL": np.dtype(np.bool_), "INT8": np.dtype(np.int8),
          "UINT8": np.dtype(np.uint8)}

SUBCLASS = {"ACTIVATION": "IActivationLayer", "CAST": "ICastLayer", "CONCATENATION": "IConcatenationLayer",
            "CONDITION": "IConditionLayer", "CONDITIONAL_INPUT": "IIfConditionalInputLayer",
            "CONDITIONAL_OUTPUT": "IIfConditionalOutputLayer", "CONSTANT": "IConstantLayer",
            "CONVOLUTION": "IConvolutionLayer", "DECONVOLUTION": "IDeconvolutionLayer",
            "ELEMENTWISE": "IElementWiseLayer", "FILL": "IFillLayer", "GATHER": "IGatherLayer",
            "IDENTITY": "IIdentityLayer", "ITERATOR": "IIteratorLayer", "LOOP_OUTPUT": "ILoopOutputLayer",
            "MATRIX_MULTIPLY": "IMatrixMultiplyLayer", "RECURRENCE": "IRecurrenceLayer", "REDUCE": "IReduceLayer",
            "REVERSE_SEQUENCE": "IReverseSequenceLayer", "SELECT": "ISelectLayer", "SHAPE": "IShapeLayer",
            "SHUFFLE": "IShuffleLayer", "SLICE": "ISliceLayer", "SOFTMAX": "ISoftMaxLayer", "TOPK": "ITopKLayer",
            "TRIP_LIMIT": "ITripLimitLayer", "UNARY": "IUnaryLayer"}

LOOP_BOUNDARY = ("RECURRENCE", "ITERATOR", "LOOP_OUTPUT", "TRIP_LIMIT")
COND_BOUNDARY = ("CONDITION", "CONDITIONAL_INPUT", "CONDITIONAL_OUTPUT")


@dataclass
class Node:
    index: int
    name: str
    kind: str                                   # the LayerType name, e.g. "SHUFFLE"
    inputs: list[str | None]
    outputs: list[str]
    dtypes: list[np.dtype]                      # declared output dtypes
    shapes: list[tuple[int, ...]]               # declared output shapes (-1: dynamic)
    in_ranks: list[int | None]
    attrs: dict[str, Any] = field(default_factory=dict)
    region: Any = None                          # the ILoop / IIfConditional of a boundary layer


def dtype_of(trt_dtype: Any, where: str) -> np.dtype:
    name = getattr(trt_dtype, "name", str(trt_dtype))
    if name not in DTYPES:
        raise InterpretError(f"data type {name} is not supported by the interpreter", where)
    return DTYPES[name]


def _enum(v: Any) -> Any:
    return v.name if hasattr(v, "name") and "tensorrt" in type(v).__module__ else v


def _attrs(layer: Any, kind: str, n_in: list[bool], in_ranks: list[int | None], out_rank: int) -> dict:
    """The attributes each kind's evaluator reads (attributes overridden by an input are not read: TensorRT
    reports them as unavailable)."""
    g = lambda k: _enum(getattr(layer, k))  # noqa: E731
    if kind == "ACTIVATION":
        return {"type": g("type"), "alpha": layer.alpha, "beta": layer.beta}  # the subclass's ``type``
    if kind == "CAST":
        return {}
    if kind == "CONCATENATION":
        return {"axis": layer.axis}
    if kind == "CONSTANT":
        shape = tuple(layer.shape)
        w = np.asarray(layer.weights)
        return {"value": w.reshape(shape)}
    if kind in ("CONVOLUTION", "DECONVOLUTION"):
        a = {"stride": tuple(layer.stride_nd), "dilation": tuple(layer.dilation_nd), "groups": layer.num_groups,
             "pre": tuple(layer.pre_padding), "post": tuple(layer.post_padding), "padding_mode": g("padding_mode"),
             "kernel_size": tuple(layer.kernel_size_nd), "num_output_maps": layer.num_output_maps}
        if not (len(n_in) > 1 and n_in[1]):
            a["kernel"] = np.asarray(layer.kernel)
        if not (len(n_in) > 2 and n_in[2]):
            a["bias"] = np.asarray(layer.bias)
        return a
    if kind == "ELEMENTWISE":
        return {"op": g("op")}
    if kind == "FILL":
        a = {"op": g("operation")}
        if not n_in or not n_in[0]:
            a["shape"] = tuple(layer.shape)
        if not (len(n_in) > 1 and n_in[1]):
            a["alpha"], a["beta"] = layer.alpha, layer.beta
        return a
    if kind == "GATHER":
        return {"axis": layer.axis, "mode": g("mode"), "num_elementwise_dims": layer.num_elementwise_dims}
    if kind in ("ITERATOR",):
        return {"axis": layer.axis, "reverse": bool(layer.reverse)}
    if kind == "LOOP_OUTPUT":
        return {"kind": g("kind"), "axis": layer.axis}
    if kind == "TRIP_LIMIT":
        return {"kind": g("kind")}
    if kind == "MATRIX_MULTIPLY":
        return {"op0": g("op0"), "op1": g("op1")}
    if kind == "REDUCE":
        return {"op": g("op"), "axes": _mask(layer.axes), "keep_dims": bool(layer.keep_dims)}
    if kind == "REVERSE_SEQUENCE":
        return {"batch_axis": layer.batch_axis, "sequence_axis": layer.sequence_axis}
    if kind == "SHUFFLE":
        r0 = in_ranks[0] or 0
        reshape = layer.reshape_dims if not (len(n_in) > 1 and n_in[1]) else None
        return {"first": tuple(layer.first_transpose)[:r0], "reshape": None if reshape is None else tuple(reshape),
                "second": tuple(layer.second_transpose)[:out_rank], "zero_is_placeholder": bool(layer.zero_is_placeholder)}
    if kind == "SLICE":
        a = {"mode": g("mode")}
        for i, key in ((1, "start"), (2, "shape"), (3, "stride")):
            if not (len(n_in) > i and n_in[i]):
                v = getattr(layer, key)
                a[key] = None if v is None else tuple(v)
        if not (len(n_in) > 5 and n_in[5]):
            axes = getattr(layer, "axes", None)
            a["axes"] = None if axes is None else tuple(axes)
        return a
    if kind == "SOFTMAX":
        return {"axes": _mask(layer.axes)}
    if kind == "TOPK":
        return {"op": g("op"), "k": layer.k, "axes": _mask(layer.axes)}
    if kind == "UNARY":
        return {"op": g("op")}
    return {}


def _mask(bits: int) -> tuple[int, ...]:
    return tuple(i for i in range(32) if bits >> i & 1)


def read_network(network: Any) -> tuple[list[Node], list[tuple[str, np.dtype, tuple]], list[str]]:
    """(nodes in network order, network inputs as (name, dtype, shape), network output names)."""
    trt = sys.modules[type(network).__module__]      # the bindings module that made the network
    inputs = []
    for i in range(network.num_inputs):
        t = network.get_input(i)
        inputs.append((t.name, dtype_of(t.dtype, t.name), tuple(t.shape)))
    outputs = [network.get_output(i).name for i in range(network.num_outputs)]
    nodes = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        kind = layer.type.name
        if kind not in SUBCLASS:
            raise InterpretError(f"layer type {kind} is not supported by the interpreter", layer.name)
        layer.__class__ = getattr(trt, SUBCLASS[kind])
        ins = [layer.get_input(j) for j in range(layer.num_inputs)]
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        n_in = [t is not None for t in ins]
        in_ranks = [len(t.shape) if t is not None else None for t in ins]
        out_rank = len(outs[0].shape) if outs else 0
        try:
            attrs = _attrs(layer, kind, n_in, in_ranks, out_rank)
        except (AttributeError, RuntimeError, TypeError, ValueError) as e:
            raise InterpretError(f"cannot read the attributes of this {kind} layer: {e}", layer.name) from None
        region = None
        if kind in LOOP_BOUNDARY:
            region = layer.loop
        elif kind in COND_BOUNDARY:
            region = layer.conditional
        nodes.append(Node(i, layer.name, kind, [t.name if t is not None else None for t in ins],
                          [t.name for t in outs], [dtype_of(t.dtype, layer.name) for t in outs],
                          [tuple(t.shape) for t in outs], in_ranks, attrs, region))
    return nodes, inputs, outputs
