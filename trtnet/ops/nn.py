"""Linear algebra and neural-network ops.  TRT: IMatrixMultiplyLayer, ISoftMaxLayer, IReduceLayer,
IConvolutionLayer / IDeconvolutionLayer (1-D as (K, 1) 2-D kernels), IReverseSequenceLayer."""

from __future__ import annotations

from typing import Sequence

from ..dtypes import DType
from ..errors import ShapeError
from ..tensor import Tensor
from ._util import check_dtype, check_same_dtype, float_types, norm_axis
from .shape import expand_rank


def matmul(a: Tensor, b: Tensor, *, transpose_a: bool = False, transpose_b: bool = False, name=None) -> Tensor:
    """a @ b over the last two axes (optionally transposed), leading axes broadcast; the lower-rank operand
    gets leading size-1 axes (TensorRT needs equal ranks).  TRT: IMatrixMultiplyLayer."""
    check_same_dtype("matmul", a, b)
    if a.ndim < 2 or b.ndim < 2:
        raise ShapeError(f"matmul: operands need rank >= 2, got {a.name} {a.shape} and {b.name} {b.shape}")
    ka = a.shape[-2] if transpose_a else a.shape[-1]
    kb = b.shape[-1] if transpose_b else b.shape[-2]
    if isinstance(ka, int) and isinstance(kb, int) and ka != kb:
        raise ShapeError(f"matmul: inner sizes differ: {a.name} {a.shape} (T={transpose_a}) vs "
                         f"{b.name} {b.shape} (T={transpose_b})")
    rank = max(a.ndim, b.ndim)
    a, b = expand_rank(a, rank), expand_rank(b, rank)
    return a.graph.apply("matmul", [a, b], transpose_a=transpose_a, transpose_b=transpose_b, name=name or "matmul")


def linear(x: Tensor, weight_t: Tensor, bias: Tensor | None = None, *, name=None) -> Tensor:
    """x @ Wᵀ + b with ``weight_t`` = Wᵀ [in, out] stored pre-transposed."""
    y = matmul(x, weight_t, name=name or "linear")
    return y + bias if bias is not None else y


def softmax(x: Tensor, axis: int = -1, *, name=None) -> Tensor:
    """exp(x) / Σ exp(x) along ``axis``.  TRT: ISoftMaxLayer."""
    check_dtype("softmax", x, float_types())
    return x.graph.apply("softmax", [x], axis=norm_axis(axis, x.ndim, "softmax"), name=name or "softmax")


def _reduce(op: str, x: Tensor, axes, keepdims: bool, name) -> Tensor:
    axes = [axes] if isinstance(axes, int) else list(range(x.ndim)) if axes is None else list(axes)
    axes = sorted({norm_axis(a, x.ndim, f"reduce_{op}") for a in axes})
    return x.graph.apply("reduce", [x], op=op, axes=tuple(axes), keepdims=keepdims, name=name or f"reduce_{op}")


def reduce_sum(x: Tensor, axes: Sequence[int] | int | None = None, keepdims: bool = False, *, name=None) -> Tensor:
    """Σ over ``axes`` (all when None).  TRT: IReduceLayer SUM."""
    return _reduce("sum", x, axes, keepdims, name)


def reduce_mean(x: Tensor, axes: Sequence[int] | int | None = None, keepdims: bool = False, *, name=None) -> Tensor:
    """Mean over ``axes``.  TRT: IReduceLayer AVG."""
    check_dtype("reduce_mean", x, float_types())
    return _reduce("mean", x, axes, keepdims, name)


def reduce_max(x: Tensor, axes: Sequence[int] | int | None = None, keepdims: bool = False, *, name=None) -> Tensor:
    """Max over ``axes``.  TRT: IReduceLayer MAX."""
    return _reduce("max", x, axes, keepdims, name)


def reduce_min(x: Tensor, axes: Sequence[int] | int | None = None, keepdims: bool = False, *, name=None) -> Tensor:
    """Min over ``axes``.  TRT: IReduceLayer MIN."""
    return _reduce("min", x, axes, keepdims, name)


