"""Refittable and weight-stripped plans: the builder flags, and new weight values from the weight manifest.

Every weight constant of a trtnet network is named in the sidecar's ``weights_manifest`` (:mod:`trtnet.manifest`):
its HDF5 keys, the named transform, dtype and shape.  The TensorRT backend names each constant's weights after
its layer (``INetworkDefinition.set_weights_name``), so the manifest's layer names are the refitter's weight
names.  :func:`manifest_weights` recomputes all of them from a (possibly different) weights file without the
layer code; :func:`refit_engine` hands them to TensorRT's ``Refitter`` by name (``set_named_weights``), checks
``get_missing_weights`` and refits (``refit_cuda_engine``).

Build modes (``BuildConfig.refittable`` / ``strip_weights``), both with ``BuilderFlag.REFIT_INDIVIDUAL`` and
every manifest weight marked refittable (``mark_weights_refittable``), so exactly the manifest's weights are
refittable and trtnet's small literal constants (axes, shapes, epsilons) stay in the plan:

- ``refittable``: the plan keeps its weights; ``trtnet refit`` can replace them with any weights of the same
  shapes and dtypes.
- ``strip_weights``: ``BuilderFlag.STRIP_PLAN`` too: the plan ships without the manifest's weights; loading
  refits them from the ``.h5`` the sidecar names (hash checked first).  (``REFIT_IDENTICAL`` would make every
  constant refittable, literals included, which only the layer code can recompute.)

``emulated_refit``: for a flavour that cannot build these flags here (TensorRT-RTX without a GPU fails in its
kernel JIT), the plan is built without them and its sidecar says so (``build_config.emulated_refit``); only the
emulated runtime (``trtnet.emulate``) loads such plans, which it treats as built with the flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .files import file_sha256
from .manifest import WeightEntry, compute
from .sidecar import Sidecar

BUILDER_FLAGS = ("REFIT_INDIVIDUAL", "STRIP_PLAN")
NETWORK_METHODS = ("set_weights_name", "mark_weights_refittable")


class RefitError(ValueError):
    """The weights do not fit an engine's manifest, or TensorRT refused them; the message names the layer."""


def refit_mode(build_config: Mapping[str, Any]) -> str | None:
    """"stripped", "refittable" or None (built with neither flag), from a sidecar's ``build_config``."""
    if build_config.get("strip_weights"):
        return "stripped"
    return "refittable" if build_config.get("refittable") else None


def flavor_support(module: Any) -> dict[str, bool]:
    """Which of ``--refittable`` / ``--strip-weights`` the TensorRT module ``module`` can build: the builder
    flags and network methods they use exist in its bindings."""
    flags = getattr(module, "BuilderFlag", None)
    net = getattr(module, "INetworkDefinition", None)
    methods = all(hasattr(net, m) for m in NETWORK_METHODS) and hasattr(module, "Refitter")
    return {"refittable": methods and hasattr(flags, "REFIT_INDIVIDUAL"),
            "strip_weights": methods and hasattr(flags, "REFIT_INDIVIDUAL") and hasattr(flags, "STRIP_PLAN")}


def check_flavor(flavor: Any, refittable: bool, strip: bool) -> None:
    """RefitError naming the flavour when it lacks a requested mode (call before any work)."""
    support = flavor_support(flavor.module)
    for flag, wanted in (("refittable", refittable), ("strip_weights", strip)):
        if wanted and not support[flag]:
            raise RefitError(f"--{flag.replace('_', '-')}: {flavor} has no "
                             f"{' / '.join(BUILDER_FLAGS if flag == 'strip_weights' else BUILDER_FLAGS[:1])} "
                             "builder flag or named-weights refitter; build without it or use a TensorRT that has it")


