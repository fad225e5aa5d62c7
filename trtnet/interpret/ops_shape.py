"""Evaluators of the data-movement, shape and fill layers (TensorRT semantics, numpy).

* IConstantLayer: the weights, reshaped to the layer's dims.
* IShapeLayer: the input's dimensions as a 1-D int64 tensor.
* IShuffleLayer: out = transpose(reshape(transpose(x, first), dims), second); reshape dims come from the layer
  or from input 1 (a 1-D shape tensor); with zero_is_placeholder a 0 copies the size at that index of the
  first transpose's result, and one −1 is inferred.
* IConcatenationLayer: join along ``axis``.
* ISliceLayer: out[i] = x[start + i·stride] per axis, start/size/stride (and axes) from the layer or from
  inputs 1–3 (and 5); positions outside x follow the mode: STRICT_BOUNDS is an error, WRAP takes the index
  modulo the size, CLAMP the nearest edge, FILL input 4 (0 by default), REFLECT mirrors without repeating the
  edge (period 2·(size − 1)).
* IGatherLayer (DEFAULT mode): out = take(data, indices, axis), shape data[:axis] + indices + data[axis+1:];
  an index outside [0, size) is undefined in TensorRT: NaN for float data, an error otherwise.
* IReverseSequenceLayer: item b reverses its first lengths[b] entries along the sequence axis.
* IFillLayer: LINSPACE out[i…] = α + Σ_j β_j·i_j (β a scalar for 1-D outputs); RANDOM_UNIFORM U[α, β);
  RANDOM_NORMAL N(α, β²) from the interpreter's seeded generator.  The shape comes from the layer or input 0,
  α and β from the layer or inputs 1 and 2.
"""

from __future__ import annotations

import numpy as np

from .errors import InterpretError


def constant(node, ins, ctx):
    return [node.attrs["value"]]


def shape(node, ins, ctx):
    return [np.array(ins[0].shape, np.int64)]


def _dims(v) -> list[int]:
    return [int(d) for d in np.asarray(v).reshape(-1)]


def shuffle(node, ins, ctx):
    a = node.attrs
    x = ins[0]
    if a["first"] and tuple(a["first"]) != tuple(range(x.ndim)):
        x = np.transpose(x, a["first"])
    dims = _dims(ins[1]) if len(ins) > 1 and ins[1] is not None else a["reshape"]
    if dims is not None:
        dims = list(dims)
        if a["zero_is_placeholder"]:
            for i, d in enumerate(dims):
                if d == 0:
                    if i >= x.ndim:
                        raise InterpretError(f"placeholder 0 at index {i} of {dims}; the input has rank {x.ndim}",
                                             node.name)
                    dims[i] = x.shape[i]
        try:
            x = x.reshape(dims)
        except ValueError:
            raise InterpretError(f"cannot reshape {x.shape} to {dims}", node.name) from None
    second = a["second"][:x.ndim]
    if second and tuple(second) != tuple(range(x.ndim)):
        x = np.transpose(x, second)
    return [x]


def concatenation(node, ins, ctx):
    axis = node.attrs["axis"]
    return [np.concatenate(ins, axis=axis)]


def _sample(idx: np.ndarray, dim: int, mode: str, node) -> tuple[np.ndarray, np.ndarray | None]:
    inside = (idx >= 0) & (idx < dim)
    if mode == "STRICT_BOUNDS":
        if not inside.all():
            raise InterpretError(f"strict slice index {idx.min()}..{idx.max()} leaves a size-{dim} axis", node.name)
        return idx, None
    if dim == 0:
        raise InterpretError(f"{mode} slice of an empty axis", node.name)
    if mode == "WRAP":
        return np.mod(idx, dim), None
    if mode == "CLAMP":
        return np.clip(idx, 0, dim - 1), None
    if mode == "FILL":
        return np.clip(idx, 0, dim - 1), inside
    if mode == "REFLECT":
        if dim == 1:
            return np.zeros_like(idx), None
        period = 2 * (dim - 1)
        m = np.mod(idx, period)
        return np.where(m >= dim, period - m, m), None
    raise InterpretError(f"slice mode {mode} is not supported", node.name)


