"""The I/O spec of a network: defined once where the network is built, carried to the runtime by the sidecar.

A dimension is an ``int`` (static) or a ``str`` naming a dynamic dimension whose range lives in
``IOSpec.dims``.  Shape-tensor inputs (0-D int32 values the engine reads on the host, such as a step cap)
have ``shape == ()`` and ``is_shape_tensor``; their range is the value range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, Union

Dimension = Union[int, str]


class SpecError(ValueError):
    """An I/O spec or a feed does not fit; the message names the tensor, the dimension and the values."""


@dataclass(frozen=True)
class DimRange:
    """min ≤ opt ≤ max for one named dimension (or one shape-tensor value)."""

    min: int
    opt: int
    max: int

    def __post_init__(self) -> None:
        if not 0 <= self.min <= self.opt <= self.max:
            raise SpecError(f"range needs 0 <= min <= opt <= max, got min={self.min} opt={self.opt} max={self.max}")

    def contains(self, value: int) -> bool:
        return self.min <= value <= self.max

    def to_list(self) -> list[int]:
        return [self.min, self.opt, self.max]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[Dimension, ...]
    is_shape_tensor: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape),
                "is_shape_tensor": self.is_shape_tensor}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "TensorSpec":
        return cls(d["name"], d["dtype"], tuple(d["shape"]), bool(d.get("is_shape_tensor", False)))

    def concrete(self, dims: Mapping[str, int]) -> tuple[int, ...]:
        """The shape with every named dimension replaced by its value in ``dims``."""
        out = []
        for d in self.shape:
            if isinstance(d, str):
                if d not in dims:
                    raise SpecError(f"tensor '{self.name}': dimension '{d}' has no value; known: {sorted(dims)}")
                out.append(int(dims[d]))
            else:
                out.append(int(d))
        return tuple(out)


@dataclass(frozen=True)
class IOSpec:
    """Inputs, outputs and the named dimension ranges (one entry per optimization profile)."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    dims: Mapping[str, DimRange] = field(default_factory=dict)
    profiles: tuple[Mapping[str, DimRange], ...] = ()

    def input(self, name: str) -> TensorSpec:
        return _find(self.inputs, name, "input")

    def output(self, name: str) -> TensorSpec:
        return _find(self.outputs, name, "output")

    def all_profiles(self) -> tuple[Mapping[str, DimRange], ...]:
        """The optimization profiles: explicit ones, or the single profile given by ``dims``."""
        return self.profiles or (self.dims,)

    def profile_shapes(self, profile: Mapping[str, DimRange], spec: TensorSpec) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) shapes of an input, or (min, opt, max) values for a shape tensor."""
        if spec.is_shape_tensor:
            r = profile[spec.name]
            return ((r.min,), (r.opt,), (r.max,))
        picks = []
        for attr in ("min", "opt", "max"):
            picks.append(spec.concrete({k: getattr(v, attr) for k, v in profile.items()}))
        return tuple(picks)

    def bind_dims(self, shapes: Mapping[str, Sequence[int]], profile: int = 0) -> dict[str, int]:
        """Check feed shapes against the spec; return the value of every named dimension."""
        ranges = self.all_profiles()[profile]
        dims: dict[str, int] = {}
        for spec in self.inputs:
            if spec.name not in shapes:
                raise SpecError(f"input '{spec.name}' is missing; expected inputs {[s.name for s in self.inputs]}")
            actual = tuple(int(v) for v in shapes[spec.name])
            if spec.is_shape_tensor:
                _check_range(ranges, spec.name, spec.name, actual[0] if actual else 0)
                continue
            if len(actual) != len(spec.shape):
                raise SpecError(f"input '{spec.name}': expected rank {len(spec.shape)} {list(spec.shape)}, "
                                f"got shape {list(actual)}")
            for axis, (want, got) in enumerate(zip(spec.shape, actual)):
                if isinstance(want, int):
                    if want != got:
                        raise SpecError(f"input '{spec.name}' axis {axis}: expected {want}, got {got} "
                                        f"(shape {list(actual)})")
                    continue
                if want in dims and dims[want] != got:
                    raise SpecError(f"input '{spec.name}' axis {axis}: dimension '{want}' is {got} here but "
                                    f"{dims[want]} in another input")
                _check_range(ranges, spec.name, want, got)
                dims[want] = got
        extra = sorted(set(shapes) - {s.name for s in self.inputs})
        if extra:
            raise SpecError(f"unknown inputs {extra}; expected {[s.name for s in self.inputs]}")
        return dims

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
            "dims": {k: v.to_list() for k, v in self.dims.items()},
            "profiles": [{k: v.to_list() for k, v in p.items()} for p in self.profiles],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "IOSpec":
        return cls(
            inputs=tuple(TensorSpec.from_json(s) for s in d["inputs"]),
            outputs=tuple(TensorSpec.from_json(s) for s in d["outputs"]),
            dims={k: DimRange(*v) for k, v in d.get("dims", {}).items()},
            profiles=tuple({k: DimRange(*v) for k, v in p.items()} for p in d.get("profiles", [])),
        )


def _find(specs: Sequence[TensorSpec], name: str, kind: str) -> TensorSpec:
    for s in specs:
        if s.name == name:
            return s
    raise SpecError(f"no {kind} named '{name}'; {kind}s are {[s.name for s in specs]}")


def _check_range(ranges: Mapping[str, DimRange], tensor: str, dim: str, value: int) -> None:
    if dim not in ranges:
        raise SpecError(f"tensor '{tensor}': dimension '{dim}' has no declared range; declared: {sorted(ranges)}")
    r = ranges[dim]
    if not r.contains(value):
        raise SpecError(f"tensor '{tensor}': dimension '{dim}' = {value} is outside the profile range "
                        f"[{r.min}, {r.max}]")
