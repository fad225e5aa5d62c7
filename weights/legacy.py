"""Full-model pickles in the legacy (pre-zip, PyTorch < 1.6) ``torch.save`` format, read without running them.

Why a second reader: a legacy file records every ``nn.Module`` class as a persistent id ``('module', <class>,
<source file>, <source text>)``, and torch's weights-only unpickler allows persistent ids of storages only, so it
refuses these files whatever is allowlisted.  This reader is a ``pickle.Unpickler`` whose ``find_class`` returns
only the inert stand-ins of ``weights.pickles`` and the few tensor-rebuilding globals module pickles use
(:data:`PLAIN_GLOBALS`); any other global is refused with its name.  The ``'module'`` id yields the stand-in class
(the saved source text is never looked at); the ``'storage'`` id yields a CPU storage that is filled from the
file afterwards.  Nothing from the file is called but the allowlisted functions.

Layout (as ``torch.save(..., _use_new_zipfile_serialization=False)`` writes it): pickles of the magic number, the
protocol version and the system info; the main pickle; a pickle of the storage keys; then, per key in that order,
an int64 element count and the raw little-endian bytes.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import pickle
import struct
from typing import Any, BinaryIO

import torch
from torch import _weights_only_unpickler

from . import pickles

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
PLAIN_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": collections.OrderedDict,
    "builtins.set": set,
    "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
    "torch.Size": torch.Size,
    "torch.device": torch.device,
    "_codecs.encode": codecs.encode,  # bytes in protocol-2 pickles
}
_STORAGE_MODULES = ("torch", "torch.cuda")


def _py3_name(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (``__builtin__.set``) → Python 3, as pickle's own ``fix_imports`` does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _text(value: Any) -> Any:
    return value.decode("ascii") if isinstance(value, bytes) else value


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: BinaryIO):
        super().__init__(f, encoding="utf-8")
        self.storages: dict[str, tuple[torch.UntypedStorage, torch.dtype, int]] = {}
        self.views: dict[str, torch.storage.TypedStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        module, name = _py3_name(module, name)
        full = f"{module}.{name}"
        if full in pickles.STAND_INS:
            return pickles.STAND_INS[full]
        if full == pickles.THNN_BACKEND:
            return pickles._thnn_backend
        if full in PLAIN_GLOBALS:
            return PLAIN_GLOBALS[full]
        if module in _STORAGE_MODULES and name.endswith("Storage"):
            try:
                return torch.serialization.StorageType(name)  # a dtype holder, nothing more
            except (AttributeError, KeyError):
                pass
        raise pickle.UnpicklingError(f"Unsupported global: GLOBAL {full} is not allowed in a checkpoint")

    def persistent_load(self, pid: Any) -> Any:
        kind = _text(pid[0]) if isinstance(pid, tuple) and pid else None
        if kind == "module" and len(pid) >= 2:
            cls = pid[1]
            if isinstance(cls, type) and issubclass(cls, pickles.StandIn):
                return cls
            raise pickle.UnpicklingError(f"persistent id 'module' names {cls!r}, not an allowed module class")
        if kind == "storage" and len(pid) == 6:
            return self._storage(*pid[1:])
        raise pickle.UnpicklingError(f"unsupported persistent id {kind!r}")

    def _storage(self, storage_type: Any, key: Any, _location: Any, numel: Any, view: Any) -> Any:
        dtype = getattr(storage_type, "dtype", None)
        if not isinstance(dtype, torch.dtype) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"malformed storage record {key!r}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = (torch.UntypedStorage(numel * torch._utils._element_size(dtype)), dtype, numel)
        root, root_dtype, _ = self.storages[key]
        if view is None:
            return torch.storage.TypedStorage(wrap_storage=root, dtype=root_dtype, _internal=True)
        view_key, offset, size = view
        size_of = torch._utils._element_size(root_dtype)
        if str(view_key) not in self.views:
            self.views[str(view_key)] = torch.storage.TypedStorage(
                wrap_storage=root[offset * size_of:(offset + size) * size_of], dtype=root_dtype, _internal=True)
        return self.views[str(view_key)]


def _header(f: BinaryIO) -> Any:
    return _weights_only_unpickler.load(f, encoding="utf-8")  # plain ints and dicts


def load_legacy(path: str) -> Any:
    """The object of a legacy ``torch.save`` file, tensors on the CPU.  ``pickle.UnpicklingError`` when the pickle
    needs anything outside the allowlist; ``ValueError`` when the file is malformed or truncated."""
    with open(path, "rb") as f:
        if _header(f) != MAGIC_NUMBER:
            raise ValueError("not a legacy torch.save file (wrong magic number)")
        if _header(f) != PROTOCOL_VERSION:
            raise ValueError("unsupported legacy torch.save protocol version")
        info = _header(f)
        if not (isinstance(info, dict) and info.get("little_endian", True)):
            raise ValueError("saved on a big-endian machine; re-save it on a little-endian one")
        unpickler = _Unpickler(f)
        result = unpickler.load()
        keys = _header(f)
        if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(unpickler.storages):
            raise ValueError("the storage key list does not match the storages the pickle uses")
        for key in map(str, keys):
            storage, dtype, numel = unpickler.storages[key]
            head = f.read(8)
            count = struct.unpack("<q", head)[0] if len(head) == 8 else -1
            if count != numel:
                raise ValueError(f"storage {key}: {count} elements recorded, {numel} expected (truncated?)")
            raw = f.read(storage.nbytes())
            if len(raw) != storage.nbytes():
                raise ValueError(f"storage {key}: {len(raw)} of {storage.nbytes()} bytes (truncated file)")
            if raw:
                torch.empty(0, dtype=torch.uint8).set_(storage).copy_(torch.frombuffer(bytearray(raw), dtype=torch.uint8))
    return result
