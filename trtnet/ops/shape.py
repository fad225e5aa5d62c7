"""Shape and data-movement ops.  Static sizes stay Python ints; run-time sizes are 0-D/1-D int64 Tensors.

TRT layers: IShapeLayer, IShuffleLayer (reshape/transpose), IConcatenationLayer, ISliceLayer (slices, pads,
broadcasts), IGatherLayer.

Shape plumbing is kept to what the sizes need: slices, splits, pads and broadcasts name only the axes they
change (ISliceLayer ``axes``: the other axes pass whole, so a split along a static axis needs no shape tensor),
squeeze/unsqueeze use reshape placeholders (0 copies an aligned axis, −1 infers one other), and each tensor's
IShapeLayer, each (tensor, axis) size and each size vector is built once per graph (:func:`_memo`), however
many ops ask for it.  A run-time axis size is an :class:`AxisSize`: size vectors gather their entries from the
shape directly (one IGatherLayer per run of axes), and the 0-D size's own gather is added only if a layer reads it.
"""

from __future__ import annotations

import weakref
from typing import Any, Sequence

import numpy as np

from ..dtypes import DType
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import check_same_dtype, graph_of, norm_axis

Size = Any  # int | 0-D int Tensor


def _memo(g, key: tuple, refs: Sequence[Tensor], make) -> Tensor:
    """``make()`` once per graph for ``key`` (built from the ids of ``refs``): the entry holds weak references
    to ``refs``, is used only while they are the same live tensors and is dropped when one dies (eager loop
    bodies make new tensors every step).  On TensorRT graphs a layer sits where its dataflow puts it, so a size
    built from loop invariants is built once, outside the loop, even when a loop body asks for it."""
    memo = g.shape_memo
    hit = memo.get(key)
    if hit is not None and all(r() is t for r, t in zip(hit[0], refs)):
        return hit[1]
    value = make()
    memo[key] = (tuple(weakref.ref(t) for t in refs), value)
    for t in refs:
        weakref.finalize(t, memo.pop, key, None)
    return value


def shape(x: Tensor, *, name=None) -> Tensor:
    """The shape of x as a 1-D int64 tensor, one per tensor and network.  TRT: IShapeLayer."""
    return _memo(x.graph, ("shape", id(x)), [x], lambda: x.graph.apply("shape", [x], name=name or "shape"))


class AxisSize(Tensor):
    """The run-time size of ``source``'s axis ``axis``, a 0-D int64 tensor whose layer (IShapeLayer +
    IGatherLayer, named in the scope it was asked for in) is added when a layer first reads it; until then it is
    only a reference that :func:`size_vector` gathers with the other sizes it needs."""

    __slots__ = ("source", "axis", "_scope", "_layer_name", "_made")

    def __init__(self, source: Tensor, axis: int, name: str | None):
        g = source.graph
        self.graph, self.dtype, self.name = g, DType.int64, f"{source.name}.size[{axis}]"
        self.source, self.axis, self._scope, self._layer_name = source, axis, g.scope_path, name
        self._made: Any = None               # the layer's output, once a layer reads this size

    @property
    def shape(self) -> tuple:
        return ()

    @property
    def handle(self):
        if self._made is None:
            g = self.graph
            with g.at_scope(self._scope):
                idx = g.constant(np.array(self.axis, np.int64))
                self._made = gather(shape(self.source), idx, axis=0, name=self._layer_name or "dim_size").handle
        return self._made


def dim_size(x: Tensor, axis: int, *, name=None) -> Tensor:
    """Size of one axis as a 0-D int64 tensor: a constant when the size is static, else one :class:`AxisSize`
    per tensor and axis."""
    axis = norm_axis(axis, x.ndim, "dim_size")
    d = x.shape[axis]
    if isinstance(d, int):
        return x.graph.constant(np.array(d, np.int64), dtype=DType.int64)
    return _memo(x.graph, ("dim", id(x), axis), [x], lambda: AxisSize(x, axis, name))


def _gathered(x: Tensor, axes: Sequence[int]) -> Tensor:
    """[sizes of x's ``axes``] as a 1-D int64 tensor, once per graph.  TRT: IGatherLayer on x's IShapeLayer."""
    def make() -> Tensor:
        idx = x.graph.constant(np.array(axes, np.int64), name="dim_axes")
        return gather(shape(x), idx, axis=0, name="dim_sizes")
    return _memo(x.graph, ("sizes", id(x), tuple(axes)), [x], make)


