"""New weight values for a built engine, from its sidecar's weight manifest and a weights file.

Every weight constant of a trtnet network is named in the sidecar's ``weights_manifest`` (:mod:`trtnet.manifest`):
its HDF5 keys, the named transform, dtype and shape.  :func:`manifest_weights` recomputes all of them from a
(possibly different) weights file without the layer code; :func:`refit_engine` hands them to TensorRT's
``IRefitter`` (``set_weights(layer, WeightsRole.CONSTANT, ...)``) for an engine built refittable.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .manifest import WeightEntry, compute
from .sidecar import Sidecar


class RefitError(ValueError):
    """The weights do not fit an engine's manifest, or TensorRT refused them; the message names the layer."""


def manifest_weights(sidecar: Sidecar | Mapping[str, WeightEntry], read: Callable[[str], np.ndarray]
                     ) -> dict[str, np.ndarray]:
    """Layer name → values of every weight constant, with ``read(key)`` giving the weights file's array (e.g.
    ``WeightStore.get``).  RefitError when the sidecar has no manifest, a key is missing, or a value's shape is
    not the one the engine was built with."""
    entries = sidecar.manifest() if isinstance(sidecar, Sidecar) else dict(sidecar)
    if entries is None:
        raise RefitError(f"sidecar of '{sidecar.network}' has no weights_manifest (built before manifests); "
                         "rebuild the engine to refit it")
    out = {}
    for layer, entry in entries.items():
        try:
            out[layer] = compute(entry, read)
        except (KeyError, ValueError) as e:
            raise RefitError(f"{layer}: cannot recompute from keys {list(entry.keys)} with {entry.transform}: {e}"
                             ) from None
    return out


def refit_engine(engine: Any, sidecar: Sidecar, read: Callable[[str], np.ndarray], trt: Any) -> int:
    """Refit ``engine`` (an ``ICudaEngine`` built with TensorRT's REFIT flag, module ``trt``) with the values of
    :func:`manifest_weights`; returns the number of layers set.  RefitError names the layers TensorRT still
    misses or refused."""
    values = manifest_weights(sidecar, read)
    refitter = trt.Refitter(engine, trt.Logger(trt.Logger.WARNING))
    keep = []
    for layer, arr in values.items():
        arr = np.ascontiguousarray(arr)
        keep.append(arr)
        if not refitter.set_weights(layer, trt.WeightsRole.CONSTANT, trt.Weights(arr)):
            raise RefitError(f"{layer}: TensorRT refused the refit weights {arr.dtype} {arr.shape}")
    missing = list(refitter.get_missing()[0])
    if missing:
        raise RefitError(f"engine '{sidecar.network}': weights still missing after the manifest: {missing[:12]}")
    if not refitter.refit_cuda_engine():
        raise RefitError(f"engine '{sidecar.network}': TensorRT could not refit")
    return len(values)
