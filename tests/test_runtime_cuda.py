"""cuda-python wrappers: the checker and availability everywhere; buffers, streams, events, graphs on a GPU."""

import logging
import sys

import numpy as np
import pytest

from trtnet.runtime import cuda
from trtnet.runtime.cuda import (CudaError, CudaUnavailableError, DeviceBuffer, Event, CudaGraph, PinnedBuffer,
                                 Stream, cuda_available, cuda_call, time_ms)

cudart = pytest.importorskip("cuda.bindings.runtime", reason="cuda-python is not installed")
HAVE_CUDA, WHY = cuda_available()


def gpu(test):
    """``pytest.mark.gpu``, skipped with cuda_available()'s reason where there is no GPU."""
    return pytest.mark.gpu(pytest.mark.skipif(not HAVE_CUDA, reason=f"needs a CUDA GPU: {WHY}")(test))


# ----- no GPU needed ---------------------------------------------------------------------------------------
def test_cuda_call_unwraps_payloads():
    ok = cudart.cudaError_t.cudaSuccess
    assert cuda_call((ok,)) is None
    assert cuda_call((ok, 7)) == 7
    assert cuda_call((ok, 1, 2)) == (1, 2)


def test_cuda_call_raises_with_call_and_error_name():
    with pytest.raises(CudaError, match=r"cudaMalloc failed: cudaErrorMemoryAllocation") as info:
        cuda_call((cudart.cudaError_t.cudaErrorMemoryAllocation, None), "cudaMalloc")
    assert info.value.call == "cudaMalloc" and info.value.error == "cudaErrorMemoryAllocation"


def test_cuda_available_gives_a_reason():
    ok, why = cuda_available()
    assert isinstance(ok, bool) and why


def test_missing_cuda_python_is_reported_only_when_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuda.bindings", None)
    cuda._modules.cache_clear()
    try:
        ok, why = cuda_available()
        assert not ok and "cuda-python is not importable" in why
        with pytest.raises(CudaUnavailableError):
            DeviceBuffer(16)
    finally:
        cuda._modules.cache_clear()


# ----- GPU -------------------------------------------------------------------------------------------------
@gpu
def test_h2d_d2d_d2h_round_trip():
    src = np.arange(1000, dtype=np.float32).reshape(10, 100)
    with Stream() as s, DeviceBuffer(src.nbytes) as a, DeviceBuffer(src.nbytes) as b, \
            PinnedBuffer(src.nbytes) as pin:
        assert a.ptr % 256 == 0 and b.ptr % 256 == 0
        pin.array(src.dtype, src.shape)[...] = src
        a.copy_from_host(pin, s)
        b.copy_from_device(a, s)
        out = np.empty_like(src)
        b.copy_to_host(out, s)
        s.synchronize()
        np.testing.assert_array_equal(out, src)


@gpu
def test_pageable_numpy_source_and_partial_copy():
    src = np.arange(64, dtype=np.int32)
    with Stream() as s, DeviceBuffer(src.nbytes) as d, PinnedBuffer(src.nbytes) as pin:
        d.memset(0, s)
        d.copy_from_host(src, s, nbytes=16 * 4)
        d.copy_to_host(pin, s)
        s.synchronize()
        got = pin.array(np.int32, (64,))
        np.testing.assert_array_equal(got[:16], src[:16])
        assert not got[16:].any()
        with pytest.raises(ValueError, match="C-contiguous"):
            d.copy_from_host(np.arange(128, dtype=np.int32)[::2], s)
        with pytest.raises(ValueError, match="do not fit"):
            d.copy_from_host(np.zeros(65, np.int32), s)


@gpu
def test_memset_sets_bytes():
    with Stream() as s, DeviceBuffer(32) as d, PinnedBuffer(32) as pin:
        d.memset(0xAB, s)
        d.memset(0, s, nbytes=8)
        d.copy_to_host(pin, s)
        s.synchronize()
        got = pin.array(np.uint8, (32,))
        assert not got[:8].any() and (got[8:] == 0xAB).all()


@gpu
def test_pinned_views_share_memory():
    with PinnedBuffer(64) as pin:
        a = pin.array(np.float32, (4, 4))
        a[...] = 3.0
        assert (pin.array(np.float32, (16,)) == 3.0).all()
        assert pin.array(np.float16, (2,)).shape == (2,)
        with pytest.raises(ValueError, match="do not fit"):
            pin.array(np.float32, (17,))


@gpu
def test_streams_and_events_time_a_copy():
    n = 1 << 22
    with Stream() as s, DeviceBuffer(n) as a, DeviceBuffer(n) as b, Event() as e0, Event() as e1:
        assert s.handle != 0
        e0.record(s)
        b.copy_from_device(a, s)
        e1.record(s)
        assert e0.elapsed_ms(e1) > 0.0           # a 4 MiB copy between the two events takes measurable time
        assert time_ms(s, lambda: a.memset(1, s)) > 0.0
        assert time_ms(s, lambda: a.memset(2, s), (e0, e1)) > 0.0
        with Event() as never, pytest.raises(CudaError):
            e1.elapsed_ms(never)                  # an event never recorded has no time


@gpu
def test_context_managers_close_once_and_refuse_use(caplog):
    with DeviceBuffer(16) as d, PinnedBuffer(16) as p, Stream() as s, Event() as e:
        pass
    for r in (d, p, s, e):
        assert r.closed
        r.close()   # a second close is a no-op
    with pytest.raises(ValueError, match="closed"):
        p.array(np.uint8, (4,))
    with pytest.raises(ValueError, match="closed"):
        s.synchronize()
    with Stream() as live, pytest.raises(ValueError, match="device buffer is closed"):
        d.memset(0, live)   # never a use-after-free
    assert "failed" not in caplog.text


@gpu
def test_release_errors_are_logged_not_raised(caplog):
    d = DeviceBuffer(16)
    real = d.ptr
    d.ptr = real + 1   # not the start of an allocation: cudaFree rejects it
    with caplog.at_level(logging.ERROR, logger="trtnet.runtime.cuda"):
        d.close()
    assert d.closed and "releasing device buffer failed" in caplog.text and "cudaFree" in caplog.text
    cuda_call(cudart.cudaFree(real), "cudaFree")


@gpu
def test_current_gpu_reports_name_and_compute_capability():
    from trtnet.runtime.gpu import current_gpu
    info = current_gpu()
    assert info.name and info.major >= 5
    assert info.compute_capability == f"{info.major}.{info.minor}" and info.sm == f"SM{info.major}{info.minor}"


@gpu
def test_graph_capture_and_replay():
    with Stream() as s, DeviceBuffer(64) as a, DeviceBuffer(64) as b, PinnedBuffer(64) as pin:
        a.memset(7, s)
        with CudaGraph.capture(s, lambda: b.copy_from_device(a, s)) as g:
            b.memset(0, s)
            g.launch(s)
            b.copy_to_host(pin, s)
            s.synchronize()
            assert (pin.array(np.uint8, (64,)) == 7).all()


@gpu
def test_graph_capture_failure_raises_and_leaves_stream_usable():
    with Stream() as s, DeviceBuffer(64) as a:
        with pytest.raises(CudaError):
            CudaGraph.capture(s, s.synchronize)   # synchronizing a capturing stream is illegal
        with pytest.raises(CudaError, match="reported failure"):
            CudaGraph.capture(s, lambda: False)   # the captured call said it failed (as execute_async_v3 does)
        a.memset(0, s)
        s.synchronize()
