"""TensorRT lowering of every trtnet op (works with ``tensorrt`` 10.x/11.x and ``tensorrt_rtx``).

:meth:`TrtBackend.add` is the single choke point that emits a TensorRT layer: it calls
``INetworkDefinition.add_<kind>`` (or the same method of a loop / conditional), names the layer and its
outputs after the trtnet op (``scope/op_n``, with ``/part`` for multi-layer lowerings), and keeps the numpy
arrays behind weights alive until the build.  Networks are created strongly typed.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .. import flavor as flavor_mod
from ..dtypes import DType, as_dtype, to_trt
from ..errors import GraphError
from ..iospec import TensorSpec
from . import control_trt
from ..trt_logger import CapturingLogger

log = logging.getLogger(__name__)

ELEMENTWISE = {"add": "SUM", "sub": "SUB", "mul": "PROD", "div": "DIV", "min": "MIN", "max": "MAX", "pow": "POW",
               "equal": "EQUAL", "less": "LESS", "greater": "GREATER", "and": "AND", "or": "OR", "xor": "XOR",
               "floor_div": "FLOOR_DIV"}
UNARY = {"exp": "EXP", "log": "LOG", "sqrt": "SQRT", "abs": "ABS", "neg": "NEG", "not": "NOT", "recip": "RECIP",
         "floor": "FLOOR", "sin": "SIN", "cos": "COS"}
ACTIVATION = {"relu": "RELU", "tanh": "TANH", "sigmoid": "SIGMOID"}
REDUCE = {"sum": "SUM", "mean": "AVG", "max": "MAX", "min": "MIN"}
SAMPLE_MODE = {"strict": "STRICT_BOUNDS", "fill": "FILL", "reflect": "REFLECT", "clamp": "CLAMP", "wrap": "WRAP"}


class TrtBackend:
    """Implements :class:`trtnet.backends.protocol.Backend` on a strongly typed ``INetworkDefinition``."""

    kind = "trt"
    weight_cache = None   # weights live in the network; nothing to share between runs

    def __init__(self, flavor: str | None, static_dims: dict[str, int]):
        self.flavor = flavor_mod.resolve(flavor)
        self.trt = self.flavor.module
        self.logger = CapturingLogger(self.trt)
        self.builder = self.trt.Builder(self.logger)
        flag = 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        self.network = self.builder.create_network(flag)
        self.static_dims = dict(static_dims)
        self.keep_alive: list[np.ndarray] = []
        self.graph: Any = None

    # ---- the choke point ---------------------------------------------------------------------------------
    def add(self, name: str, kind: str, *args: Any, owner: Any = None, part: str | None = None,
            **props: Any) -> Any:
        """Emit one layer: ``(owner or network).add_<kind>(*args)``, set ``props``, name layer and outputs."""
        full = f"{name}/{part}" if part else name
        target = self.network if owner is None else owner
        try:
            layer = getattr(target, "add_" + kind)(*args)
        except (TypeError, RuntimeError, ValueError) as e:
            raise GraphError(f"TensorRT rejected {kind} layer '{full}': {e}{self.logger.recent()}") from None
        if layer is None:
            raise GraphError(f"TensorRT could not add {kind} layer '{full}'{self.logger.recent()}")
        layer.name = full
        for key, value in props.items():
            setattr(layer, key, value)
        n = layer.num_outputs
        for i in range(n):
            layer.get_output(i).name = full if n == 1 else f"{full}:{i}"
        return layer

    def out(self, name: str, kind: str, *args: Any, **kw: Any) -> Any:
        return self.add(name, kind, *args, **kw).get_output(0)

    def weights(self, arr: np.ndarray) -> Any:
        arr = np.array(arr, copy=True, order="C")
        self.keep_alive.append(arr)
        return self.trt.Weights(arr)

    def const(self, name: str, arr: Any, part: str | None = None) -> Any:
        arr = np.array(arr, copy=True, order="C")
        w = self.weights(arr)
        out = self.out(name, "constant", arr.shape, w, part=part)
        self.network.set_weights_name(w, out.name)   # the refitter's name for them (trtnet.refit)
        return out

    # ---- graph protocol ----------------------------------------------------------------------------------
    def dtype_of(self, handle: Any) -> DType:
        return as_dtype(handle.dtype)

    def shape_of(self, tensor: Any) -> tuple:
        h = tensor.handle
        shape = tuple(h.shape)
        spec = self.graph.inputs.get(tensor.name) if h.is_network_input else None
        return tuple(d if d >= 0 else (spec.shape[i] if spec is not None else "?") for i, d in enumerate(shape))

    def input(self, spec: TensorSpec) -> Any:
        g = self.graph
        if spec.is_shape_tensor and spec.name in self.static_dims:
            return g.wrap(self.const(spec.name, np.array(self.static_dims[spec.name], np.int32)), spec.name)
        dims = tuple(self.static_dims.get(d, -1) if isinstance(d, str) else d for d in spec.shape)
        h = self.network.add_input(spec.name, to_trt(as_dtype(spec.dtype), self.trt), dims)
        if h is None:
            raise GraphError(f"TensorRT rejected input '{spec.name}' {spec.dtype} {dims}{self.logger.recent()}")
        for axis, d in enumerate(spec.shape):
            if isinstance(d, str) and dims[axis] < 0:
                h.set_dimension_name(axis, d)
        return g.wrap(h, spec.name)

    def constant(self, name: str, arr: np.ndarray) -> Any:
        return self.graph.wrap(self.const(name, arr), name)

    def mark_output(self, tensor: Any, name: str) -> None:
        h = tensor.handle
        if h.is_network_input or h.is_network_output:
            h = self.out(self.graph.layer_name(name + "_identity"), "identity", h)
            tensor.handle = h
        h.name = name
        self.network.mark_output(h)

    # ---- elementwise family ------------------------------------------------------------------------------
    def op_elementwise(self, name, a, b, *, op):
        return self.out(name, "elementwise", a, b, getattr(self.trt.ElementWiseOperation, ELEMENTWISE[op]))

    def op_unary(self, name, x, *, op):
        if op in ACTIVATION:
            return self.out(name, "activation", x, getattr(self.trt.ActivationType, ACTIVATION[op]))
        return self.out(name, "unary", x, getattr(self.trt.UnaryOperation, UNARY[op]))

    def op_cast(self, name, x, *, dtype):
        return self.out(name, "cast", x, to_trt(dtype, self.trt))

    def op_select(self, name, cond, a, b):
        return self.out(name, "select", cond, a, b)

    # ---- linear algebra and nn ---------------------------------------------------------------------------
    def op_matmul(self, name, a, b, *, transpose_a, transpose_b):
        mo = self.trt.MatrixOperation
        return self.out(name, "matrix_multiply", a, mo.TRANSPOSE if transpose_a else mo.NONE,
                         b, mo.TRANSPOSE if transpose_b else mo.NONE)

    def op_softmax(self, name, x, *, axis):
        return self.out(name, "softmax", x, axes=1 << axis)

    def op_reduce(self, name, x, *, op, axes, keepdims):
        mask = sum(1 << a for a in axes)
        return self.out(name, "reduce", x, getattr(self.trt.ReduceOperation, REDUCE[op]), mask, keepdims)

    def op_conv1d(self, name, x, w, *bias, stride, padding, dilation, groups, transpose, out_channels):
        """[B, C, T] → [B, C, T, 1] → (de)convolution with kernel (K, 1) → [B, O, T']; rank-4 x ([B, C, T, 1])
        and weights ([O, C, K, 1]) are used as they are, and a rank-4 x gives the rank-4 output."""
        x4 = x if len(x.shape) == 4 else self._reshape(name, x, (0, 0, 0, 1), "to4d")
        w4 = w if len(w.shape) == 4 else self._reshape(name, w, (0, 0, 0, 1), "kernel4d")
        k = int(w.shape[2])
        empty = self.trt.Weights(to_trt(as_dtype(x.dtype), self.trt))
        kind = "deconvolution_nd" if transpose else "convolution_nd"
        layer = self.add(name, kind, x4, out_channels, (k, 1), empty, empty, part="conv",
                         stride_nd=(stride, 1), padding_nd=(padding, 0), dilation_nd=(dilation, 1),
                         num_groups=groups)
        layer.set_input(1, w4)
        if bias:
            layer.set_input(2, bias[0])
        if len(x.shape) == 4:
            return layer.get_output(0)
        return self._reshape(name, layer.get_output(0), (0, 0, 0), "to3d")

    def op_argmax(self, name, x, *, axis):
        layer = self.add(name, "topk", x, self.trt.TopKOperation.MAX, 1, 1 << axis)
        return layer.get_output(1)

    def op_gather(self, name, data, indices, *, axis):
        return self.out(name, "gather", data, indices, axis)

    def op_reverse_sequence(self, name, x, lengths, *, batch_axis, seq_axis):
        return self.out(name, "reverse_sequence", x, lengths, batch_axis=batch_axis, sequence_axis=seq_axis)

    # ---- shapes and data movement ------------------------------------------------------------------------
    def _reshape(self, name, x, shape, part=None, perm=None):
        props = {} if perm is None else {"second_transpose": tuple(perm)}
        if isinstance(shape, (tuple, list)):
            return self.out(name, "shuffle", x, reshape_dims=tuple(shape), part=part, **props)
        layer = self.add(name, "shuffle", x, part=part, **props)
        layer.set_input(1, shape)
        return layer.get_output(0)

    def op_reshape(self, name, x, *, shape, perm=None):
        return self._reshape(name, x, shape, perm=perm)

    def op_transpose(self, name, x, *, perm):
        return self.out(name, "shuffle", x, first_transpose=tuple(perm))

    def op_concat(self, name, *xs, axis):
        return self.out(name, "concatenation", list(xs), axis=axis)

    def op_slice(self, name, x, *, start, size, stride, mode="strict", fill=None, axes=None):
        """ISliceLayer; each of start/size/stride is a static tuple or a 1-D int64 handle, with one entry per
        axis of x, or per listed axis when ``axes`` is given (set as the layer's static ``axes``)."""
        n = len(x.shape) if axes is None else len(axes)
        static = [v if isinstance(v, tuple) else (0,) * n for v in (start, size, stride)]
        props = {} if axes is None else {"axes": tuple(axes)}
        layer = self.add(name, "slice", x, *static, mode=getattr(self.trt.SampleMode, SAMPLE_MODE[mode]), **props)
        for i, v in enumerate((start, size, stride), 1):
            if not isinstance(v, tuple):
                layer.set_input(i, v)
        if fill is not None:
            layer.set_input(4, fill)
        return layer.get_output(0)

    def op_shape(self, name, x):
        return self.out(name, "shape", x)

    # ---- fills -------------------------------------------------------------------------------------------
    def op_fill(self, name, *dyn_shape, shape, op, alpha, beta, dtype):
        """IFillLayer: LINSPACE (alpha + i·beta), RANDOM_UNIFORM [alpha, beta), RANDOM_NORMAL (mean, std)."""
        fop = getattr(self.trt.FillOperation, op.upper())
        layer = self.add(name, "fill", tuple(shape) if shape is not None else (0,), fop, to_trt(dtype, self.trt))
        if dyn_shape:
            layer.set_input(0, dyn_shape[0])
        if isinstance(alpha, (int, float)):
            layer.alpha, layer.beta = alpha, beta
        else:
            layer.set_input(1, alpha)
            layer.set_input(2, beta)
        return layer.get_output(0)

    # ---- control flow (see trtnet.control_flow) ----------------------------------------------------------
    def ctl_loop(self, spec: Any) -> Any:
        return control_trt.run_loop(self, spec)

    def ctl_cond(self, spec: Any) -> Any:
        return control_trt.run_cond(self, spec)

    def new_loop(self, name: str) -> Any:
        loop = self.network.add_loop()
        loop.name = name
        return loop

    def new_conditional(self, name: str, cond: Any) -> Any:
        c = self.network.add_if_conditional()
        c.name = name
        c.set_condition(cond)
        return c
