"""The refit side of an emulated engine: which weights are refittable, whether they are present, what a refit
changes, and the plan bytes ``serialize`` gives back.

An engine whose sidecar's build config has ``refittable`` or ``strip_weights`` is refittable; its refittable
weights are the sidecar's weight manifest (name, dtype, shape), as ``REFIT_INDIVIDUAL`` with every manifest
weight marked makes them.  A weight-stripped engine starts without them: no execution context until a refit
supplies every one.  A refit replaces the constants' values in the interpreted network.  ``serialize`` gives
the plan's bytes with the refitted values appended (an ``.npz`` after a tag), as a real plan holds its weights;
loading such a plan runs with those values, not with the weights file's, so what a refit set is what runs.  A
stripped plan serialized with ``EXCLUDE_WEIGHTS`` holds no weights: its bytes do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import io

import numpy as np

from ..dtypes import DType, as_dtype
from ..refit import refit_mode
from ..sidecar import Sidecar
from .refitter import SerializationConfig, SerializationFlag

TAG = b"\n#trtnet-emulated-refit:"


@dataclass(frozen=True)
class Prototype:
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class RefitState:
    def __init__(self, plan: Path, sidecar: Sidecar, runner: Any) -> None:
        self.plan_path = plan
        self.mode = refit_mode(sidecar.build_config)
        self.prototypes: dict[str, Prototype] = {}
        if self.mode is not None:
            for name, e in (sidecar.manifest() or {}).items():
                dt = as_dtype(e.dtype)
                self.prototypes[name] = Prototype(np.dtype(np.float32 if dt is DType.bfloat16 else dt.numpy),
                                                  tuple(e.shape))
        self.present = self.mode != "stripped"
        self.values: dict[str, np.ndarray] = {}
        held = plan.read_bytes().split(TAG, 1)
        if len(held) == 2:                          # a refitted plan: its weights are the ones it holds
            with np.load(io.BytesIO(held[1]), allow_pickle=False) as z:
                self.apply(runner, {name: z[name] for name in z.files})

    def apply(self, runner: Any, values: Mapping[str, np.ndarray]) -> None:
        self.values.update(values)
        runner.set_constants(self.values)
        self.present = True

    def serialize(self, config: SerializationConfig | None = None) -> bytes:
        data = self.plan_path.read_bytes().split(TAG)[0]
        excluded = config is not None and SerializationFlag.EXCLUDE_WEIGHTS in config.flags
        if not self.values or (excluded and self.mode == "stripped"):
            return data
        buf = io.BytesIO()
        np.savez(buf, **self.values)
        return data + TAG + buf.getvalue()
