"""Session mechanics on a real GPU with a stand-in for TensorRT's execution context (no TensorRT needed).

The fake context does real, capturable CUDA work on the session's stream: ``y`` = ``x`` rolled left by one
element (two async copies between the bound addresses) and ``r`` = zeros(n), with ``n`` read from the
host shape-tensor address.  That checks buffer sizing, staging, trimming, profiles, ping-pong binding and
CUDA-graph capture/replay/fallback exactly as ``Session`` drives TensorRT.  Real engines are exercised in
test_runtime_engine.py where TensorRT can run.
"""

import ctypes
import logging
import types

import numpy as np
import pytest
from packaging.version import Version

from trtnet import flavor as flavor_mod
from trtnet.iospec import DimRange, IOSpec, SpecError, TensorSpec
from trtnet.runtime.cuda import CudaError, DeviceBuffer, cuda_available
from trtnet.runtime.engine import Engine
from trtnet.runtime.session import Session, SessionError
from trtnet.sidecar import Sidecar

HAVE_CUDA, WHY = cuda_available()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_CUDA, reason=f"needs a CUDA GPU: {WHY}")]

N = DimRange(1, 5, 16)
SPEC = IOSpec(
    inputs=(TensorSpec("x", "float32", ("B", 4)), TensorSpec("n", "int32", (), is_shape_tensor=True)),
    outputs=(TensorSpec("y", "float32", ("B", 4)), TensorSpec("r", "float32", ("n",))),
    profiles=({"B": DimRange(1, 2, 8), "n": N}, {"B": DimRange(9, 12, 16), "n": N}),
)
FAKE_TRT = types.ModuleType("fake_tensorrt")
FAKE_TRT.ILogger = type("ILogger", (), {"__init__": lambda self: None})


def cuda(fn_name, *args):
    from cuda.bindings import runtime as cudart
    err, *rest = getattr(cudart, fn_name)(*args)
    if int(err):
        raise CudaError(fn_name, str(err))
    return rest[0] if rest else None


class FakeContext:
    """The IExecutionContext calls Session makes, doing real async CUDA work."""

    def __init__(self, capturable=True, unresolved=()):
        self.addr, self.shapes, self.profiles, self.calls = {}, {}, [], 0
        self.capturable, self.unresolved = capturable, list(unresolved)

    def set_tensor_address(self, name, ptr):
        self.addr[name] = int(ptr)
        return True

    def set_optimization_profile_async(self, profile, stream):
        self.profiles.append(profile)
        return True

    def set_input_shape(self, name, shape):
        self.shapes[name] = tuple(shape)
        return True

    def infer_shapes(self):
        return self.unresolved

    def _n(self):
        return ctypes.c_int32.from_address(self.addr["n"]).value

    def get_tensor_shape(self, name):
        return self.shapes["x"] if name == "y" else (self._n(),)

    def execute_async_v3(self, handle):
        from cuda.bindings import runtime as cudart
        self.calls += 1
        stream = cudart.cudaStream_t(handle)
        if not self.capturable and int(cudart.cudaStreamSynchronize(stream)[0]):
            return False   # like an engine whose loop reads a device flag on the host
        d2d = cudart.cudaMemcpyKind.cudaMemcpyDeviceToDevice
        size = self.shapes["x"][0] * 4 * 4
        x, y = self.addr["x"], self.addr["y"]
        cuda("cudaMemcpyAsync", y, x + 4, size - 4, d2d, stream)
        cuda("cudaMemcpyAsync", y + size - 4, x, 4, d2d, stream)
        cuda("cudaMemsetAsync", self.addr["r"], 0, self._n() * 4, stream)
        return True


class FakeEngine:
    def __init__(self, **kw):
        self.kw, self.contexts = kw, []

    def create_execution_context(self):
        self.contexts.append(FakeContext(**self.kw))
        return self.contexts[-1]


def fake_engine(tmp_path, **kw):
    flavor = flavor_mod.Flavor("tensorrt", FAKE_TRT, Version("10.13.0.35"))
    sidecar = Sidecar("fake", "tensorrt", "10.13.0.35", "0", SPEC, targets={"compute_capability": "9.0"})
    return Engine(tmp_path / "fake.plan", sidecar, flavor, None, FakeEngine(**kw))


def rolled(x, k=1):
    return np.roll(x.reshape(-1), -k).reshape(x.shape)


