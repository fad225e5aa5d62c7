"""A host-memory stand-in for the CUDA runtime calls ``trtnet.runtime.cuda`` makes, for machines without a GPU.

An :class:`~trtnet.emulate.Emulator` hands it to the runtime (as ``CudaApi(HostCudaModule())``) on a machine
where cuda-python finds no device; on a GPU machine the real cuda-python is used unchanged.

It follows cuda-python's conventions: every call returns ``(cudaError_t, *values)``.  It is deliberately
strict, so a runtime bug shows here as it would on a GPU:

- "device" memory (``cudaMalloc``) and pinned memory (``cudaMallocHost``) are tracked allocations of host
  memory, 256-byte aligned; ``cudaPointerGetAttributes`` tells them apart from any other host address
  (``cudaMemoryTypeUnregistered``, as for a numpy array);
- copies check their direction: the device side of a copy must lie inside one live device allocation, and the
  host side must not be device memory; freeing twice or an unknown pointer is ``cudaErrorInvalidValue``;
- it remembers the last write into each device allocation (start and byte count of the copy or memset), so
  the emulated engine can tell when an input's buffer was last filled with another size than the tensor's
  (an upload of another dtype or shape); cuda-python has no such record, so on a GPU that check is skipped;
- work is done when it is enqueued (streams are in-order and there is nothing to overlap with), so events
  measure host time; stream capture (CUDA graphs) is ``cudaErrorNotSupported``.

``cuMemGetAddressRange`` (a driver call) gives an allocation's base and size, which the emulated engine uses to
check that bound buffers hold their tensors.
"""

from __future__ import annotations

import ctypes
import enum
import itertools
import time
from dataclasses import dataclass
from typing import Any

ALIGNMENT = 256


class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInvalidResourceHandle = 400
    cudaErrorNotSupported = 801


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2
    cudaMemcpyDeviceToDevice = 3


class cudaMemoryType(enum.IntEnum):
    cudaMemoryTypeUnregistered = 0
    cudaMemoryTypeHost = 1
    cudaMemoryTypeDevice = 2
    cudaMemoryTypeManaged = 3


class cudaStreamCaptureMode(enum.IntEnum):
    cudaStreamCaptureModeGlobal = 0
    cudaStreamCaptureModeThreadLocal = 1
    cudaStreamCaptureModeRelaxed = 2


cudaStreamNonBlocking = 1
_OK = cudaError_t.cudaSuccess
_BAD = cudaError_t.cudaErrorInvalidValue
_DESCRIPTIONS = {
    _OK: "no error",
    _BAD: "invalid argument",
    cudaError_t.cudaErrorMemoryAllocation: "out of memory",
    cudaError_t.cudaErrorInvalidResourceHandle: "invalid resource handle",
    cudaError_t.cudaErrorNotSupported: "operation not supported (host-memory CUDA stand-in)",
}


@dataclass
class _Allocation:
    raw: Any           # the ctypes buffer that owns the memory
    ptr: int           # aligned start
    size: int
    kind: str          # "device" or "pinned"
    last_write: tuple[int, int] | None = None   # (start address, bytes) of the last copy/memset into it


@dataclass
class cudaPointerAttributes:
    type: cudaMemoryType
    devicePointer: int
    hostPointer: int


