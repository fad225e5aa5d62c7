"""WeightStore: the one strict way graph code reads weights.

Every ``get`` is recorded; a missing key, a wrong shape, or (after a network is built) a weight nobody read
raises with the key, the store and the values.  ``scoped("decoder.attention_rnn")`` gives a view whose keys are
relative to that prefix and that shares the record, so layer code reads ``get("weight_ih")`` under its own scope.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..files import file_sha256
from .config import _ConfigBase
from .errors import MissingWeightError, UnusedWeightError, WeightShapeError
from .hdf5 import read_weights, validate_arrays

log = logging.getLogger(__name__)


@dataclass
class _Shared:
    """State common to a store and all its scoped views."""

    config: _ConfigBase
    arrays: Mapping[str, Any]
    name: str
    path: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    file_sha256: str | None = None


def _under(key: str, prefix: str) -> bool:
    """``key`` lies under ``prefix`` ("encoder" and "encoder." both match "encoder.lstm.weight_ih_l0")."""
    return key.startswith(prefix) if prefix.endswith(".") else key == prefix or key.startswith(prefix + ".")


class WeightStore:
    """Named, shaped, recorded access to one model's weights (HDF5 layout, ``schema.expected_shapes``)."""

    def __init__(self, shared: _Shared, prefix: str = ""):
        self._s, self.prefix = shared, prefix

    @classmethod
    def open(cls, path: str | os.PathLike, architecture: str | None = None, *,
             allow_nonfinite: bool = False) -> "WeightStore":
        """Open and validate a weights HDF5 file: format version, ``architecture`` (when given), config, key set,
        shapes, symbol table; and, once per file state and process, its ``content_sha256`` and NaN/Inf."""
        config, arrays, attrs = read_weights(path, architecture, allow_nonfinite=allow_nonfinite)
        return cls(_Shared(config=config, arrays=arrays, name=str(path), path=str(path), attrs=attrs))

    @classmethod
    def from_arrays(cls, config: _ConfigBase, arrays: Mapping[str, np.ndarray], name: str = "<memory>", *,
                    validate: bool = True) -> "WeightStore":
        """A store over in-memory arrays; ``validate`` checks the full key set against the config."""
        if validate:
            validate_arrays(arrays, config, name)
        return cls(_Shared(config=config, arrays=dict(arrays), name=name))

    # -- identity ---------------------------------------------------------------------------------------------
    @property
    def config(self) -> _ConfigBase:
        return self._s.config

    @property
    def architecture(self) -> str:
        return self._s.config.architecture

    @property
    def name(self) -> str:
        return self._s.name

    @property
    def attrs(self) -> dict[str, Any]:
        """Root attributes of the HDF5 file (empty for an in-memory store)."""
        return dict(self._s.attrs)

    @property
    def source_sha256(self) -> str | None:
        """sha256 of the checkpoint the file was extracted from (None in memory)."""
        return self._s.attrs.get("source_sha256")

    @property
    def file_sha256(self) -> str | None:
        """sha256 of the HDF5 file itself: the engine's weights hash (None in memory); computed once."""
        if self._s.file_sha256 is None and self._s.path is not None:
            self._s.file_sha256 = file_sha256(self._s.path)
        return self._s.file_sha256

    # -- access -----------------------------------------------------------------------------------------------
    def _full(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def keys(self) -> list[str]:
        """Keys under this view's prefix, relative to it."""
        cut = len(self.prefix) + 1 if self.prefix else 0
        return [k[cut:] for k in sorted(self._s.arrays) if not self.prefix or _under(k, self.prefix)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._full(key) in self._s.arrays

    def get(self, key: str, shape: Sequence[int | None] | None = None, dtype: Any = None) -> np.ndarray:
        """The read-only array at ``prefix.key``; ``shape`` is checked (None = any size), ``dtype`` casts."""
        full = self._full(key)
        if full not in self._s.arrays:
            close = difflib.get_close_matches(full, list(self._s.arrays), n=3, cutoff=0.6)
            raise MissingWeightError(full, self._s.name, close)
        arr = np.asarray(self._s.arrays[full])
        if shape is not None:
            want = tuple(shape)
            if len(want) != arr.ndim or any(w is not None and w != a for w, a in zip(want, arr.shape)):
                raise WeightShapeError(full, self._s.name, want, arr.shape)
        self._s.used.add(full)
        arr = (arr.astype(dtype, copy=False) if dtype is not None else arr).view()  # a view: the source stays
        arr.flags.writeable = False  # writable for its owner
        return arr

    def scoped(self, prefix: str) -> "WeightStore":
        """A view reading ``prefix.key`` for ``get(key)``; shares config, arrays and the read record."""
        return WeightStore(self._s, self._full(prefix.strip(".")))

    # -- bookkeeping ------------------------------------------------------------------------------------------
    def _prefixes(self, prefixes: Iterable[str] | str | None) -> tuple[str, ...]:
        if isinstance(prefixes, str):
            return (prefixes,)
        if prefixes is None:
            return (self.prefix,) if self.prefix else ()
        return tuple(prefixes)

    def used(self) -> list[str]:
        """Full keys read so far (by this store and all its views)."""
        return sorted(self._s.used)

    def unused(self, prefixes: Iterable[str] | str | None = None) -> list[str]:
        """Full keys never read, restricted to ``prefixes`` (default: this view's prefix, or everything)."""
        pre = self._prefixes(prefixes)
        return [k for k in sorted(self._s.arrays)
                if k not in self._s.used and (not pre or any(_under(k, p) for p in pre))]

    def check_all_used(self, prefixes: Iterable[str] | str | None = None, allow_unused: bool = False) -> list[str]:
        """Raise UnusedWeightError listing the unused keys (under ``prefixes``), or warn when ``allow_unused``."""
        unused = self.unused(prefixes)
        if unused and not allow_unused:
            raise UnusedWeightError(self._s.name, unused)
        if unused:
            log.warning("%s: %d weight(s) never read: %s", self._s.name, len(unused), ", ".join(unused[:12]))
        return unused

    # -- lifetime ---------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HDF5 file (no-op in memory)."""
        closer = getattr(self._s.arrays, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> "WeightStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        scope = f", scope={self.prefix!r}" if self.prefix else ""
        return f"WeightStore({self._s.name!r}, {self.architecture}, {len(self._s.arrays)} tensors{scope})"
