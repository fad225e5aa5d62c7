"""Feeds and buffers from the I/O spec: numpy dtypes, profile-max sizes, feed validation, TensorRT error text.

Pure functions of the sidecar's :class:`~trtnet.iospec.IOSpec` (no CUDA, no TensorRT), used by the session.
A "shapes" mapping names every input: a shape tuple, or the int value of a shape-tensor input.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..dtypes import as_dtype
from ..iospec import IOSpec, SpecError, TensorSpec

Shapes = Mapping[str, "Sequence[int] | int"]


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a sidecar dtype name (``float32``, ``float16``, ``int32``, ``int64``, ``bool``, ...)."""
    try:
        return as_dtype(name).numpy
    except TypeError as e:
        raise SpecError(f"dtype {name!r}: {e}") from None


def nbytes(spec: TensorSpec, shape: Sequence[int]) -> int:
    """Bytes of ``spec`` at a concrete ``shape``."""
    return int(np.prod(shape, dtype=np.int64)) * numpy_dtype(spec.dtype).itemsize


def max_input_shapes(io: IOSpec, profile: int = 0) -> dict[str, "tuple[int, ...] | int"]:
    """Each input at the profile's max (shape-tensor inputs: their max value)."""
    ranges = io.all_profiles()[profile]
    maxima = {s.name: io.profile_shapes(ranges, s)[2] for s in io.inputs}
    return {s.name: maxima[s.name][0] if s.is_shape_tensor else maxima[s.name] for s in io.inputs}


def input_capacities(io: IOSpec) -> dict[str, int]:
    """Device bytes each array input needs: its largest size over all profiles (shape tensors stay on the host)."""
    caps: dict[str, int] = {}
    for p in range(len(io.all_profiles())):
        for name, shape in max_input_shapes(io, p).items():
            spec = io.input(name)
            if not spec.is_shape_tensor:
                caps[name] = max(caps.get(name, 0), nbytes(spec, shape))
    return caps


def validate_shapes(io: IOSpec, shapes: Shapes, profile: int = 0) -> dict[str, int]:
    """Check names, ranks and profile ranges (``IOSpec.bind_dims``); return every named dimension's value."""
    if not 0 <= profile < len(io.all_profiles()):
        raise SpecError(f"profile {profile} does not exist; the engine has {len(io.all_profiles())}")
    kinds = {s.name: s.is_shape_tensor for s in io.inputs}
    dims: dict[str, tuple[int, ...]] = {}
    for name, v in shapes.items():
        scalar = isinstance(v, (int, np.integer))
        if name in kinds and scalar != kinds[name]:
            raise SpecError(f"input '{name}': " + ("a shape-tensor input takes one int value" if not scalar
                                                    else f"expected a shape or an array, got the int {v}"))
        dims[name] = (int(v),) if scalar else tuple(int(d) for d in v)
    return io.bind_dims(dims, profile)


def feed_shapes(io: IOSpec, feeds: Mapping[str, Any]) -> dict[str, "tuple[int, ...] | int"]:
    """The shapes of ``feeds`` (a shape-tensor input, given as an int or a one-element array, by value)."""
    value_inputs = {s.name for s in io.inputs if s.is_shape_tensor}
    shapes: dict[str, Any] = {}
    for name, value in feeds.items():
        if isinstance(value, np.ndarray):
            if name in value_inputs and value.size != 1:
                raise SpecError(f"shape-tensor input '{name}' takes one value, got shape {list(value.shape)}")
            shapes[name] = int(value.reshape(-1)[0]) if name in value_inputs else value.shape
        elif isinstance(value, (int, np.integer)):
            shapes[name] = value
        else:
            raise SpecError(f"input '{name}': expected a numpy array, got {type(value).__name__}")
    return shapes


def validate_feeds(io: IOSpec, feeds: Mapping[str, Any], profile: int = 0) -> dict[str, int]:
    """:func:`validate_shapes`, then dtypes: arrays must have exactly the spec dtype (nothing is cast)."""
    dims = validate_shapes(io, feed_shapes(io, feeds), profile)
    check_dtypes(io, feeds)
    return dims


def check_dtypes(io: IOSpec, feeds: Mapping[str, Any]) -> None:
    """Every array feed has exactly its input's dtype."""
    for spec in io.inputs:
        value = feeds[spec.name]
        if isinstance(value, np.ndarray) and value.dtype != numpy_dtype(spec.dtype):
            raise SpecError(f"input '{spec.name}': dtype {value.dtype}, the engine takes {spec.dtype} "
                            "(convert it yourself; nothing is cast silently)")


def new_errors(logger: Any, mark: int) -> list[str]:
    """The errors a ``CapturingLogger`` recorded since ``len(logger.messages)`` was ``mark``."""
    return [m[4:] for m in logger.messages[mark:] if m.startswith("[E] ")]


def with_log(message: str, errors: Sequence[str]) -> str:
    """``message`` followed by TensorRT's captured error lines."""
    return message + (":\n  " + "\n  ".join(errors) if errors else " (TensorRT logged no error)")
