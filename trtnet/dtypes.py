"""Element types shared by both backends, with conversions to numpy, PyTorch and TensorRT.

Networks are strongly typed: every tensor has exactly one of these types, and an op never mixes them silently.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np


class DType(enum.Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"
    int32 = "int32"
    int64 = "int64"
    bool = "bool"

    @property
    def is_float(self) -> bool:
        return self in (DType.float32, DType.float16, DType.bfloat16)

    @property
    def numpy(self) -> np.dtype:
        if self is DType.bfloat16:
            raise TypeError("numpy has no bfloat16; build bfloat16 constants by casting a float32 constant")
        return np.dtype(self.value)

    @property
    def itemsize(self) -> int:
        return 2 if self is DType.bfloat16 else self.numpy.itemsize

    def __str__(self) -> str:
        return self.value


# short aliases for layer code (``from trtnet.dtypes import F32``)
F32, F16, BF16, I32, I64, BOOL = DType.float32, DType.float16, DType.bfloat16, DType.int32, DType.int64, DType.bool


def as_dtype(value: Any) -> DType:
    """Accept a DType, its name, a numpy dtype, a torch dtype or a TensorRT DataType."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        try:
            return DType(value)
        except ValueError:
            raise TypeError(f"unknown dtype name {value!r}; known: {[d.value for d in DType]}") from None
    name = getattr(value, "name", None)
    if name is not None and type(value).__name__ == "DataType":  # TensorRT enum
        return _FROM_TRT[name]
    text = str(value)
    if text.startswith("torch."):
        return as_dtype(text[len("torch."):])
    try:
        return DType(np.dtype(value).name)
    except TypeError:
        raise TypeError(f"cannot interpret {value!r} as a dtype") from None


_FROM_TRT = {"FLOAT": DType.float32, "HALF": DType.float16, "BF16": DType.bfloat16, "INT8": DType.int8,
             "INT32": DType.int32, "INT64": DType.int64, "BOOL": DType.bool}
TRT_NAMES = {v: k for k, v in _FROM_TRT.items()}


def to_trt(dtype: DType, trt: Any) -> Any:
    """The TensorRT DataType for ``dtype`` in module ``trt``."""
    return getattr(trt.DataType, TRT_NAMES[dtype])
