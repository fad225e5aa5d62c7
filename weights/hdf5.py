"""The neutral weights file: one HDF5 per model, config JSON in the root attributes, one dataset per tensor.

Layout (``docs/hdf5_schema.md``): root attributes ``format_version`` (int), ``architecture``, ``config``
(``config.to_json()``), ``source_file``, ``source_sha256``, ``extractor_version``, ``created`` (ISO-8601 UTC),
``content_sha256`` (``checks.py``); datasets flat at the root under dotted PyTorch keys
(``decoder.attention_rnn.weight_ih``), shapes as in ``schema.expected_shapes(config)``.  Writes are atomic (temp
file in the same directory, then a rename that never replaces an existing file unless asked to).  Reads check
the layout, then every value (``content_sha256``, finiteness) once per file state and process.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from ..files import file_state
from ..version import __version__
from . import checks
from .config import CONFIG_CLASSES, ConfigError, _ConfigBase
from .errors import (ContentHashError, NonFiniteWeightError, OutputPathError, WeightsFormatError,
                     WrongArchitectureError)
from .schema import check_shapes, expected_shapes

FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
REQUIRED_ATTRS = ("format_version", "architecture", "config", "source_file", "source_sha256",
                  "extractor_version", "created")
FLOAT_KINDS = ("f",)  # float16 / float32 / float64 datasets only


OPEN_HINT = "engines cannot be built from it: re-extract it from a checkpoint with finite weights"
def validate_arrays(arrays: Mapping[str, Any], config: _ConfigBase, source: str, context: str = "") -> None:
    """Key set and shapes of ``arrays`` (anything with ``.shape``/``.dtype``) against ``expected_shapes(config)``;
    every tensor must be floating point.  Raises WeightKeysError / WeightsFormatError naming ``source``."""
    check_shapes({k: tuple(a.shape) for k, a in arrays.items()}, expected_shapes(config), source, context)
    bad = sorted(f"{k} ({a.dtype})" for k, a in arrays.items() if np.dtype(a.dtype).kind not in FLOAT_KINDS)
    if bad:
        raise WeightsFormatError(source, f"{context + ': ' if context else ''}non-float tensors: {', '.join(bad)}")


def check_output_path(path: str | os.PathLike, *, input_path: str | os.PathLike | None = None,
                      overwrite: bool = False) -> Path:
    """Refuse an output that is the input file itself (also through a symlink or hard link), an existing file
    unless ``overwrite``, a directory, or a directory that is missing or cannot be written (probed with a
    temp file, which is removed)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if input_path is not None and path.exists() and os.path.exists(input_path) and os.path.samefile(path, input_path):
        raise OutputPathError(str(path), f"is the input {input_path} itself (same file); choose another output path")
    if path.is_dir():
        raise OutputPathError(str(path), "is a directory; give a file path such as DIR/model.h5")
    if path.exists() and not overwrite:
        raise OutputPathError(str(path), "exists; pass --force (overwrite=True) to replace it")
    if not parent.is_dir():
        raise OutputPathError(str(path), f"output directory {parent} does not exist")
    check_writable_dir(parent, path.name)
    return path


def check_writable_dir(directory: Path, name: str) -> None:
    """OutputPathError unless a file can be created in ``directory`` (probed with a temp file, then removed)."""
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".probe")
    except OSError as e:
        raise OutputPathError(str(directory), f"cannot write {name} here ({e.strerror or e}); choose another "
                                              "output directory") from None
    os.close(fd)
    os.unlink(probe)


