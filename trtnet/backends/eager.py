"""PyTorch twin of every TensorRT lowering, with TensorRT's semantics (evaluated as the graph is defined).

Method names and arguments mirror :mod:`trtnet.backends.trt` one for one, so each op has exactly two
implementations that can be read side by side.  Runs on CPU or GPU torch.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..dtypes import DType, as_dtype
from ..errors import DTypeError, GraphError
from ..iospec import SpecError, TensorSpec
from . import control_eager

LITERAL_ELEMENTS = 64   # constants up to this size are literals (0, 1, a mask value), not weights

TORCH = {DType.float32: torch.float32, DType.float16: torch.float16, DType.bfloat16: torch.bfloat16,
         DType.int8: torch.int8, DType.int32: torch.int32, DType.int64: torch.int64, DType.bool: torch.bool}

ELEMENTWISE = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "min": torch.minimum,
               "max": torch.maximum, "pow": torch.pow, "equal": torch.eq, "less": torch.lt, "greater": torch.gt,
               "and": torch.logical_and, "or": torch.logical_or, "xor": torch.logical_xor}
UNARY = {"exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs, "neg": torch.neg,
         "not": torch.logical_not, "recip": torch.reciprocal, "floor": torch.floor, "sin": torch.sin,
         "cos": torch.cos, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
REDUCE = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}


class EagerBackend:
    """Implements :class:`trtnet.backends.protocol.Backend` with PyTorch, evaluating each op as it is defined."""

    kind = "eager"
    static_dims: dict[str, int] = {}   # every dimension is concrete: the feeds fix it

    def __init__(self, feeds: Mapping[str, Any] | None, device: str | None, seed: int | None, weight_cache: dict | None,
                 cast_floats: bool = False):
        self.feeds = None if feeds is None else dict(feeds)
        self.weight_cache = weight_cache
        self.cast_floats = cast_floats
        self.device = torch.device(device or "cpu")
        self.seed = 0 if seed is None else int(seed)
        self._generator: torch.Generator | None = None
        self.bound_dims: dict[str, int] = {}
        self.graph: Any = None

    @property
    def generator(self) -> torch.Generator:
        """The graph's seeded generator, made when a random fill first draws (a network without one makes none)."""
        if self._generator is None:
            self._generator = torch.Generator(device=self.device)
            self._generator.manual_seed(self.seed)
        return self._generator

    # ---- graph protocol ----------------------------------------------------------------------------------
    def dtype_of(self, handle: torch.Tensor) -> DType:
        return as_dtype(handle.dtype)

    def shape_of(self, tensor: Any) -> tuple:
        return tuple(tensor.handle.shape)

    def input(self, spec: TensorSpec) -> Any:
        if self.feeds is None:       # a declaration run: zeros at each dimension's minimum
            return self._declared(spec)
        if spec.name not in self.feeds:
            raise SpecError(f"eager graph: no feed for input '{spec.name}'; feeds: {sorted(self.feeds)}")
        value = self.feeds[spec.name]
        if spec.is_shape_tensor:
            v = int(value)
            r = self.graph.dims[spec.name]
            if not r.contains(v):
                raise SpecError(f"shape input '{spec.name}' = {v} is outside [{r.min}, {r.max}]")
            self.bound_dims[spec.name] = v
            return self.graph.wrap(torch.tensor(v, dtype=torch.int32, device=self.device), spec.name)
        t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
        got = str(t.dtype).replace("torch.", "")
        if got != spec.dtype and self.cast_floats and t.is_floating_point() and as_dtype(spec.dtype).is_float:
            t, got = t.to(TORCH[as_dtype(spec.dtype)]), spec.dtype
        if got != spec.dtype:
            raise DTypeError(f"input '{spec.name}': expected {spec.dtype}, got {got} (no silent casts)")
        self._bind(spec, tuple(t.shape))
        return self.graph.wrap(t.to(self.device), spec.name)

    def _declared(self, spec: TensorSpec) -> Any:
        dims = self.graph.dims
        if spec.is_shape_tensor:
            v = dims[spec.name].min
            self.bound_dims[spec.name] = v
            return self.graph.wrap(torch.tensor(v, dtype=torch.int32, device=self.device), spec.name)
        shape = tuple(dims[d].min if isinstance(d, str) else d for d in spec.shape)
        self._bind(spec, shape)
        return self.graph.wrap(torch.zeros(shape, dtype=TORCH[as_dtype(spec.dtype)], device=self.device), spec.name)

    def _bind(self, spec: TensorSpec, shape: tuple[int, ...]) -> None:
        if len(shape) != len(spec.shape):
            raise SpecError(f"input '{spec.name}': expected rank {len(spec.shape)} {list(spec.shape)}, got {list(shape)}")
        for axis, (want, got) in enumerate(zip(spec.shape, shape)):
            if isinstance(want, int):
                if want != got:
                    raise SpecError(f"input '{spec.name}' axis {axis}: expected {want}, got {got}")
                continue
            r = self.graph.dims[want]
            if not r.contains(got):
                raise SpecError(f"input '{spec.name}' axis {axis}: '{want}' = {got} is outside [{r.min}, {r.max}]")
            if self.bound_dims.setdefault(want, got) != got:
                raise SpecError(f"input '{spec.name}' axis {axis}: '{want}' = {got}, but {self.bound_dims[want]} "
                                "in an earlier input")

    def constant(self, name: str, arr: np.ndarray) -> Any:
        """A device tensor of ``arr``; with a weight cache, a small literal (≤ LITERAL_ELEMENTS) is copied to
        the device once per value, not once per run or loop step."""
        if self.weight_cache is None or arr.size > LITERAL_ELEMENTS:
            return self.graph.wrap(torch.from_numpy(arr).to(self.device), name)
        key = ("literal", str(self.device), arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self.weight_cache:
            self.weight_cache[key] = torch.from_numpy(arr).to(self.device)
        return self.graph.wrap(self.weight_cache[key], name)

    def mark_output(self, tensor: Any, name: str) -> None:
        return None

    # ---- elementwise family ------------------------------------------------------------------------------
    def op_elementwise(self, name, a, b, *, op):
        if op == "div":
            return torch.div(a, b, rounding_mode=None if a.is_floating_point() else "trunc")
        if op == "floor_div":
            return torch.div(a, b, rounding_mode="floor")
        return ELEMENTWISE[op](a, b)

    def op_unary(self, name, x, *, op):
        return UNARY[op](x)

    def op_cast(self, name, x, *, dtype):
        return x.to(TORCH[dtype])

    def op_select(self, name, cond, a, b):
        return torch.where(cond, a, b)

    # ---- linear algebra and nn ---------------------------------------------------------------------------
    def op_matmul(self, name, a, b, *, transpose_a, transpose_b):
        a = a.transpose(-1, -2) if transpose_a else a
        b = b.transpose(-1, -2) if transpose_b else b
        return torch.matmul(a, b)

    def op_softmax(self, name, x, *, axis):
        return torch.softmax(x, dim=axis)

    def op_reduce(self, name, x, *, op, axes, keepdims):
        return REDUCE[op](x, dim=tuple(axes), keepdim=keepdims)

    def op_conv1d(self, name, x, w, *bias, stride, padding, dilation, groups, transpose, out_channels):
        """PyTorch conv1d / conv_transpose1d; rank-4 x [B, C, T, 1] and w [O, C, K, 1] drop the unit axis
        around it (the same 1-D convolution)."""
        b = bias[0] if bias else None
        four, x = x.dim() == 4, x.squeeze(3) if x.dim() == 4 else x
        w = w.squeeze(3) if w.dim() == 4 else w
        fn = F.conv_transpose1d if transpose else F.conv1d
        y = fn(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        return y.unsqueeze(3) if four else y

    def op_argmax(self, name, x, *, axis):
        """ITopKLayer MAX, k=1: int32 indices, the reduced axis kept with size 1 (first index on ties)."""
        return torch.argmax(x, dim=axis, keepdim=True).to(torch.int32)

    def op_gather(self, name, data, indices, *, axis):
        idx = indices.long()
        picked = torch.index_select(data, axis, idx.reshape(-1))
        shape = data.shape[:axis] + idx.shape + data.shape[axis + 1:]
        return picked.reshape(shape)

    def op_reverse_sequence(self, name, x, lengths, *, batch_axis, seq_axis):
        """IReverseSequenceLayer: item b reverses its first lengths[b] entries along seq_axis."""
        T = x.shape[seq_axis]
        pos = torch.arange(T, device=x.device)
        out = []
        for b in range(x.shape[batch_axis]):
            n = int(lengths[b])
            order = torch.where(pos < n, n - 1 - pos, pos)
            out.append(torch.index_select(x.select(batch_axis, b), seq_axis - (seq_axis > batch_axis), order))
        return torch.stack(out, dim=batch_axis)

    # ---- shapes and data movement ------------------------------------------------------------------------
    def op_reshape(self, name, x, *, shape, perm=None):
        if isinstance(shape, torch.Tensor):
            shape = tuple(int(v) for v in shape.tolist())
        shape = tuple(x.shape[i] if d == 0 else d for i, d in enumerate(shape))  # 0 copies the input dim
        y = x.reshape(shape)
        return y if perm is None else y.permute(*perm)

    def op_transpose(self, name, x, *, perm):
        return x.permute(*perm)

    def op_concat(self, name, *xs, axis):
        return torch.cat(xs, dim=axis)

    def op_slice(self, name, x, *, start, size, stride, mode="strict", fill=None, axes=None):
        """ISliceLayer: out[i] = x[start + i·stride] per axis (or per listed axis; the others whole);
        out-of-range follows ``mode``.  The bounds are checked on the host (start, size and stride are ints
        here), and an in-range slice with a positive stride is a view: no index kernel, no device sync."""
        start, size, stride = (tuple(int(v) for v in p.tolist()) if isinstance(p, torch.Tensor) else p
                               for p in (start, size, stride))
        if axes is not None:
            full = [[0] * x.dim(), list(x.shape), [1] * x.dim()]
            for j, ax in enumerate(axes):
                for vec, part in zip(full, (start, size, stride)):
                    vec[ax] = int(part[j])
            start, size, stride = full
        out, valid = x, None
        for axis, (s, n, st) in enumerate(zip(start, size, stride)):
            dim = x.shape[axis]
            if s == 0 and n == dim and st == 1:
                continue                                    # the whole axis: nothing to select
            last = s + st * (n - 1)
            in_range = n == 0 or (min(s, last) >= 0 and max(s, last) < dim)
            if mode == "strict" and not in_range:
                raise GraphError(f"{name}: slice start={start} size={size} stride={stride} leaves the input "
                                 f"shape {tuple(x.shape)} on axis {axis} (use a padding mode)")
            if in_range and st > 0:
                out = out[(slice(None),) * axis + (slice(s, last + 1, st),)]
                continue
            idx = s + st * torch.arange(n, device=x.device)
            inside = (idx >= 0) & (idx < dim)
            idx = _sample_index(idx, dim, mode)
            out = torch.index_select(out, axis, idx)
            if mode == "fill":
                shape = [1] * x.dim()
                shape[axis] = n
                m = inside.reshape(shape)
                valid = m if valid is None else valid & m
        if valid is not None:
            fv = fill if fill is not None else torch.zeros((), dtype=x.dtype, device=x.device)
            out = torch.where(valid, out, fv.to(x.dtype))
        return out

    def op_shape(self, name, x):
        return torch.tensor(list(x.shape), dtype=torch.int64, device=x.device)

    # ---- fills -------------------------------------------------------------------------------------------
    def op_fill(self, name, *dyn_shape, shape, op, alpha, beta, dtype):
        if dyn_shape:
            shape = tuple(int(v) for v in dyn_shape[0].reshape(-1).tolist())
        a = float(alpha) if not isinstance(alpha, torch.Tensor) else alpha.float()
        b = float(beta) if not isinstance(beta, torch.Tensor) else beta.float()
        if op == "linspace":
            n = int(np.prod(shape)) if shape else 1
            out = a + b * torch.arange(n, device=self.device, dtype=torch.float64).reshape(shape)
        elif op == "random_uniform":
            u = torch.rand(shape, generator=self.generator, device=self.device, dtype=torch.float32)
            out = a + (b - a) * u
        elif op == "random_normal":
            out = a + b * torch.randn(shape, generator=self.generator, device=self.device, dtype=torch.float32)
        else:
            raise GraphError(f"{name}: unknown fill op {op!r}")
        return out.to(TORCH[dtype])


    # ---- control flow (see trtnet.control_flow) ----------------------------------------------------------
    def ctl_loop(self, spec: Any) -> Any:
        return control_eager.run_loop(self, spec)

    def ctl_cond(self, spec: Any) -> Any:
        return control_eager.run_cond(self, spec)


def _sample_index(idx: torch.Tensor, dim: int, mode: str) -> torch.Tensor:
    if mode == "reflect":
        if dim == 1:
            return torch.zeros_like(idx)
        period = 2 * (dim - 1)
        m = torch.remainder(idx, period)
        return torch.where(m >= dim, period - m, m)
    if mode == "wrap":
        return torch.remainder(idx, dim)
    return idx.clamp(0, dim - 1)