def slice_(node, ins, ctx):
    a, x = node.attrs, ins[0]
    get = lambda i, key: _dims(ins[i]) if len(ins) > i and ins[i] is not None else a.get(key)  # noqa: E731
    start, size, stride = get(1, "start"), get(2, "shape"), get(3, "stride")
    axes = get(5, "axes")
    if axes is not None:
        full = ([0] * x.ndim, list(x.shape), [1] * x.ndim)
        for j, ax in enumerate(axes):
            ax = ax + x.ndim if ax < 0 else ax
            for vec, part in zip(full, (start, size, stride)):
                vec[ax] = part[j]
        start, size, stride = full
    if not (len(start) == len(size) == len(stride) == x.ndim):
        raise InterpretError(f"start {start}, size {size}, stride {stride} for a rank-{x.ndim} input", node.name)
    idxs, masks = [], []
    for axis, (s, n, st) in enumerate(zip(start, size, stride)):
        if n < 0:
            raise InterpretError(f"negative slice size {size}", node.name)
        idx, valid = _sample(s + st * np.arange(n, dtype=np.int64), x.shape[axis], a["mode"], node)
        idxs.append(idx)
        if valid is not None:
            shp = [1] * x.ndim
            shp[axis] = n
            masks.append(valid.reshape(shp))
    out = x[np.ix_(*idxs)] if x.ndim else x
    if masks:
        keep = masks[0]
        for m in masks[1:]:
            keep = keep & m
        fill = ins[4] if len(ins) > 4 and ins[4] is not None else np.zeros((), x.dtype)
        out = np.where(keep, out, np.asarray(fill).astype(x.dtype).reshape(()))
    return [out]


def gather(node, ins, ctx):
    a = node.attrs
    if a["mode"] != "DEFAULT" or a["num_elementwise_dims"] != 0:
        raise InterpretError(f"gather mode {a['mode']} with {a['num_elementwise_dims']} elementwise dims is not "
                             "supported", node.name)
    data, idx = ins
    axis = a["axis"]
    n = data.shape[axis]
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        if data.dtype.kind != "f":
            raise InterpretError(f"gather indices {idx[bad][:5].tolist()} outside [0, {n}) on {data.dtype} "
                                 "data (undefined in TensorRT)", node.name)
        out = np.take(data, np.clip(idx, 0, max(n - 1, 0)), axis=axis).astype(np.float32)
        shp = [1] * axis + list(idx.shape) + [1] * (data.ndim - axis - 1)
        return [np.where(bad.reshape(shp), np.nan, out)]
    return [np.take(data, idx, axis=axis)]


def reverse_sequence(node, ins, ctx):
    a = node.attrs
    x, lengths = ins
    b_ax, s_ax = a["batch_axis"], a["sequence_axis"]
    T = x.shape[s_ax]
    out = np.array(x, copy=True)
    if out.dtype.kind == "f" and ((lengths < 0) | (lengths > T)).any():
        out = out.astype(np.float32)
    for b in range(x.shape[b_ax]):
        n = int(lengths[b])
        sel = [slice(None)] * x.ndim
        sel[b_ax] = b
        if not 0 <= n <= T:
            if out.dtype.kind != "f":
                raise InterpretError(f"sequence length {n} outside [0, {T}]", node.name)
            out[tuple(sel)] = np.nan
            continue
        src = list(sel)
        src[s_ax] = slice(n - 1, None, -1) if n else slice(0, 0)
        sel[s_ax] = slice(0, n)
        out[tuple(sel)] = x[tuple(src)]
    return [out]


def fill(node, ins, ctx):
    a = node.attrs
    dims = tuple(_dims(ins[0])) if ins and ins[0] is not None else tuple(a["shape"])
    alpha = ins[1] if len(ins) > 1 and ins[1] is not None else a["alpha"]
    beta = ins[2] if len(ins) > 2 and ins[2] is not None else a["beta"]
    op = a["op"]
    if op == "LINSPACE":
        alpha = float(np.asarray(alpha).reshape(()))
        beta = np.asarray(beta, np.float64).reshape(-1)
        if beta.size == 1 and len(dims) > 1:
            raise InterpretError(f"LINSPACE with a scalar delta for a rank-{len(dims)} output", node.name)
        out = np.full(dims, alpha, np.float64)
        for j in range(len(dims)):
            shp = [1] * len(dims)
            shp[j] = dims[j]
            out = out + beta[j if beta.size > 1 else 0] * np.arange(dims[j], dtype=np.float64).reshape(shp)
        return [out]
    lo, hi = float(np.asarray(alpha, np.float64).reshape(())), float(np.asarray(beta, np.float64).reshape(()))
    if op == "RANDOM_UNIFORM":
        return [ctx.rng.uniform(lo, hi, dims)]
    if op == "RANDOM_NORMAL":
        return [ctx.rng.normal(lo, hi, dims)]
    raise InterpretError(f"fill operation {op} is not supported", node.name)


EVAL = {"CONSTANT": constant, "SHAPE": shape, "SHUFFLE": shuffle, "CONCATENATION": concatenation,
        "SLICE": slice_, "GATHER": gather, "REVERSE_SEQUENCE": reverse_sequence, "FILL": fill}
