"""TensorRT's refitter contract, emulated: ``Refitter(engine, logger)`` over an emulated engine.

As TensorRT documents ``IRefitter``: weights are set by name (``set_named_weights``, False with an error logged
for an unknown name or a dtype / element count other than the build's), ``get_all_weights`` lists the refittable
names, ``get_missing_weights`` those still needed (a weight-stripped engine needs every refittable weight before
its first refit; a full engine needs none), ``refit_cuda_engine`` applies them (False with an error while any
are missing), and an engine built without a refit flag cannot be refitted (the constructor raises, as the
bindings do).  An emulated engine is refittable when its sidecar's build config asks for ``refittable`` or
``strip_weights``; its refittable weights are the sidecar's weight manifest.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np


class Weights:
    """``trt.Weights(array)``: a contiguous numpy array (its dtype and element count are what TensorRT checks)."""

    def __init__(self, a: Any = None) -> None:
        self.array = np.ascontiguousarray(a if a is not None else np.zeros(0, np.float32))

    @property
    def size(self) -> int:
        return int(self.array.size)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def numpy(self) -> np.ndarray:
        return self.array


class WeightsRole(enum.Enum):
    KERNEL = 0
    BIAS = 1
    SHIFT = 2
    SCALE = 3
    CONSTANT = 4
    ANY = 5


class SerializationFlag(enum.Enum):
    EXCLUDE_WEIGHTS = 0
    EXCLUDE_LEAN_RUNTIME = 1
    INCLUDE_REFIT = 2


class SerializationConfig:
    def __init__(self) -> None:
        self.flags: set[SerializationFlag] = set()

    def set_flag(self, flag: SerializationFlag) -> bool:
        self.flags.add(flag)
        return True


class Refitter:
    def __init__(self, engine: Any, logger: Any) -> None:
        if not getattr(engine, "refittable", False):
            raise TypeError(f"Refitter: engine {getattr(engine, 'name', '?')} was not built refittable "
                            "(kREFIT / kREFIT_INDIVIDUAL / kSTRIP_PLAN) [trtnet emulator]")
        self.engine, self.logger = engine, logger
        self.pending: dict[str, np.ndarray] = {}

    def _error(self, msg: str) -> None:
        from .tensorrt import ILogger
        self.logger.log(ILogger.Severity.ERROR, f"IRefitter: {msg} [trtnet emulator]")

    def get_all_weights(self) -> list[str]:
        return list(self.engine.refit_prototypes)

    def set_named_weights(self, name: str, weights: Any) -> bool:
        proto = self.engine.refit_prototypes.get(name)
        if proto is None:
            self._error(f"'{name}' is not the name of refittable weights of engine {self.engine.name}")
            return False
        arr = np.ascontiguousarray(weights.numpy() if hasattr(weights, "numpy") else weights)
        if arr.dtype != proto.dtype or arr.size != proto.size:
            self._error(f"weights '{name}': {arr.dtype} x {arr.size} given, the engine was built with "
                        f"{proto.dtype} x {proto.size}")
            return False
        self.pending[name] = arr.reshape(proto.shape).copy()
        return True

    def unset_named_weights(self, name: str) -> bool:
        return self.pending.pop(name, None) is not None

    def get_missing_weights(self) -> list[str]:
        if self.engine.weights_present:
            return []
        return [n for n in self.engine.refit_prototypes if n not in self.pending]

    def refit_cuda_engine(self) -> bool:
        missing = self.get_missing_weights()
        if missing:
            self._error(f"{len(missing)} weights missing, e.g. {missing[:4]}")
            return False
        self.engine.apply_refit(self.pending)
        return True