def test_run_sizes_buffers_at_the_profile_max_and_trims_outputs(tmp_path):
    eng = fake_engine(tmp_path)
    with eng.session() as s:
        assert {n: s.capacity(n) for n in ("x", "y", "r")} == {"x": 256, "y": 256, "r": 64}
        assert s.buffer("x").ptr % 256 == 0
        rng = np.random.default_rng(1)
        for b, n in ((3, 5), (8, 16), (1, 1)):
            x = rng.standard_normal((b, 4)).astype(np.float32)
            out = s.run({"x": x, "n": n})
            np.testing.assert_array_equal(out["y"], rolled(x))
            assert out["r"].shape == (n,) and not out["r"].any()
        x = rng.standard_normal((12, 4)).astype(np.float32)
        np.testing.assert_array_equal(s.run({"x": x, "n": np.array(2, np.int32)}, profile=1)["y"], rolled(x))
        assert eng.trt_engine.contexts[0].profiles[-1] == 1
        with pytest.raises(SpecError, match="input 'x': dtype float64"):
            s.run({"x": x.astype(np.float64), "n": 2}, profile=1)
        with pytest.raises(SpecError, match=r"'B' = 12 is outside the profile range \[1, 8\]"):
            s.run({"x": x, "n": 2})


def test_ping_pong_swaps_addresses_without_host_copies(tmp_path):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    with fake_engine(tmp_path).session() as s:
        with pytest.raises(SpecError, match="none yet"):
            s.fetch(["y"])
        s.set_inputs({"x": x, "n": 3})
        for _ in range(3):
            assert s.run_device() == {"y": (2, 4), "r": (3,)}
            s.swap({"x": "y"})
        np.testing.assert_array_equal(s.fetch(["y"])["y"], rolled(x, 2))   # y now holds step 2's output
        s.swap({"x": "y"})
        np.testing.assert_array_equal(s.fetch(["y"])["y"], rolled(x, 3))
        assert s.timed(s.run_device) >= 0.0
        with pytest.raises(ValueError, match="cannot swap 'x' and 'r'"):
            s.swap({"x": "r"})
        with DeviceBuffer(8) as small, pytest.raises(ValueError, match="too small for 'x'"):
            s.bind("x", small)


def test_cuda_graphs_replay_and_are_kept_per_binding(tmp_path):
    eng = fake_engine(tmp_path)
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    with eng.session(cuda_graph=True) as s:
        ctx = eng.trt_engine.contexts[0]
        for _ in range(4):
            np.testing.assert_array_equal(s.run({"x": x, "n": 4})["y"], rolled(x))
        assert s.uses_cuda_graph and ctx.calls == 2      # one plain run, one captured; then graph launches
        s.set_inputs({"x": x, "n": 4})
        for _ in range(4):
            s.run_device()
            s.swap({"x": "y"})
        s.swap({"x": "y"})
        np.testing.assert_array_equal(s.fetch(["y"])["y"], rolled(x, 4))
        assert ctx.calls == 4                            # the swapped binding: one plain run, one capture


def test_failed_capture_falls_back_to_plain_runs(tmp_path, caplog):
    eng = fake_engine(tmp_path, capturable=False)
    x = np.ones((2, 4), np.float32) * np.arange(4, dtype=np.float32)
    with caplog.at_level(logging.WARNING), eng.session(cuda_graph=True) as s:
        for _ in range(3):
            np.testing.assert_array_equal(s.run({"x": x, "n": 2})["y"], rolled(x))
        assert not s.uses_cuda_graph
    assert "CUDA graph capture failed, running without graphs" in caplog.text


def test_session_setup_errors_free_what_was_allocated(tmp_path, monkeypatch):
    """A setup that fails after allocating (the stream, then shape inference) frees all of it, and the error
    names the engine's plan."""
    from trtnet.runtime import cuda as cuda_mod, session as session_mod
    made = []

    def recording(cls):
        class Recorded(cls):
            def __init__(self, *a, **kw):
                super().__init__(*a, **kw)
                made.append(self)
        return Recorded
    for name in ("DeviceBuffer", "PinnedBuffer", "Stream", "Event"):
        if hasattr(session_mod, name):
            monkeypatch.setattr(session_mod, name, recording(getattr(cuda_mod, name)))
    with pytest.raises(SessionError, match=str(tmp_path / "fake.plan") + r": shapes unresolved for \['x'\]"):
        fake_engine(tmp_path, unresolved=["x"]).session()
    assert made and all(r.closed for r in made), [r for r in made if not r.closed]
    with pytest.raises(ValueError, match="runtime_cache is a TensorRT-RTX feature"):
        fake_engine(tmp_path).session(runtime_cache=tmp_path / "rt.cache")


def test_close_frees_buffers_and_stream(tmp_path):
    s = Session(fake_engine(tmp_path))
    bufs = [s.buffer(n) for n in ("x", "y", "r")]
    s.close()
    assert all(b.closed for b in bufs) and s.stream.closed
    s.close()