def size_vector(g, items: Sequence[Size]) -> tuple[int, ...] | Tensor:
    """A static tuple when every item is an int, else a 1-D int64 tensor, built once per network for the same
    items: consecutive sizes of one tensor's axes (:class:`AxisSize`) are one gather from its shape, another
    0-D tensor a reshape (each once per network), consecutive ints one constant; more than one part a
    concatenation."""
    if all(isinstance(v, (int, np.integer)) for v in items):
        return tuple(int(v) for v in items)
    tensors = [v for v in items if isinstance(v, Tensor)]

    def make() -> Tensor:
        from .unary import cast
        runs: list[tuple[str, Any, list]] = []    # (kind, key, values): axes of one tensor, a tensor, or ints
        for v in items:
            if isinstance(v, AxisSize):
                kind, key, value = "axes", v.source, v.axis
            elif isinstance(v, Tensor):
                kind, key, value = "tensor", v, v
            else:
                kind, key, value = "ints", None, int(v)
            if kind != "tensor" and runs and runs[-1][0] == kind and runs[-1][1] is key:
                runs[-1][2].append(value)
            else:
                runs.append((kind, key, [value]))
        parts = []
        for kind, key, values in runs:
            if kind == "axes":
                parts.append(_gathered(key, values))
            elif kind == "ints":
                parts.append(g.constant(np.array(values, np.int64)))
            elif len(items) > 1:
                parts.append(size_vector(g, values))      # each run-time entry once per network
            else:
                v = values[0] if values[0].dtype is DType.int64 else cast(values[0], DType.int64)
                parts.append(reshape(v, (1,)) if v.ndim == 0 else v)
        return parts[0] if len(parts) == 1 else concat(parts, axis=0, name="size_vector")
    key = ("vec",) + tuple(("t", id(v)) if isinstance(v, Tensor) else int(v) for v in items)
    return _memo(g, key, tensors, make)


def dims(x: Tensor) -> list[Size]:
    """Each axis size: an int when static, else a 0-D int64 tensor."""
    return [d if isinstance(d, int) else dim_size(x, i) for i, d in enumerate(x.shape)]


def reshape(x: Tensor, new_shape: Sequence[Size] | Tensor, *, perm: Sequence[int] | None = None,
            name=None) -> Tensor:
    """x with a new shape: ints (−1 infers one size, 0 copies the input size at that index) and/or 0-D
    tensors, or one 1-D int tensor; with ``perm``, then the axes reordered in the same layer (out axis i =
    reshaped axis perm[i]).  TRT: IShuffleLayer reshape (+ second_transpose)."""
    spec = new_shape if isinstance(new_shape, Tensor) else size_vector(x.graph, list(new_shape))
    if perm is not None:
        perm = tuple(norm_axis(p, len(perm), "reshape") for p in perm)
        if sorted(perm) != list(range(len(perm))):
            raise ShapeError(f"reshape: {perm} is not a permutation ({x.name})")
    return x.graph.apply("reshape", [x], shape=spec, perm=perm, name=name or "reshape")


def _shape_like(x: Tensor, picks: Sequence[int | None]) -> Sequence[Size]:
    """Output sizes taking input axis ``p`` where p is an int, and 1 where None: static sizes as ints, a
    run-time size at its own index as the placeholder 0 and one other run-time size as −1, so squeeze and
    unsqueeze need no shape tensors unless two run-time axes move."""
    out: list[Size] = []
    for i, p in enumerate(picks):
        out.append(1 if p is None else x.shape[p] if isinstance(x.shape[p], int) else 0 if p == i else -1)
    if out.count(-1) <= 1:
        return out
    sizes = dims(x)
    return [1 if p is None else sizes[p] for p in picks]


def unsqueeze(x: Tensor, axes: Sequence[int] | int, *, name=None) -> Tensor:
    """Insert size-1 axes at ``axes`` (positions in the output)."""
    axes = [axes] if isinstance(axes, int) else list(axes)
    rank = x.ndim + len(axes)
    axes = sorted(norm_axis(a, rank, "unsqueeze") for a in axes)
    src = iter(range(x.ndim))
    picks = [None if i in axes else next(src) for i in range(rank)]
    return reshape(x, _shape_like(x, picks), name=name or "unsqueeze")


