"""The neutral weights file: one HDF5 per model, config JSON in the root attributes, one dataset per tensor.

Layout (``docs/hdf5_schema.md``): root attributes ``format_version`` (int), ``architecture``, ``config``
(``config.to_json()``), ``source_file``, ``source_sha256``, ``extractor_version``, ``created`` (ISO-8601 UTC);
datasets flat at the root under dotted PyTorch keys (``decoder.attention_rnn.weight_ih``), shapes as in
``schema.expected_shapes(config)``.  Writes are atomic (temp file in the same directory, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from ..version import __version__
from .config import CONFIG_CLASSES, ConfigError, _ConfigBase
from .errors import WeightsFormatError
from .schema import check_shapes, expected_shapes

FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
REQUIRED_ATTRS = ("format_version", "architecture", "config", "source_file", "source_sha256",
                  "extractor_version", "created")
FLOAT_KINDS = ("f",)  # float16 / float32 / float64 datasets only


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes (checkpoints and weights files alike).  Remembered per (path, size, mtime)
    for the process, so building six engines from one 350 MB file hashes it once."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def validate_arrays(arrays: Mapping[str, Any], config: _ConfigBase, source: str, context: str = "") -> None:
    """Key set and shapes of ``arrays`` (anything with ``.shape``/``.dtype``) against ``expected_shapes(config)``;
    every tensor must be floating point.  Raises WeightKeysError / WeightsFormatError naming ``source``."""
    check_shapes({k: tuple(a.shape) for k, a in arrays.items()}, expected_shapes(config), source, context)
    bad = sorted(f"{k} ({a.dtype})" for k, a in arrays.items() if np.dtype(a.dtype).kind not in FLOAT_KINDS)
    if bad:
        raise WeightsFormatError(source, f"{context + ': ' if context else ''}non-float tensors: {', '.join(bad)}")


def write_weights(path: str | os.PathLike, config: _ConfigBase, arrays: Mapping[str, np.ndarray],
                  source_path: str | os.PathLike, source_sha256: str) -> Path:
    """Validate ``arrays`` against ``expected_shapes(config)`` and write them atomically to ``path``."""
    path = Path(path)
    validate_arrays(arrays, config, str(path), "refusing to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{path}: output directory {parent} does not exist")
    tmp = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"  # same directory: os.replace stays atomic
    try:
        with h5py.File(tmp, "x") as f:
            f.attrs.update({
                "format_version": FORMAT_VERSION, "architecture": config.architecture, "config": config.to_json(),
                "source_file": Path(source_path).name, "source_sha256": source_sha256,
                "extractor_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            })
            for key in sorted(arrays):
                f.create_dataset(key, data=np.ascontiguousarray(arrays[key]))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


class H5Arrays(Mapping[str, np.ndarray]):
    """Read-only, lazy ``key → np.ndarray`` over an open weights file; each lookup reads one dataset."""

    def __init__(self, f: h5py.File, path: str):
        self._f, self.path = f, path
        self._keys = sorted(f.keys())

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._f:
            raise KeyError(key)
        return self._f[key][()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._f

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "H5Arrays":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _attr(attrs: Mapping[str, Any], name: str) -> Any:
    value = attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.item() if isinstance(value, np.generic) else value


def _read_attrs(f: h5py.File, path: str) -> dict[str, Any]:
    missing = [a for a in REQUIRED_ATTRS if a not in f.attrs]
    if missing:
        raise WeightsFormatError(path, f"not a trtnet weights file: root attribute(s) {missing} missing")
    attrs = {name: _attr(f.attrs, name) for name in f.attrs}
    version = attrs["format_version"]
    if not isinstance(version, int) or version not in SUPPORTED_FORMAT_VERSIONS:
        raise WeightsFormatError(path, f"format_version {version!r} is not supported: this trtnet ({__version__}) "
                                       f"reads format_version {list(SUPPORTED_FORMAT_VERSIONS)}")
    if attrs["architecture"] not in CONFIG_CLASSES:
        raise WeightsFormatError(path, f"architecture {attrs['architecture']!r} is unknown; "
                                       f"known: {sorted(CONFIG_CLASSES)}")
    return attrs


def read_weights(path: str | os.PathLike) -> tuple[_ConfigBase, H5Arrays, dict[str, Any]]:
    """Open and validate a weights file: ``(config, lazy arrays, root attrs)``; close the arrays when done."""
    path = str(path)
    if not os.path.isfile(path):
        raise WeightsFormatError(path, "no such file")
    if not h5py.is_hdf5(path):
        raise WeightsFormatError(path, "not an HDF5 file")
    f = h5py.File(path, "r")
    try:
        attrs = _read_attrs(f, path)
        try:
            config = CONFIG_CLASSES[attrs["architecture"]].from_json(attrs["config"])
        except (ConfigError, TypeError, ValueError) as e:
            raise WeightsFormatError(path, f"bad 'config' attribute: {e}") from None
        groups = sorted(k for k, v in f.items() if not isinstance(v, h5py.Dataset))
        if groups:
            raise WeightsFormatError(path, f"unexpected groups {groups}: tensors are flat datasets at the root")
        arrays = H5Arrays(f, path)
        validate_arrays({k: f[k] for k in arrays}, config, path)  # h5py datasets: metadata only, no data read
    except BaseException:
        f.close()
        raise
    return config, arrays, attrs
