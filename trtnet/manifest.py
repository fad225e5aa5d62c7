"""The weight manifest: for every weight constant of a network, where its values come from.

An entry says that the IConstantLayer ``layer`` holds

    values = transform(*(read(k) for k in keys), **args), cast to ``dtype``, of shape ``shape``

where ``read(k)`` is the array stored under key ``k`` of the weights file (HDF5; floating-point arrays as
float64, others as stored) and ``transform`` is a module-level function named ``module.qualname`` (so it can be
imported again: no lambdas, no nested functions).  Computed constants with no weights (e.g. STFT bases) have
no keys and take their sizes from ``args``.  :class:`trtnet.graph.Graph` records an entry per
:meth:`Graph.weight`; :func:`trtnet.build.build` writes them into the sidecar (``weights_manifest``), so a
refitter or an exporter can recompute any constant from a weights file without the layer code::

    {"decoder/attention_rnn/weight_cat_t": {
        "keys": ["decoder.attention_rnn.weight_ih", "decoder.attention_rnn.weight_hh",
                 "decoder.attention_rnn.bias_ih", "decoder.attention_rnn.bias_hh"],
        "transform": "trtnet.layers.tacotron2.blocks._cat_t", "dtype": "float16", "shape": [1280, 4096]}}
"""

from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .dtypes import DType, as_dtype
from .errors import GraphError

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class WeightEntry:
    layer: str                       # the IConstantLayer's name
    keys: tuple[str, ...]            # weights-file keys, in the order the transform takes them
    transform: str                   # "module.qualname" of a module-level function
    dtype: str                       # the constant's dtype
    shape: tuple[int, ...]
    args: Mapping[str, Any] = field(default_factory=dict)   # keyword arguments of the transform (JSON values)

    def to_json(self) -> dict[str, Any]:
        d = {"keys": list(self.keys), "transform": self.transform, "dtype": self.dtype, "shape": list(self.shape)}
        return {**d, "args": dict(self.args)} if self.args else d

    @classmethod
    def from_json(cls, layer: str, d: Mapping[str, Any]) -> "WeightEntry":
        return cls(layer, tuple(d["keys"]), d["transform"], d["dtype"], tuple(d["shape"]), dict(d.get("args", {})))


@functools.lru_cache(maxsize=None)
def transform_name(fn: Callable[..., Any]) -> str:
    """``fn.__module__ + "." + fn.__qualname__``, after checking that importing that name gives ``fn`` back
    (GraphError for lambdas, nested functions, partials and other unnamed callables)."""
    module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qual or "<" in qual:
        raise GraphError(f"weight transform {fn!r} must be a module-level function (got qualname {qual!r}): the "
                         "manifest names it so that it can be imported again")
    name = f"{module}.{qual}"
    if resolve(name, strict=False) is not fn:
        raise GraphError(f"weight transform {fn!r}: {name} does not import back to the same function")
    return name


def resolve(name: str, *, strict: bool = True) -> Callable[..., Any] | None:
    """The function a manifest names (``package.module.function`` or ``package.module.Class.method``)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            break
        return obj
    if strict:
        raise GraphError(f"weight transform {name!r} cannot be imported")
    return None


def args_json(args: Mapping[str, Any]) -> str:
    """``args`` as canonical JSON (GraphError when a value is not JSON)."""
    try:
        return json.dumps(dict(args), sort_keys=True)
    except TypeError as e:
        raise GraphError(f"weight transform arguments {dict(args)!r} must be JSON values: {e}") from None


def compute(entry: WeightEntry, read: Callable[[str], np.ndarray]) -> np.ndarray:
    """The entry's values from ``read(key)`` (the stored array): floats as float64 through the transform, then
    cast to the entry's dtype (bfloat16 constants are stored as float32 and cast in the network)."""
    arrays = [np.asarray(read(k)) for k in entry.keys]
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    out = np.asarray(resolve(entry.transform)(*arrays, **entry.args))
    dt = as_dtype(entry.dtype)
    out = out.astype(np.float32 if dt is DType.bfloat16 else dt.numpy)
    if tuple(out.shape) != tuple(entry.shape):
        raise GraphError(f"{entry.layer}: {entry.transform} gives shape {out.shape}, the manifest says {entry.shape}")
    return out


def to_json(entries: Mapping[str, WeightEntry]) -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "layers": {k: e.to_json() for k, e in entries.items()}}


def from_json(d: Mapping[str, Any] | None) -> dict[str, WeightEntry] | None:
    """The entries of a sidecar's ``weights_manifest`` (None when the sidecar has none: built before manifests)."""
    if d is None:
        return None
    if d.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"weights manifest format {d.get('format')!r}, this trtnet reads {MANIFEST_FORMAT}")
    return {layer: WeightEntry.from_json(layer, e) for layer, e in d["layers"].items()}
