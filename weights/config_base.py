"""The base of every model configuration: ranges, checks, JSON round trip (``weights.config`` has the models)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Mapping, NamedTuple, TypeVar

C = TypeVar("C", bound="_ConfigBase")


class ConfigError(ValueError):
    """A config value is missing, unknown or inconsistent; the message names the field and the values.
    ``field``, ``value`` and ``allowed`` are set when one value is out of its range."""

    def __init__(self, message: str, field: str | None = None, value: Any = None, allowed: str | None = None):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(message)


class Range(NamedTuple):
    """The values a field accepts: an int or a finite number within [low, high] (open ends excluded)."""

    kind: type
    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        what = "an int" if self.kind is int else "a finite number"
        if self.high is None:
            return f"{what} {'>' if self.low_open else '>='} {self.low:g}"
        return f"{what} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value) or value < self.low or (self.low_open and value == self.low):
            return False
        return self.high is None or value < self.high or (value == self.high and not self.high_open)


POSITIVE_INT = Range(int, 1)
#: Fields whose range is not "an int >= 1" (every architecture size is).
RANGES: dict[str, Range] = {
    "max_decoder_steps": Range(int, 1),
    "gate_threshold": Range(float, 0, 1, low_open=True, high_open=True),
    "prenet_dropout": Range(float, 0, 1, high_open=True),
    "n_early_size": Range(int, 0),
    "sigma": Range(float, 0),
    "denoiser_strength": Range(float, 0),
    "mel_fmin": Range(float, 0),
    "mel_fmax": Range(float, 0, low_open=True),
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (config values must be finite)")


@dataclass(frozen=True)
class _ConfigBase:
    architecture: ClassVar[str] = ""
    runtime_fields: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            checked = check_value(type(self), f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any]) -> C:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{cls.__name__}: the config is a {type(data).__name__}, expected a dict of fields "
                              f"such as {[f.name for f in fields(cls)][:3]}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - known)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown config keys {unknown}; known keys are {sorted(known)}")
        return cls(**dict(data))

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        return cls.from_dict(json.loads(text, parse_constant=_reject_constant))

    def architecture_dict(self) -> dict[str, Any]:
        """The fields that shape the weights (everything but the runtime settings)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.runtime_fields}

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def field_range(cls: type[_ConfigBase], name: str) -> Range:
    """The range of ``cls``'s field ``name`` (floats keep their own rule, sizes are ints >= 1)."""
    return RANGES.get(name, POSITIVE_INT)


def check_value(cls: type[_ConfigBase], name: str, value: Any, label: str | None = None) -> Any:
    """``value`` if it lies in the field's range (an int-valued float is not an int; a float field takes an
    int as float), else ConfigError naming ``label`` (default ``Class.field``), the range and the value."""
    rule = field_range(cls, name)
    if rule.accepts(value):
        return float(value) if rule.kind is float and not isinstance(value, float) else value
    label = label or f"{cls.__name__}.{name}"
    raise ConfigError(f"{label} must be {rule.describe()}, got {value!r}", name, value, rule.describe())