def expand_rank(t: Tensor, rank: int) -> Tensor:
    """Prepend size-1 dims until ``t`` has ``rank`` dims."""
    k = rank - t.ndim
    return unsqueeze(t, list(range(k))) if k > 0 else t


def squeeze(x: Tensor, axes: Sequence[int] | int, *, perm: Sequence[int] | None = None, name=None) -> Tensor:
    """Remove size-1 axes ``axes``; with ``perm``, then reorder the remaining axes in the same layer
    (:func:`reshape`)."""
    axes = [axes] if isinstance(axes, int) else list(axes)
    axes = {norm_axis(a, x.ndim, "squeeze") for a in axes}
    for a in axes:
        if x.shape[a] != 1:
            raise ShapeError(f"squeeze: axis {a} of {x.name} has size {x.shape[a]}, not 1")
    picks = [i for i in range(x.ndim) if i not in axes]
    return reshape(x, _shape_like(x, picks), perm=perm, name=name or "squeeze")


def permute(x: Tensor, perm: Sequence[int], *, name=None) -> Tensor:
    """Axes reordered: out axis i = in axis perm[i].  TRT: IShuffleLayer first_transpose."""
    perm = [norm_axis(p, x.ndim, "permute") for p in perm]
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"permute: {perm} is not a permutation of {x.ndim} axes ({x.name})")
    return x.graph.apply("transpose", [x], perm=tuple(perm), name=name or "permute")


def transpose(x: Tensor, a: int = -2, b: int = -1, *, name=None) -> Tensor:
    """Swap two axes."""
    perm = list(range(x.ndim))
    a, b = norm_axis(a, x.ndim, "transpose"), norm_axis(b, x.ndim, "transpose")
    perm[a], perm[b] = perm[b], perm[a]
    return permute(x, perm, name=name or "transpose")


def concat(xs: Sequence[Tensor], axis: int = 0, *, name=None) -> Tensor:
    """Join along ``axis``.  TRT: IConcatenationLayer."""
    xs = list(xs)
    check_same_dtype("concat", *xs)
    ranks = {t.ndim for t in xs}
    if len(ranks) != 1:
        raise ShapeError(f"concat: operands have ranks {[t.ndim for t in xs]} ({[t.name for t in xs]})")
    axis = norm_axis(axis, xs[0].ndim, "concat")
    return xs[0].graph.apply("concat", xs, axis=axis, name=name or "concat")


def slice(x: Tensor, start: Sequence[Size], size: Sequence[Size], stride: Sequence[Size] | None = None,
          *, axes: Sequence[int] | None = None, mode: str = "strict", fill: Tensor | None = None,
          name=None) -> Tensor:  # noqa: A001
    """out[i] = x[start + i·stride] on every axis, or only on ``axes`` (start/size/stride then have one entry
    per listed axis; the other axes pass whole); ``mode`` strict|fill|reflect|clamp|wrap for positions outside
    x (fill uses ``fill``, default 0).  TRT: ISliceLayer (``axes`` set when given)."""
    g = x.graph
    if axes is not None:
        axes = tuple(norm_axis(a, x.ndim, "slice") for a in axes)
        if len(set(axes)) != len(axes):
            raise ShapeError(f"slice: axes {axes} repeat an axis ({x.name})")
    n = x.ndim if axes is None else len(axes)
    stride = [1] * n if stride is None else stride
    if not len(start) == len(size) == len(stride) == n:
        raise ShapeError(f"slice: start/size/stride need {n} entries for {x.name}")
    vecs = [size_vector(g, list(v)) for v in (start, size, stride)]
    return g.apply("slice", [x], start=vecs[0], size=vecs[1], stride=vecs[2], mode=mode, fill=fill, axes=axes,
                   name=name or "slice")


