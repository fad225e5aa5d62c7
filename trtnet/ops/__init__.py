"""trtnet ops: one function per op, each with a TensorRT lowering and an eager PyTorch twin
(``trtnet/backends/trt.py`` and ``eager.py``, method ``op_<kind>``)."""

from .control import cond
from .creation import arange, constant, full, random_normal, random_uniform, zeros
from .elementwise import (add, clamp, div, equal, floor_div, greater, greater_equal, less, less_equal, logical_and,
                          logical_not, logical_or, logical_xor, maximum, minimum, mul, pow, sub, where)
from .nn import (argmax, conv1d, conv_transpose1d, linear, matmul, reduce_max, reduce_mean, reduce_min, reduce_sum,
                 reverse_sequence, softmax)
from .shape import (broadcast_to, concat, dim_size, dims, gather, pad, permute, reshape, shape,
                    size_vector, slice, slice_axis, split, squeeze, transpose, unsqueeze)
from .unary import abs, cast, cos, exp, floor, log, neg, reciprocal, relu, sigmoid, sin, sqrt, tanh

__all__ = [n for n in dir() if not n.startswith("_")]
