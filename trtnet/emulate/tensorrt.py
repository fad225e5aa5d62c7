"""The TensorRT runtime surface that ``trtnet.runtime`` uses, emulated: this module stands where ``tensorrt`` /
``tensorrt_rtx`` stands in a :class:`trtnet.flavor.Flavor`.

What exists here is what the runtime calls: the enums it reads (``DataType``, ``TensorIOMode``, ``TensorLocation``, ``CudaGraphStrategy``,
``ILogger.Severity``), ``nptype``, and TensorRT-RTX's runtime config and runtime cache.  The engine and its
execution contexts are in :mod:`.engine` and :mod:`.context`.  ``Runtime(logger)`` is bound per
:class:`~trtnet.emulate.Emulator` (its plans, its CUDA): ``Emulator.tensorrt`` is this module with it.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

__version__ = "emulated"


class DataType(enum.Enum):
    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BOOL = 4
    UINT8 = 5
    BF16 = 7
    INT64 = 8


_NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8,
          DataType.INT32: np.int32, DataType.BOOL: np.bool_, DataType.UINT8: np.uint8, DataType.INT64: np.int64}


def nptype(dtype: DataType) -> type:
    """The numpy type of a DataType (TensorRT's ``nptype``); BF16 has none."""
    if dtype not in _NUMPY:
        raise TypeError(f"{dtype} has no numpy type")
    return _NUMPY[dtype]


class TensorIOMode(enum.Enum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class TensorLocation(enum.Enum):
    DEVICE = 0
    HOST = 1


class CudaGraphStrategy(enum.Enum):
    DISABLED = 0
    WHOLE_GRAPH_CAPTURE = 1


class Logger:
    """``trt.Logger(severity)``: a logger that keeps nothing (trtnet passes its own where it matters)."""

    WARNING = 2

    def __init__(self, min_severity: Any = None) -> None:
        pass

    def log(self, severity: Any, msg: str) -> None:
        pass


class ILogger:
    """Base class of loggers (``trtnet.trt_logger`` subclasses it, as it does TensorRT's)."""

    class Severity(enum.Enum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    def __init__(self) -> None:
        pass

    def log(self, severity: "ILogger.Severity", msg: str) -> None:
        pass


class IRuntimeCache:
    """TensorRT-RTX's runtime (JIT kernel) cache.  The emulator compiles nothing; what it is given it gives
    back unchanged, so a session never overwrites a real cache file with an empty one."""

    def __init__(self) -> None:
        self._data = b""

    def deserialize(self, data: bytes) -> bool:
        self._data = bytes(data)
        return True

    def serialize(self) -> bytes:
        return self._data


class IRuntimeConfig:
    """TensorRT-RTX's per-context runtime configuration (graph strategy and runtime cache are recorded)."""

    def __init__(self) -> None:
        self.cuda_graph_strategy = CudaGraphStrategy.DISABLED
        self.runtime_cache: IRuntimeCache | None = None

    def create_runtime_cache(self) -> IRuntimeCache:
        return IRuntimeCache()

    def set_runtime_cache(self, cache: IRuntimeCache) -> bool:
        self.runtime_cache = cache
        return True