def set_build_flags(trt: Any, network: Any, cfg: Any, entries: Mapping[str, WeightEntry], refittable: bool,
                    strip: bool) -> None:
    """Mark every manifest weight refittable and set REFIT_INDIVIDUAL (and STRIP_PLAN) on builder config
    ``cfg``; nothing when neither mode is asked for."""
    if not (refittable or strip):
        return
    for layer in entries:
        if not network.mark_weights_refittable(layer):
            raise RefitError(f"TensorRT could not mark weights '{layer}' refittable (are they named?)")
    cfg.set_flag(trt.BuilderFlag.REFIT_INDIVIDUAL)
    if strip:
        cfg.set_flag(trt.BuilderFlag.STRIP_PLAN)


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


def refit_engine(engine: Any, sidecar: Sidecar, read: Callable[[str], np.ndarray] | Mapping[str, np.ndarray],
                 trt: Any, logger: Any = None) -> int:
    """Refit ``engine`` (an ``ICudaEngine`` built refittable or weight-stripped, module ``trt``) with the values
    of :func:`manifest_weights` (or ``read``, already those values), set by name; returns the number of
    weights set.  RefitError names the weights TensorRT refused or still misses."""
    values = dict(read) if isinstance(read, Mapping) else manifest_weights(sidecar, read)
    if not getattr(engine, "refittable", False):
        raise RefitError(f"engine '{sidecar.network}' is not refittable (built without --refittable or "
                         "--strip-weights); rebuild it to refit")
    refitter = trt.Refitter(engine, logger if logger is not None else trt.Logger(trt.Logger.WARNING))
    keep = []
    for name, arr in values.items():
        arr = np.ascontiguousarray(arr)
        keep.append(arr)
        if not refitter.set_named_weights(name, trt.Weights(arr)):
            raise RefitError(f"engine '{sidecar.network}': TensorRT refused weights '{name}' {arr.dtype} "
                             f"{arr.shape}")
    missing = list(refitter.get_missing_weights())
    if missing:
        raise RefitError(f"engine '{sidecar.network}': {len(missing)} weights still missing after the manifest's "
                         f"{len(values)}: {missing[:12]}")
    if not refitter.refit_cuda_engine():
        raise RefitError(f"engine '{sidecar.network}': TensorRT could not refit")
    return len(values)


def serialize(engine: Any, trt: Any, stripped: bool) -> bytes:
    """The engine's plan; a weight-stripped engine stays stripped (``SerializationFlag.EXCLUDE_WEIGHTS``)."""
    if not stripped:
        return bytes(engine.serialize())
    config = engine.create_serialization_config()
    config.set_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    return bytes(engine.serialize_with_config(config))


def sidecar_weights(plan: Path, sidecar: Sidecar) -> Path:
    """The weights file a plan was built (or last refitted) from: where the sidecar says, else beside the plan,
    hash-checked against the sidecar's ``weights_sha256``; RefitError otherwise."""
    recorded = sidecar.extra.get("weights_file")
    if not recorded or not sidecar.weights_sha256:
        raise RefitError(f"{plan}: the sidecar records no weights file and hash to refit the stripped plan from; "
                         "rebuild it")
    candidates = [Path(recorded), Path(plan).parent / Path(recorded).name]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise RefitError(f"{plan}: weights file {recorded} not found (also looked for {candidates[1]}); a "
                         "weight-stripped plan needs it")
    actual = file_sha256(found)
    if actual != sidecar.weights_sha256:
        raise RefitError(f"{found}: sha256 {actual[:16]}… differs from {sidecar.weights_sha256[:16]}… that "
                         f"{Path(plan).name}'s sidecar records (other weights); refit or rebuild the plan")
    return found


def refit_from_sidecar(engine: Any, plan: Path, sidecar: Sidecar, trt: Any, logger: Any = None) -> int:
    """Refit a weight-stripped engine at load from the ``.h5`` its sidecar names (hash checked first)."""
    from .weights.store import WeightStore
    path = sidecar_weights(plan, sidecar)
    with WeightStore.open(path) as store:
        return refit_engine(engine, sidecar, store.get, trt, logger)

