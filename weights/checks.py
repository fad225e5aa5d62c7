"""Checks of a weights file's values, run when it is written and again whenever it is opened.

* ``content_sha256``: one sha256 over what the engines are made of: the architecture, the config JSON, the
  source checkpoint's sha256 and every tensor (sorted keys; key, little-endian dtype, shape, then the raw
  bytes).  Written at extraction; a file whose tensors or config were edited no longer matches it.
* Finiteness: NaN/Inf in any tensor.
* The embedding's row count against the text front end's symbol table.

Reading every tensor of a 350 MB file takes a second or two, so a file state that passed is remembered for
the rest of the process, keyed by (real path, size, mtime_ns, inode, ctime_ns): any rewrite, replacement or
``os.utime`` changes the key.  Each new process checks again on its first open.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

import numpy as np

from ..files import forget_digests
from .config import FastPitchConfig, Tacotron2Config, _ConfigBase

DLE_SYMBOL_SET = "english_basic"  # FastPitch's symbol set whose ids are runtime.text's table
from .errors import SymbolTableError, WeightsError

CONTENT_ATTR = "content_sha256"
_DOMAIN = b"trtnet weights content v1\0"

_VERIFIED: dict[tuple, dict[str, int]] = {}  # file state → non-finite counts found by the full check


def _canonical(array: np.ndarray) -> np.ndarray:
    """C-ordered, little-endian: the bytes hashed do not depend on how the array was laid out in memory."""
    a = np.asarray(array)
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))


class ContentHasher:
    """Feeds tensors in sorted key order; ``hexdigest()`` is the file's ``content_sha256``."""

    def __init__(self, architecture: str, config_json: str, source_sha256: str):
        self._h = hashlib.sha256(_DOMAIN)
        for part in (architecture, config_json, source_sha256):
            data = str(part).encode("utf-8")
            self._h.update(len(data).to_bytes(8, "little") + data)
        self._last: str | None = None

    def add(self, key: str, array: np.ndarray) -> None:
        if self._last is not None and key <= self._last:
            raise ValueError(f"tensors must be hashed in sorted key order: {key!r} after {self._last!r}")
        self._last = key
        a = _canonical(array)
        head = f"{key}\0{a.dtype.str}\0{','.join(map(str, a.shape))}\0".encode("utf-8")
        self._h.update(len(head).to_bytes(8, "little") + head)
        self._h.update(a.reshape(-1).view(np.uint8))

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def content_sha256(architecture: str, config_json: str, source_sha256: str,
                   arrays: Mapping[str, np.ndarray]) -> str:
    """The ``content_sha256`` of in-memory arrays (what ``write_weights`` records)."""
    hasher = ContentHasher(architecture, config_json, source_sha256)
    for key in sorted(arrays):
        hasher.add(key, arrays[key])
    return hasher.hexdigest()


def nonfinite_counts(arrays: Mapping[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> dict[str, int]:
    """Key → number of NaN/Inf values, for the tensors that have any."""
    items = arrays.items() if isinstance(arrays, Mapping) else arrays
    counts = {}
    for key, a in items:
        finite = np.isfinite(a)
        if not finite.all():
            counts[key] = int(a.size - np.count_nonzero(finite))
    return counts


def check_symbol_table(config: _ConfigBase, source: str) -> None:
    """A Tacotron 2 or FastPitch embedding must have one row per symbol of ``runtime.text`` (token ids index it);
    FastPitch's ``english_basic`` is that same table."""
    from ..runtime.text.symbols import SYMBOLS   # the text front end's table (imported only when checking)
    if isinstance(config, Tacotron2Config) and config.n_symbols != len(SYMBOLS):
        raise SymbolTableError(source, config.n_symbols, len(SYMBOLS))
    fastpitch = isinstance(config, FastPitchConfig)
    if fastpitch and (config.symbol_set != DLE_SYMBOL_SET or config.n_symbols != len(SYMBOLS)):
        raise SymbolTableError(source, config.n_symbols, len(SYMBOLS), key="encoder.word_emb.weight",
                               model=f"FastPitch (symbol_set {config.symbol_set}; supported: {DLE_SYMBOL_SET})")
    from ..runtime.text.frontend import CLEANERS
    if fastpitch and config.text_cleaners not in CLEANERS:
        raise WeightsError(f"{source}: config text_cleaners {config.text_cleaners!r}: this FastPitch was trained with "
                           f"cleaners trtnet does not have (expected one of {', '.join(CLEANERS)})")


def remembered(state: tuple) -> dict[str, int] | None:
    """The non-finite counts of a file state that passed the content check in this process, else None."""
    found = _VERIFIED.get(state)
    return None if found is None else dict(found)


def remember(state: tuple, counts: Mapping[str, int]) -> None:
    _VERIFIED[state] = dict(counts)


def forget_all() -> None:
    """Drop what this process remembers (tests use it to act as a fresh process)."""
    _VERIFIED.clear()
    forget_digests()


def hash_and_count(architecture: str, config_json: str, source_sha256: str,
                   items: Iterable[tuple[str, Any]]) -> tuple[str, dict[str, int]]:
    """(content_sha256, non-finite counts) in one pass over ``(key, array)`` items in sorted key order."""
    hasher = ContentHasher(architecture, config_json, source_sha256)
    counts: dict[str, int] = {}
    for key, array in items:
        hasher.add(key, array)
        counts.update(nonfinite_counts([(key, array)]))
    return hasher.hexdigest(), counts
