"""What the emulated engine needs to know about bound addresses, and the copies around its host execution.

Everything goes through the engine's :class:`~trtnet.runtime.cuda.CudaApi` (``api``): cuda-python on a GPU machine
(device↔host copies on the session's stream), or the host-memory stand-in of :mod:`.host_cuda` without a GPU.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from ..runtime.cuda import CudaApi

DEVICE, HOST = "device", "host"


def memory_kind(api: CudaApi, ptr: int) -> str:
    """``"device"`` for device (or managed) memory, ``"host"`` for pinned or ordinary host memory."""
    attrs = api.call("cudaPointerGetAttributes", int(ptr))
    kind = int(attrs.type)
    return DEVICE if kind in (2, 3) else HOST          # cudaMemoryTypeDevice, cudaMemoryTypeManaged


def allocation(api: CudaApi, ptr: int) -> tuple[int, int] | None:
    """(base, size) of the device allocation containing ``ptr``, or None when it is in none."""
    if api.module is not None:
        err, base, size = api.module.cuMemGetAddressRange(int(ptr))
    else:
        from cuda.bindings import driver
        err, base, size = driver.cuMemGetAddressRange(int(ptr))
    if int(err) != 0:
        return None
    return int(base), int(size)


def bytes_left(api: CudaApi, ptr: int) -> int | None:
    """Bytes from ``ptr`` to the end of its device allocation (None: not in a device allocation)."""
    found = allocation(api, ptr)
    return None if found is None else found[0] + found[1] - int(ptr)


def last_write(api: CudaApi, ptr: int) -> tuple[int, int] | None:
    """(start, bytes) of the last write into the allocation holding ``ptr``: known on the host stand-in only."""
    return None if api.module is None else api.module.last_write(int(ptr))


def _stream(api: CudaApi, handle: int) -> Any:
    if api.module is not None:
        return int(handle)
    return api.cudart.cudaStream_t(int(handle))


def is_capturing(api: CudaApi, handle: int) -> bool:
    """True while ``handle``'s stream is being captured into a CUDA graph."""
    status = api.call("cudaStreamIsCapturing", _stream(api, handle))
    return int(status) != 0


def synchronize(api: CudaApi, handle: int) -> None:
    api.call("cudaStreamSynchronize", _stream(api, handle))


def download(api: CudaApi, ptr: int, dtype: np.dtype, shape: tuple[int, ...], handle: int) -> np.ndarray:
    """Copy a tensor from device memory at ``ptr`` (the stream's earlier work must be done: synchronize first)."""
    out = np.empty(shape, dtype)
    if out.nbytes:
        kind = api.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        api.call("cudaMemcpyAsync", out.ctypes.data, int(ptr), out.nbytes, kind, _stream(api, handle))
    return out


def upload(api: CudaApi, ptr: int, value: np.ndarray, handle: int) -> None:
    """Copy ``value`` to device memory at ``ptr`` on the stream (keep ``value`` alive until it is synchronized)."""
    if value.nbytes:
        kind = api.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        api.call("cudaMemcpyAsync", int(ptr), value.ctypes.data, value.nbytes, kind, _stream(api, handle))


def read_host_scalar(ptr: int, dtype: np.dtype) -> int:
    """The value of a 0-D shape tensor in host memory at ``ptr``."""
    ctype = {np.dtype(np.int32): ctypes.c_int32, np.dtype(np.int64): ctypes.c_int64}[np.dtype(dtype)]
    return int(ctype.from_address(int(ptr)).value)
