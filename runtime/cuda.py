"""Checked cuda-python calls and the few CUDA objects the runtime needs, each with ``close()`` and ``with``.

cuda-python returns ``(err, *values)`` from every call; :func:`cuda_call` turns a failure into
:class:`CudaError` naming the call and the error, and returns the payload otherwise.  ``cuda.bindings`` is
imported on first use, so importing this module never fails on a machine without cuda-python.

Cleanup never raises and never swallows: a failing free is logged with the error name.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)


class CudaUnavailableError(RuntimeError):
    """cuda-python is not installed, or there is no driver or no device."""


class CudaError(RuntimeError):
    """A CUDA runtime call failed; ``call`` and ``error`` name the call and the ``cudaError_t``."""

    def __init__(self, call: str, error: str, detail: str = ""):
        super().__init__(f"{call} failed: {error}" + (f" ({detail})" if detail else ""))
        self.call, self.error = call, error


@functools.lru_cache(maxsize=None)
def _modules() -> tuple[ModuleType, Callable[[Any], int]]:
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as e:
        raise CudaUnavailableError(f"cuda-python is not importable ({e}); install 'cuda-python' matching "
                                   "your CUDA major version") from None
    try:  # cuda-bindings 13: int(handle) is deprecated
        from cuda.bindings.utils import get_cuda_native_handle as handle
    except ImportError:  # 12.x
        handle = int
    return cudart, handle


class CudaApi:
    """The CUDA runtime calls the runtime makes, from one provider: cuda-python (``CudaApi()``, imported on first
    use) or a stand-in module with cudart's call signatures and enums plus ``native_handle(obj) -> int``
    (``CudaApi(module)``: trtnet.emulate's host-memory one, say).  Every CUDA object of this module keeps the
    api it was made with; an engine's sessions use the engine's (``Engine.cuda``)."""

    def __init__(self, module: Any = None) -> None:
        self.module = module

    def __repr__(self) -> str:
        return f"CudaApi({'cuda-python' if self.module is None else type(self.module).__name__})"

    @property
    def cudart(self) -> ModuleType:
        """The ``cuda.bindings.runtime`` module, or the stand-in; :class:`CudaUnavailableError` when cuda-python
        is missing."""
        return _modules()[0] if self.module is None else self.module

    def native_handle(self, obj: Any) -> int:
        """The raw integer handle of a cuda-python object (a stream for ``execute_async_v3``, say)."""
        return int(_modules()[1](obj) if self.module is None else self.module.native_handle(obj))

    def check(self, result: Any, name: str = "CUDA call") -> Any:
        """Check ``(err, *values)``: raise :class:`CudaError`, else return None, the value, or the tuple."""
        err, values = result[0], result[1:]
        if int(err) != 0:
            error = self.cudart.cudaGetErrorName(err)[1]
            text = self.cudart.cudaGetErrorString(err)[1]
            raise CudaError(name, error.decode() if isinstance(error, bytes) else str(error),
                            text.decode() if isinstance(text, bytes) else str(text))
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    def call(self, fn_name: str, *args: Any) -> Any:
        """``check(cudart.fn_name(*args), fn_name)``: the checked call with its name in any error."""
        return self.check(getattr(self.cudart, fn_name)(*args), fn_name)

    def available(self) -> tuple[bool, str]:
        """(True, "N CUDA device(s)") or (False, why not: no cuda-python, no driver, no device)."""
        try:
            count = self.call("cudaGetDeviceCount")
        except CudaUnavailableError as e:
            return False, str(e)
        except CudaError as e:
            from ..device import _NO_GPU, no_gpu_reason
            return False, (no_gpu_reason(e.error) if e.error in _NO_GPU else f"no usable CUDA driver/device: {e}")
        if count == 0:
            return False, "the CUDA driver reports no device"
        return True, f"{count} CUDA device(s)"


CUDA_PYTHON = CudaApi()     # the default provider (stateless: cuda-python is imported on first use)


def cudart() -> ModuleType:
    """cuda-python's ``cuda.bindings.runtime`` module."""
    return CUDA_PYTHON.cudart


def native_handle(obj: Any) -> int:
    return CUDA_PYTHON.native_handle(obj)


def cuda_call(result: Any, name: str = "CUDA call") -> Any:
    return CUDA_PYTHON.check(result, name)


def call(fn_name: str, *args: Any) -> Any:
    return CUDA_PYTHON.call(fn_name, *args)


def cuda_available() -> tuple[bool, str]:
    return CUDA_PYTHON.available()


class _Resource:
    """A CUDA object released once by :meth:`close` (also on leaving ``with``); release errors are logged."""

    _what = "resource"

    def __init__(self, api: CudaApi) -> None:
        self.api = api
        self._open = True

    @property
    def closed(self) -> bool:
        return not self._open

    def _release(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._release()
        except CudaError as e:
            log.error("releasing %s failed: %s", self._what, e)

    def _check_open(self) -> None:
        if not self._open:
            raise ValueError(f"{self._what} is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Stream(_Resource):
    """A non-blocking (non-default) CUDA stream."""

    _what = "CUDA stream"

    def __init__(self, api: CudaApi = CUDA_PYTHON) -> None:
        self.raw = api.call("cudaStreamCreateWithFlags", api.cudart.cudaStreamNonBlocking)
        self.handle = api.native_handle(self.raw)   # the integer TensorRT's execute_async_v3 takes
        super().__init__(api)

    def synchronize(self) -> None:
        self._check_open()
        self.api.call("cudaStreamSynchronize", self.raw)

    def _release(self) -> None:
        self.api.call("cudaStreamDestroy", self.raw)


class Event(_Resource):
    """A CUDA event for timing work on a stream."""

    _what = "CUDA event"

    def __init__(self, api: CudaApi = CUDA_PYTHON) -> None:
        self.raw = api.call("cudaEventCreate")
        super().__init__(api)

    def record(self, stream: Stream) -> None:
        self._check_open()
        self.api.call("cudaEventRecord", self.raw, stream.raw)

    def synchronize(self) -> None:
        self._check_open()
        self.api.call("cudaEventSynchronize", self.raw)

    def elapsed_ms(self, end: "Event") -> float:
        """Milliseconds from this event to ``end`` (waits for ``end``)."""
        end.synchronize()
        return float(self.api.call("cudaEventElapsedTime", self.raw, end.raw))

    def _release(self) -> None:
        self.api.call("cudaEventDestroy", self.raw)


def time_ms(stream: Stream, fn: Callable[[], Any], events: tuple[Event, Event] | None = None) -> float:
    """GPU time in ms of the work ``fn`` enqueues on ``stream``; waits for it.  Pass ``events`` to reuse them."""
    if events is None:
        with Event(stream.api) as start, Event(stream.api) as end:
            return time_ms(stream, fn, (start, end))
    start, end = events
    start.record(stream)
    fn()
    end.record(stream)
    return start.elapsed_ms(end)


def _memcpy(dst: int, src: int, nbytes: int, kind: str, stream: Stream) -> None:
    stream.api.call("cudaMemcpyAsync", dst, src, nbytes, getattr(stream.api.cudart.cudaMemcpyKind, kind), stream.raw)


def _check_size(what: str, nbytes: int, capacity: int) -> None:
    if not 0 <= nbytes <= capacity:
        raise ValueError(f"{what}: {nbytes} bytes do not fit a buffer of {capacity} bytes")


class _Memory(_Resource):
    """``nbytes`` of memory at ``ptr`` (an int)."""

    def __init__(self, ptr: int, nbytes: int, api: CudaApi) -> None:
        self.ptr, self.nbytes = int(ptr), int(nbytes)
        super().__init__(api)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nbytes={self.nbytes}, ptr={self.ptr:#x}, closed={self.closed})"


class PinnedBuffer(_Memory):
    """Page-locked host memory (``cudaMallocHost``) seen through numpy views."""

    _what = "pinned host buffer"

    def __init__(self, nbytes: int, api: CudaApi = CUDA_PYTHON) -> None:
        super().__init__(api.call("cudaMallocHost", max(int(nbytes), 1)), nbytes, api)

    def array(self, dtype: Any, shape: Sequence[int]) -> np.ndarray:
        """A C-contiguous numpy view of the first ``prod(shape)`` elements (no copy)."""
        self._check_open()
        dt = np.dtype(dtype)
        count = math.prod(int(s) for s in shape)
        _check_size(f"view {dt}{list(shape)}", count * dt.itemsize, self.nbytes)
        raw = (ctypes.c_byte * max(self.nbytes, 1)).from_address(self.ptr)
        return np.frombuffer(raw, dtype=dt, count=count).reshape(tuple(shape))

    def _release(self) -> None:
        self.api.call("cudaFreeHost", self.ptr)


class DeviceBuffer(_Memory):
    """``cudaMalloc`` memory (256-byte aligned); async copies and memset on a stream."""

    _what = "device buffer"

    def __init__(self, nbytes: int, api: CudaApi = CUDA_PYTHON) -> None:
        super().__init__(api.call("cudaMalloc", max(int(nbytes), 1)), nbytes, api)

    def copy_from_host(self, src: PinnedBuffer | np.ndarray, stream: Stream, nbytes: int | None = None) -> None:
        """Host → device; ``src`` must stay alive and unchanged until the stream reaches the copy."""
        self._check_open()
        ptr, size = _host_ptr(src)
        n = size if nbytes is None else int(nbytes)
        _check_size("copy to device", n, min(size, self.nbytes))
        _memcpy(self.ptr, ptr, n, "cudaMemcpyHostToDevice", stream)

    def copy_to_host(self, dst: PinnedBuffer | np.ndarray, stream: Stream, nbytes: int | None = None) -> None:
        """Device → host; read ``dst`` only after the stream is synchronized."""
        self._check_open()
        ptr, size = _host_ptr(dst)
        n = min(size, self.nbytes) if nbytes is None else int(nbytes)
        _check_size("copy to host", n, min(size, self.nbytes))
        _memcpy(ptr, self.ptr, n, "cudaMemcpyDeviceToHost", stream)

    def copy_from_device(self, src: "DeviceBuffer", stream: Stream, nbytes: int | None = None) -> None:
        """Device → device, ``nbytes`` (default: as many as both hold)."""
        self._check_open()
        src._check_open()
        n = min(src.nbytes, self.nbytes) if nbytes is None else int(nbytes)
        _check_size("device-to-device copy", n, min(src.nbytes, self.nbytes))
        _memcpy(self.ptr, src.ptr, n, "cudaMemcpyDeviceToDevice", stream)

    def memset(self, value: int, stream: Stream, nbytes: int | None = None) -> None:
        """Set ``nbytes`` (default all) bytes to ``value`` (0..255)."""
        self._check_open()
        n = self.nbytes if nbytes is None else int(nbytes)
        _check_size("memset", n, self.nbytes)
        stream.api.call("cudaMemsetAsync", self.ptr, int(value), n, stream.raw)

    def _release(self) -> None:
        self.api.call("cudaFree", self.ptr)


def _host_ptr(obj: PinnedBuffer | np.ndarray) -> tuple[int, int]:
    if isinstance(obj, PinnedBuffer):
        obj._check_open()
        return obj.ptr, obj.nbytes
    if isinstance(obj, np.ndarray):
        if not obj.flags.c_contiguous:
            raise ValueError("host array for a CUDA copy must be C-contiguous (use np.ascontiguousarray)")
        return obj.ctypes.data, obj.nbytes
    raise TypeError(f"expected a PinnedBuffer or numpy array, got {type(obj).__name__}")


class CudaGraph(_Resource):
    """An instantiated CUDA graph captured from the work ``fn`` enqueues on a stream."""

    _what = "CUDA graph"

    def __init__(self, graph: Any, exec_: Any, api: CudaApi) -> None:
        self._graph, self._exec = graph, exec_
        super().__init__(api)

    @classmethod
    def capture(cls, stream: Stream, fn: Callable[[], Any]) -> "CudaGraph":
        """Capture ``fn`` (which must only enqueue on ``stream``); :class:`CudaError` when capture fails."""
        api = stream.api
        rt, call, cuda_call = api.cudart, api.call, api.check
        call("cudaStreamBeginCapture", stream.raw, rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal)
        try:
            ok = fn()
        except BaseException:
            err, graph = rt.cudaStreamEndCapture(stream.raw)
            if int(err) == 0:
                call("cudaGraphDestroy", graph)
            raise
        graph = cuda_call(rt.cudaStreamEndCapture(stream.raw), "cudaStreamEndCapture")
        try:
            if ok is False:
                raise CudaError("stream capture", "the captured call reported failure")
            return cls(graph, call("cudaGraphInstantiate", graph, 0), api)
        except CudaError:
            call("cudaGraphDestroy", graph)
            raise

    def launch(self, stream: Stream) -> None:
        self._check_open()
        self.api.call("cudaGraphLaunch", self._exec, stream.raw)

    def _release(self) -> None:
        try:
            self.api.call("cudaGraphExecDestroy", self._exec)
        finally:
            self.api.call("cudaGraphDestroy", self._graph)