def slice_axis(x: Tensor, axis: int, start: Size, stop: Size | None = None, step: int = 1, *, name=None) -> Tensor:
    """x[..., start:stop:step, ...] on one axis; start/stop may be 0-D tensors (run-time slices)."""
    axis = norm_axis(axis, x.ndim, "slice_axis")
    full = x.shape[axis]
    if stop is None:
        stop = full if isinstance(full, int) else dim_size(x, axis)
    if isinstance(start, int) and isinstance(stop, int):
        if isinstance(full, int):
            start, stop = _clip(start, full), _clip(stop, full)
        length: Size = max(0, -(-(stop - start) // step))
    else:
        length = (stop - start + (step - 1)) / step if step != 1 else stop - start
    return slice(x, [start], [length], [step], axes=[axis], name=name or "slice")


def _clip(i: int, n: int) -> int:
    return max(0, min(n, i + n if i < 0 else i))


def split(x: Tensor, sizes: Sequence[int] | int, axis: int = -1, *, name=None) -> list[Tensor]:
    """Pieces along ``axis``: ``sizes`` is a list of static sizes or a count of equal pieces."""
    axis = norm_axis(axis, x.ndim, "split")
    if isinstance(sizes, int):
        total = x.static_dim(axis)
        if total % sizes:
            raise ShapeError(f"split: {x.name} axis {axis} has {total}, not divisible into {sizes}")
        sizes = [total // sizes] * sizes
    out, at = [], 0
    for s in sizes:
        out.append(slice_axis(x, axis, at, at + s, name=name or "split"))
        at += s
    return out


def pad(x: Tensor, pads: Sequence[tuple[int, int]], mode: str = "constant", value: float = 0.0,
        *, name=None) -> Tensor:
    """Pad the last ``len(pads)`` axes by (before, after); mode constant|reflect (PyTorch's reflect: the
    edge is not repeated).  TRT: ISliceLayer with a negative start and FILL/REFLECT sampling."""
    if mode not in ("constant", "reflect"):
        raise ValueError(f"pad: mode {mode!r} is not constant or reflect")
    lead = x.ndim - len(pads)
    axes = [lead + i for i, (b, a) in enumerate(pads) if b or a]
    if not axes:
        return x
    start = [-pads[ax - lead][0] for ax in axes]
    size = [(x.shape[ax] if isinstance(x.shape[ax], int) else dim_size(x, ax)) + sum(pads[ax - lead])
            for ax in axes]
    fill = None
    if mode == "constant" and value != 0:
        fill = x.graph.constant(np.array(value), dtype=x.dtype)
    return slice(x, start, size, None, axes=axes, mode="fill" if mode == "constant" else "reflect", fill=fill,
                 name=name or "pad")


def broadcast_to(x: Tensor, sizes: Sequence[Size], *, name=None) -> Tensor:
    """Repeat size-1 axes of x (same rank) up to ``sizes``; an axis already of that size is left alone, a static
    one of another size is an error, a run-time one is sliced to the size (TensorRT checks its bounds).
    TRT: ISliceLayer with stride 0 on the repeated axes (1 on the checked ones), naming only those axes."""
    if len(sizes) != x.ndim:
        raise ShapeError(f"broadcast_to: {x.name} has rank {x.ndim}, target has {len(sizes)}")
    axes, strides = [], []
    for i, (d, s) in enumerate(zip(x.shape, sizes)):
        if isinstance(s, int) and (d == s or s == 1 and d == 1):
            continue                                    # already that size
        if d == 1:
            axes.append(i), strides.append(0)           # repeated
        elif isinstance(d, int) and isinstance(s, int):
            raise ShapeError(f"broadcast_to: {x.name} axis {i} has size {d}, not 1: cannot become {s}")
        elif s is not d:
            axes.append(i), strides.append(1)           # a run-time size: TensorRT checks the bounds
    if not axes:
        return x
    return slice(x, [0] * len(axes), [sizes[i] for i in axes], strides, axes=axes, name=name or "broadcast")


def gather(data: Tensor, indices: Tensor, axis: int = 0, *, name=None) -> Tensor:
    """out = data.take(indices, axis): shape data[:axis] + indices + data[axis+1:].  TRT: IGatherLayer."""
    if indices.dtype not in (DType.int32, DType.int64):
        raise TypeError(f"gather: indices {indices.name} must be int32/int64, got {indices.dtype}")
    axis = norm_axis(axis, data.ndim, "gather")
    return graph_of(data).apply("gather", [data, indices], axis=axis, name=name or "gather")