def write_weights(path: str | os.PathLike, config: _ConfigBase, arrays: Mapping[str, np.ndarray],
                  source_path: str | os.PathLike, source_sha256: str, *, overwrite: bool = False,
                  source_format: str = "") -> Path:
    """Validate ``arrays`` against ``expected_shapes(config)`` and write them atomically to ``path``, with their
    ``content_sha256``.  An existing ``path`` is replaced only when ``overwrite``.  ``source_format`` says which
    checkpoint layout it was read from (``weights.checkpoint.source_description``)."""
    path = Path(path)
    validate_arrays(arrays, config, str(path), "refusing to write")
    check_output_path(path, input_path=source_path, overwrite=overwrite)
    parent = path.parent if str(path.parent) else Path(".")
    config_json = config.to_json()
    digest = checks.content_sha256(config.architecture, config_json, source_sha256, arrays)
    tmp = parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"  # same directory: the rename stays atomic
    try:
        f = h5py.File(tmp, "x")
    except OSError as e:
        raise OutputPathError(str(parent), f"cannot write {path.name} here ({e.strerror or e}); choose another "
                                           "output directory") from None
    try:
        with f:
            f.attrs.update({
                "format_version": FORMAT_VERSION, "architecture": config.architecture, "config": config_json,
                "source_file": Path(source_path).name, "source_sha256": source_sha256,
                "source_format": source_format, "extractor_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                checks.CONTENT_ATTR: digest,
            })
            for key in sorted(arrays):
                f.create_dataset(key, data=np.ascontiguousarray(arrays[key]))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _rename(tmp, path, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def _rename(tmp: Path, path: Path, overwrite: bool) -> None:
    """``tmp`` → ``path``; without ``overwrite`` a hard link makes "only if absent" atomic."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputPathError(str(path), "appeared while writing; pass --force (overwrite=True) to replace it"
                              ) from None
    except OSError:  # a file system without hard links: check, then rename
        if path.exists():
            raise OutputPathError(str(path), "exists; pass --force (overwrite=True) to replace it") from None
        os.replace(tmp, path)


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


def _open(path: str) -> h5py.File:
    if not os.path.isfile(path):
        raise WeightsFormatError(path, "no such file")
    try:
        if not h5py.is_hdf5(path):
            raise WeightsFormatError(path, "not an HDF5 file")
        return h5py.File(path, "r")
    except OSError as e:
        detail = str(e).split("(", 1)[-1].rstrip(")") if "(" in str(e) else str(e)
        raise WeightsFormatError(path, f"cannot read it as HDF5 (truncated or corrupt?): {detail}; re-extract it"
                                 ) from None


def peek_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The root attributes only (format version and architecture checked; no tensor is read)."""
    path = str(path)
    with _open(path) as f:
        return _read_attrs(f, path)


def _check_layout(f: h5py.File, path: str) -> None:
    """Every entry is a plain dataset stored inside this file (no groups, links, external or virtual data)."""
    groups, foreign = [], []
    for key in f:
        link = f.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            foreign.append(f"{key} ({type(link).__name__})")
            continue
        obj = f[key]
        if not isinstance(obj, h5py.Dataset):
            groups.append(key)
        elif obj.external or obj.is_virtual:
            foreign.append(f"{key} ({'external' if obj.external else 'virtual'} storage)")
    if groups:
        raise WeightsFormatError(path, f"unexpected groups {sorted(groups)}: tensors are flat datasets at the root")
    if foreign:
        raise WeightsFormatError(path, f"entries stored outside the file: {sorted(foreign)}; trtnet files keep "
                                       "every tensor inside the file: re-extract it")


def _verify_values(f: h5py.File, path: str, attrs: dict[str, Any], state: tuple) -> dict[str, int]:
    """Check ``content_sha256`` (and count NaN/Inf) unless this file state already passed in this process.
    ``state`` was taken before the file was opened; the result is remembered only if it still holds."""
    known = checks.remembered(state)
    if known is not None:
        return known
    recorded = attrs.get(checks.CONTENT_ATTR)
    if not isinstance(recorded, str):
        raise ContentHashError(path, f"no {checks.CONTENT_ATTR} attribute (extracted by trtnet "
                                     f"{attrs.get('extractor_version')}, before files carried a hash of their "
                                     "contents): re-extract it with trtnet extract-weights CHECKPOINT -o FILE --force")

    def items():
        for key in sorted(f):
            try:
                yield key, f[key][()]
            except OSError as e:
                raise WeightsFormatError(path, f"cannot read dataset {key!r} (corrupt?): {e}; re-extract it") from None

    actual, counts = checks.hash_and_count(attrs["architecture"], attrs["config"], str(attrs["source_sha256"]),
                                           items())
    if actual != recorded:
        raise ContentHashError(path, f"contents differ from the {checks.CONTENT_ATTR} written at extraction "
                                     f"(recorded {recorded[:12]}…, now {actual[:12]}…): the file was edited or is "
                                     "corrupt; re-extract it", recorded, actual)
    if file_state(path) == state:  # not replaced or rewritten while it was read
        checks.remember(state, counts)
    return counts


def read_weights(path: str | os.PathLike, architecture: str | None = None, *,
                 allow_nonfinite: bool = False) -> tuple[_ConfigBase, H5Arrays, dict[str, Any]]:
    """Open and validate a weights file: ``(config, lazy arrays, root attrs)``; close the arrays when done.

    Checks the format version, the ``architecture`` when given, the config, the key set, shapes and dtypes,
    the symbol table, then every value: ``content_sha256`` and NaN/Inf (refused unless ``allow_nonfinite``).
    """
    path = str(path)
    state = file_state(path) if os.path.isfile(path) else None
    f = _open(path)
    try:
        attrs = _read_attrs(f, path)
        if architecture is not None and attrs["architecture"] != architecture:
            raise WrongArchitectureError(path, attrs["architecture"], architecture)
        try:
            config = CONFIG_CLASSES[attrs["architecture"]].from_json(attrs["config"])
        except (ConfigError, TypeError, ValueError) as e:
            raise WeightsFormatError(path, f"bad 'config' attribute: {e}") from None
        _check_layout(f, path)
        arrays = H5Arrays(f, path)
        validate_arrays({k: f[k] for k in arrays}, config, path)  # h5py datasets: metadata only, no data read
        checks.check_symbol_table(config, path)
        counts = _verify_values(f, path, attrs, state)
        if counts and not allow_nonfinite:
            raise NonFiniteWeightError(path, counts, OPEN_HINT)
    except BaseException:
        f.close()
        raise
    return config, arrays, attrs
