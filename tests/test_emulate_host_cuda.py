"""The host-memory CUDA stand-in (trtnet.emulate.host_cuda): strict like CUDA, and the runtime's real cuda.py
wrappers run on it unchanged when given it as their ``CudaApi`` (no GPU needed)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from trtnet.emulate.host_cuda import HostCudaModule, cudaError_t, cudaMemcpyKind, cudaMemoryType
from trtnet.runtime import cuda
from trtnet.runtime.cuda import CudaError, DeviceBuffer, Event, PinnedBuffer, Stream, time_ms

H2D, D2H, D2D = (cudaMemcpyKind.cudaMemcpyHostToDevice, cudaMemcpyKind.cudaMemcpyDeviceToHost,
                 cudaMemcpyKind.cudaMemcpyDeviceToDevice)


@pytest.fixture
def hc():
    return HostCudaModule()


@pytest.fixture
def api(hc):
    return cuda.CudaApi(hc)


def test_allocations_are_aligned_tracked_and_freed_once(hc):
    err, ptr = hc.cudaMalloc(1000)
    assert err == cudaError_t.cudaSuccess and ptr % 256 == 0
    assert hc.cuMemGetAddressRange(ptr + 10) == (cudaError_t.cudaSuccess, ptr, 1000)
    assert hc.cudaPointerGetAttributes(ptr + 999)[1].type == cudaMemoryType.cudaMemoryTypeDevice
    host = np.zeros(4, np.float32)
    assert hc.cudaPointerGetAttributes(host.ctypes.data)[1].type == cudaMemoryType.cudaMemoryTypeUnregistered
    _, pinned = hc.cudaMallocHost(64)
    assert hc.cudaPointerGetAttributes(pinned)[1].type == cudaMemoryType.cudaMemoryTypeHost
    assert hc.cudaFree(pinned) == (cudaError_t.cudaErrorInvalidValue,)      # pinned memory is not cudaFree'd
    assert hc.cudaFree(ptr) == (cudaError_t.cudaSuccess,)
    assert hc.cudaFree(ptr) == (cudaError_t.cudaErrorInvalidValue,)         # twice
    assert hc.cuMemGetAddressRange(ptr)[0] == cudaError_t.cudaErrorInvalidValue
    assert hc.cudaFreeHost(pinned) == (cudaError_t.cudaSuccess,)
    assert hc.live() == {"device": 0, "pinned": 0, "streams": 0, "events": 0}


def test_copies_check_direction_and_bounds(hc):
    _, s = hc.cudaStreamCreateWithFlags(1)
    _, dev = hc.cudaMalloc(16)
    src = np.arange(4, dtype=np.float32)
    out = np.zeros(4, np.float32)
    assert hc.cudaMemcpyAsync(dev, src.ctypes.data, 16, H2D, s)[0] == cudaError_t.cudaSuccess
    assert hc.last_write(dev + 4) == (dev, 16)
    assert hc.cudaMemcpyAsync(out.ctypes.data, dev, 16, D2H, s)[0] == cudaError_t.cudaSuccess
    np.testing.assert_array_equal(out, src)
    bad = cudaError_t.cudaErrorInvalidValue
    assert hc.cudaMemcpyAsync(dev, src.ctypes.data, 20, H2D, s) == (bad,)          # past the allocation
    assert hc.cudaMemcpyAsync(src.ctypes.data, dev, 16, H2D, s) == (bad,)          # direction swapped
    assert hc.cudaMemcpyAsync(out.ctypes.data, src.ctypes.data, 16, D2H, s) == (bad,)   # host as device
    assert hc.cudaMemcpyAsync(dev, src.ctypes.data, 16, H2D, 999) == (cudaError_t.cudaErrorInvalidResourceHandle,)
    assert hc.cudaMemsetAsync(dev, 0, 17, s) == (bad,)
    assert hc.cudaStreamBeginCapture(s, 0) == (cudaError_t.cudaErrorNotSupported,)


def test_runtime_wrappers_run_on_the_api_they_are_given(api, hc):
    src = np.arange(1000, dtype=np.float32).reshape(10, 100)
    with Stream(api) as s, DeviceBuffer(src.nbytes, api) as a, DeviceBuffer(src.nbytes, api) as b, \
            PinnedBuffer(src.nbytes, api) as pin:
        assert api.native_handle(s.raw) == s.handle and hc.live()["streams"] == 1
        pin.array(src.dtype, src.shape)[...] = src
        a.copy_from_host(pin, s)
        b.copy_from_device(a, s)
        out = np.empty_like(src)
        b.copy_to_host(out, s)
        s.synchronize()
        np.testing.assert_array_equal(out, src)
        b.memset(0, s, 40)
        b.copy_to_host(out, s)
        assert not out.reshape(-1)[:10].any() and out.reshape(-1)[10] == 10
        with Event(api) as e0, Event(api) as e1:
            e0.record(s)
            e1.record(s)
            assert e0.elapsed_ms(e1) >= 0 and time_ms(s, lambda: a.memset(1, s)) >= 0
        with pytest.raises(CudaError, match="cudaMemcpyAsync failed: cudaErrorInvalidValue"):
            api.call("cudaMemcpyAsync", a.ptr, b.ptr + 4, src.nbytes, D2D, s.raw)   # reads past b
    assert hc.live() == {"device": 0, "pinned": 0, "streams": 0, "events": 0}
    assert api.available() == (True, "1 CUDA device(s)")


def test_pinned_views_read_what_was_copied(api):
    with Stream(api) as s, DeviceBuffer(8, api) as d, PinnedBuffer(8, api) as pin:
        ctypes.memmove(pin.ptr, np.array([7, 9], np.int32).ctypes.data, 8)
        d.copy_from_host(pin, s)
        back = np.zeros(2, np.int32)
        d.copy_to_host(back, s)
        assert back.tolist() == [7, 9]