def argmax(x: Tensor, axis: int = -1, keepdims: bool = False, *, name=None) -> Tensor:
    """Index of the largest value along ``axis`` (int32).  TRT: ITopKLayer MAX with k = 1."""
    check_dtype("argmax", x, float_types())
    axis = norm_axis(axis, x.ndim, "argmax")
    idx = x.graph.apply("argmax", [x], axis=axis, name=name or "argmax")
    if keepdims:
        return idx
    from .shape import squeeze
    return squeeze(idx, axis)


def _conv(x: Tensor, weight: Tensor, bias: Tensor | None, *, transpose: bool, stride: int, padding: int,
          dilation: int, groups: int, name: str) -> Tensor:
    ops_in = [x, weight] + ([bias] if bias is not None else [])
    check_same_dtype(name, *ops_in)
    check_dtype(name, x, float_types())
    if x.ndim not in (3, 4) or weight.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] != 1) or (
            weight.ndim == 4 and weight.shape[3] != 1):
        raise ShapeError(f"{name}: input [B, C, T] or [B, C, T, 1] and weight [·, ·, K] or [·, ·, K, 1] needed, "
                         f"got {x.shape} and {weight.shape}")
    c_in = x.shape[1]
    w_in = weight.static_dim(0) if transpose else weight.static_dim(1) * groups
    if isinstance(c_in, int) and c_in != w_in:
        raise ShapeError(f"{name}: input {x.name} has {c_in} channels, weight {weight.name} {weight.shape} "
                         f"expects {w_in} (groups={groups})")
    out_channels = weight.static_dim(1) * groups if transpose else weight.static_dim(0)
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(f"{name}: bias {bias.name} has shape {bias.shape}, expected ({out_channels},)")
    return x.graph.apply("conv1d", ops_in, stride=stride, padding=padding, dilation=dilation, groups=groups,
                         transpose=transpose, out_channels=out_channels, name=name)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, stride: int = 1, padding: int = 0,
           dilation: int = 1, groups: int = 1, name=None) -> Tensor:
    """PyTorch conv1d: x [B, C, T], weight [O, C/groups, K], bias [O] → [B, O, T'] with
    T' = ⌊(T + 2p − d(K−1) − 1)/s⌋ + 1.  TRT: IConvolutionLayer, kernel (K, 1) on [B, C, T, 1].
    x may be given as [B, C, T, 1] (then the output is [B, O, T', 1]) and the weight as [O, C/groups, K, 1]:
    TensorRT's own layout, so chains of convolutions and pointwise ops need no reshapes between them."""
    return _conv(x, weight, bias, transpose=False, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, name=name or "conv1d")


def conv_transpose1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, stride: int = 1, padding: int = 0,
                     dilation: int = 1, groups: int = 1, name=None) -> Tensor:
    """PyTorch conv_transpose1d: weight [C, O/groups, K] → T' = (T−1)s − 2p + d(K−1) + 1.
    TRT: IDeconvolutionLayer, kernel (K, 1).  Rank-4 x / weight as in :func:`conv1d`."""
    return _conv(x, weight, bias, transpose=True, stride=stride, padding=padding, dilation=dilation,
                 groups=groups, name=name or "conv_transpose1d")


def reverse_sequence(x: Tensor, lengths: Tensor, *, batch_axis: int = 1, seq_axis: int = 0, name=None) -> Tensor:
    """Per item b, reverse the first lengths[b] entries along ``seq_axis``; the rest stay in place.
    TRT: IReverseSequenceLayer."""
    if lengths.dtype not in (DType.int32, DType.int64):
        raise TypeError(f"reverse_sequence: lengths {lengths.name} must be int32/int64, got {lengths.dtype}")
    return x.graph.apply("reverse_sequence", [x, lengths], batch_axis=norm_axis(batch_axis, x.ndim, "rs"),
                         seq_axis=norm_axis(seq_axis, x.ndim, "rs"), name=name or "reverse_sequence")