class HostCuda:
    """The allocation, stream and event tables of one stand-in (one per process is enough)."""

    def __init__(self) -> None:
        self.allocations: dict[int, _Allocation] = {}
        self.streams: set[int] = set()
        self.events: dict[int, float | None] = {}
        self._ids = itertools.count(1)

    # ---- lookup -------------------------------------------------------------------------------------------
    def find(self, ptr: int, kind: str | None = None) -> _Allocation | None:
        """The live allocation containing address ``ptr`` (of ``kind`` if given)."""
        for a in self.allocations.values():
            if a.ptr <= ptr < a.ptr + max(a.size, 1) and (kind is None or a.kind == kind):
                return a
        return None

    def _inside(self, ptr: int, nbytes: int, kind: str) -> bool:
        a = self.find(ptr, kind)
        return a is not None and ptr + nbytes <= a.ptr + a.size

    # ---- memory -------------------------------------------------------------------------------------------
    def _alloc(self, nbytes: int, kind: str) -> tuple:
        nbytes = int(nbytes)
        if nbytes <= 0:
            return (_BAD, 0)
        raw = ctypes.create_string_buffer(nbytes + ALIGNMENT)
        base = ctypes.addressof(raw)
        ptr = base + (-base) % ALIGNMENT
        self.allocations[ptr] = _Allocation(raw, ptr, nbytes, kind)
        return (_OK, ptr)

    def _free(self, ptr: int, kind: str) -> tuple:
        a = self.allocations.get(int(ptr))
        if a is None or a.kind != kind:
            return (_BAD,)
        del self.allocations[int(ptr)]
        return (_OK,)

    def cudaMalloc(self, nbytes: int) -> tuple:
        return self._alloc(nbytes, "device")

    def cudaFree(self, ptr: int) -> tuple:
        return self._free(ptr, "device")

    def cudaMallocHost(self, nbytes: int) -> tuple:
        return self._alloc(nbytes, "pinned")

    def cudaFreeHost(self, ptr: int) -> tuple:
        return self._free(ptr, "pinned")

    def cudaPointerGetAttributes(self, ptr: int) -> tuple:
        a = self.find(int(ptr))
        kind = (cudaMemoryType.cudaMemoryTypeUnregistered if a is None else
                cudaMemoryType.cudaMemoryTypeDevice if a.kind == "device" else cudaMemoryType.cudaMemoryTypeHost)
        return (_OK, cudaPointerAttributes(kind, int(ptr) if a is not None and a.kind == "device" else 0,
                                           int(ptr) if a is None or a.kind == "pinned" else 0))

    def cuMemGetAddressRange(self, ptr: int) -> tuple:
        a = self.find(int(ptr), "device")
        return (_BAD, 0, 0) if a is None else (_OK, a.ptr, a.size)

    def cudaMemcpy(self, dst: int, src: int, nbytes: int, kind: Any) -> tuple:
        dst, src, nbytes = int(dst), int(src), int(nbytes)
        k = cudaMemcpyKind(int(kind))
        dst_dev = k in (cudaMemcpyKind.cudaMemcpyHostToDevice, cudaMemcpyKind.cudaMemcpyDeviceToDevice)
        src_dev = k in (cudaMemcpyKind.cudaMemcpyDeviceToHost, cudaMemcpyKind.cudaMemcpyDeviceToDevice)
        for ptr, on_device in ((dst, dst_dev), (src, src_dev)):
            if on_device and not self._inside(ptr, nbytes, "device"):
                return (_BAD,)
            if not on_device and (ptr == 0 or self.find(ptr, "device") is not None):
                return (_BAD,)
        if nbytes < 0:
            return (_BAD,)
        ctypes.memmove(dst, src, nbytes)
        if dst_dev:
            self.find(dst, "device").last_write = (dst, nbytes)
        return (_OK,)

    def last_write(self, ptr: int) -> tuple[int, int] | None:
        """(start, bytes) of the last copy or memset into the device allocation containing ``ptr``."""
        a = self.find(int(ptr), "device")
        return None if a is None else a.last_write

    def cudaMemcpyAsync(self, dst: int, src: int, nbytes: int, kind: Any, stream: Any) -> tuple:
        if int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        return self.cudaMemcpy(dst, src, nbytes, kind)

    def cudaMemsetAsync(self, ptr: int, value: int, nbytes: int, stream: Any) -> tuple:
        if int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        if not self._inside(int(ptr), int(nbytes), "device"):
            return (_BAD,)
        ctypes.memset(int(ptr), int(value), int(nbytes))
        self.find(int(ptr), "device").last_write = (int(ptr), int(nbytes))
        return (_OK,)

    # ---- streams and events -------------------------------------------------------------------------------
    def cudaStreamCreateWithFlags(self, flags: int) -> tuple:
        handle = next(self._ids)
        self.streams.add(handle)
        return (_OK, handle)

    def cudaStreamSynchronize(self, stream: Any) -> tuple:
        return (_OK,) if int(stream) in self.streams else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaStreamDestroy(self, stream: Any) -> tuple:
        if int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        self.streams.discard(int(stream))
        return (_OK,)

    def cudaStreamIsCapturing(self, stream: Any) -> tuple:
        return (_OK, 0)

    def cudaStreamBeginCapture(self, stream: Any, mode: Any) -> tuple:
        return (cudaError_t.cudaErrorNotSupported,)

    def cudaEventCreate(self) -> tuple:
        handle = next(self._ids)
        self.events[handle] = None
        return (_OK, handle)

    def cudaEventRecord(self, event: Any, stream: Any) -> tuple:
        if int(event) not in self.events or int(stream) not in self.streams:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        self.events[int(event)] = time.perf_counter()
        return (_OK,)

    def cudaEventSynchronize(self, event: Any) -> tuple:
        return (_OK,) if int(event) in self.events else (cudaError_t.cudaErrorInvalidResourceHandle,)

    def cudaEventElapsedTime(self, start: Any, end: Any) -> tuple:
        a, b = self.events.get(int(start)), self.events.get(int(end))
        if a is None or b is None:
            return (cudaError_t.cudaErrorInvalidResourceHandle, 0.0)
        return (_OK, (b - a) * 1e3)

    def cudaEventDestroy(self, event: Any) -> tuple:
        if self.events.pop(int(event), False) is False:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        return (_OK,)

    # ---- device and errors --------------------------------------------------------------------------------
    def cudaGetDeviceCount(self) -> tuple:
        return (_OK, 1)

    def cudaGetErrorName(self, err: Any) -> tuple:
        return (_OK, cudaError_t(int(err)).name.encode())

    def cudaGetErrorString(self, err: Any) -> tuple:
        return (_OK, _DESCRIPTIONS.get(cudaError_t(int(err)), "unknown error").encode())


class HostCudaModule(HostCuda):
    """A :class:`HostCuda` that also carries cudart's enums and constants as attributes, so it can stand where
    ``cuda.bindings.runtime`` stands (``cudart().cudaMemcpyKind.cudaMemcpyHostToDevice`` and so on)."""

    __name__ = "trtnet.emulate.host_cuda"
    cudaError_t = cudaError_t
    cudaMemcpyKind = cudaMemcpyKind
    cudaMemoryType = cudaMemoryType
    cudaStreamCaptureMode = cudaStreamCaptureMode
    cudaStreamNonBlocking = cudaStreamNonBlocking

    @staticmethod
    def native_handle(obj: Any) -> int:
        return int(obj)

    def live(self) -> dict[str, int]:
        """Counts of live allocations, streams and events (a closed runtime leaves none)."""
        kinds = [a.kind for a in self.allocations.values()]
        return {"device": kinds.count("device"), "pinned": kinds.count("pinned"), "streams": len(self.streams),
                "events": len(self.events)}
