"""The emulated TensorRT runtime is strict like TensorRT: each execution contract, and a runtime broken on purpose
that the emulator catches (with a TensorRT-style error naming the tensor).  Runs anywhere: on a CPU-only machine
the runtime's CUDA calls go to the host-memory stand-in, on a GPU to cuda-python."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fixtures_emulate import engine_dirs  # noqa: F401 (fixture)
from trtnet.iospec import TensorSpec
from trtnet.emulate import Emulator
from trtnet.runtime import feeds as feeds_mod
from trtnet.runtime import session as session_mod
from trtnet.runtime.cuda import DeviceBuffer, Stream
from trtnet.runtime.engine import Engine, EngineCompatibilityError, EngineLoadError
from trtnet.runtime.session import SessionError

MEL = np.random.default_rng(5).standard_normal((3, 12, 40)).astype(np.float32)
FRAMES = np.array([40, 31, 7], np.int32)


NOTHING_LIVE = {"device": 0, "pinned": 0, "streams": 0, "events": 0}


@pytest.fixture
def emulator():
    """One emulator; after the test, nothing it allocated on the host stand-in is still allocated."""
    em = Emulator()
    yield em
    if em.host_memory:
        assert em.host_cuda.live() == NOTHING_LIVE


@pytest.fixture
def postnet(engine_dirs, emulator):
    with Engine.load(engine_dirs("fp32") / "postnet.plan", provider=emulator) as e:
        yield e


@pytest.fixture
def decoder(engine_dirs, emulator):
    with Engine.load(engine_dirs("fp32") / "decoder-loop.plan", provider=emulator) as e:
        yield e


def decoder_feeds(steps=20, batch=2, t_in=9):
    rng = np.random.default_rng(1)
    return {"memory": rng.standard_normal((batch, t_in, 16)).astype(np.float32),
            "processed_memory": rng.standard_normal((batch, t_in, 8)).astype(np.float32),
            "lengths": np.array([t_in, t_in - 3][:batch], np.int32), "max_decoder_steps": np.array(steps, np.int32),
            "gate_threshold": np.array(0.5, np.float32), "prenet_masks": np.ones((steps, batch, 2, 10), np.float32)}


def errors_since(engine, mark):
    return [m for m in engine.logger.messages[mark:] if m.startswith("[E]")]


# ----- the engine surface ----------------------------------------------------------------------------------
def test_emulated_engine_presents_the_networks_io(decoder):
    e, trt = decoder.trt_engine, decoder.trt
    names = [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
    assert names == [s.name for s in (*decoder.io.inputs, *decoder.io.outputs)]
    assert e.get_tensor_mode("mel") == trt.TensorIOMode.OUTPUT and e.get_tensor_mode("lengths") == trt.TensorIOMode.INPUT
    assert e.is_shape_inference_io("max_decoder_steps") and not e.is_shape_inference_io("lengths")
    assert e.get_tensor_location("max_decoder_steps") == trt.TensorLocation.HOST
    assert e.get_tensor_shape("memory") == (-1, -1, 16) and e.get_tensor_dtype("n_steps") == trt.DataType.INT32
    assert e.get_tensor_profile_shape("memory", 0) == [(1, 1, 16), (1, 64, 16), (8, 64, 16)]
    assert e.get_tensor_profile_values(0, "max_decoder_steps") == [[1], [150], [150]]
    assert str(decoder.flavor).startswith("emulated tensorrt")


def test_engine_io_must_match_the_sidecar(engine_dirs, tmp_path, emulator):
    """A sidecar whose dtype differs from the re-defined network is refused by the runtime's own check."""
    src = engine_dirs("fp32")
    shutil.copy(src / "postnet.plan", tmp_path / "postnet.plan")
    side = json.loads((src / "postnet.json").read_text())
    side["io"]["inputs"][0]["dtype"] = "float16"
    (tmp_path / "postnet.json").write_text(json.dumps(side))
    with pytest.raises(EngineCompatibilityError, match="tensor 'mel' is float32 in the engine but float16 in the sidecar"):
        Engine.load(tmp_path / "postnet.plan", provider=emulator)     # the fixture: nothing left allocated


def test_weights_file_is_hash_checked(engine_dirs, tmp_path, emulator):
    src = engine_dirs("fp32")
    shutil.copy(src / "postnet.plan", tmp_path / "postnet.plan")
    side = json.loads((src / "postnet.json").read_text())
    side["weights_sha256"] = "0" * 64
    (tmp_path / "postnet.json").write_text(json.dumps(side))
    with pytest.raises(EngineLoadError, match=r"tacotron2_demo_small\.h5: weights file sha256 [0-9a-f]{16}… differs "
                                              r"from 0{16}… that postnet\.plan's sidecar records"):
        Engine.load(tmp_path / "postnet.plan", provider=emulator)
    side["extra"]["weights_file"] = str(tmp_path / "gone.h5")
    (tmp_path / "postnet.json").write_text(json.dumps(side))
    with pytest.raises(EngineLoadError, match=r"weights file .*gone\.h5 not found"):
        Engine.load(tmp_path / "postnet.plan", provider=emulator)


def test_unregistered_plan_bytes_do_not_deserialize(postnet):
    runtime = postnet.trt.Runtime(postnet.logger)
    mark = len(postnet.logger.messages)
    assert runtime.deserialize_cuda_engine(b"some other plan") is None
    assert "were not registered with the emulator" in errors_since(postnet, mark)[0]


# ----- the contract, call by call --------------------------------------------------------------------------
def test_execute_refuses_unset_shapes_missing_addresses_and_host_buffers(postnet):
    ctx = postnet.trt_engine.create_execution_context()
    cuda = postnet.cuda
    with Stream(cuda) as s, DeviceBuffer(MEL.nbytes, cuda) as mel, DeviceBuffer(12, cuda) as frames, \
            DeviceBuffer(MEL.nbytes, cuda) as out:
        mark = len(postnet.logger.messages)
        assert ctx.set_tensor_address("mel", mel.ptr) and ctx.set_tensor_address("frames", frames.ptr)
        assert not ctx.execute_async_v3(s.handle)
        assert "input shapes not set for ['mel', 'frames']" in errors_since(postnet, mark)[-1]
        assert ctx.infer_shapes() == ["mel", "frames"]
        assert ctx.set_input_shape("mel", (3, 12, 40)) and ctx.set_input_shape("frames", (3,))
        assert not ctx.execute_async_v3(s.handle)
        assert "address is not set for output tensor mel_postnet" in errors_since(postnet, mark)[-1]
        host = np.zeros_like(MEL)
        assert ctx.set_tensor_address("mel_postnet", host.ctypes.data)
        assert not ctx.execute_async_v3(s.handle)
        assert "output tensor mel_postnet is bound to host memory" in errors_since(postnet, mark)[-1]
        assert ctx.set_tensor_address("mel_postnet", out.ptr) and ctx.infer_shapes() == []
        assert ctx.get_tensor_shape("mel_postnet") == (3, 12, 40)
        mel.copy_from_host(MEL, s)
        frames.copy_from_host(FRAMES, s)
        assert ctx.execute_async_v3(s.handle)
        assert not ctx.set_tensor_address("nope", out.ptr)
        assert "'nope' is not an I/O tensor" in errors_since(postnet, mark)[-1]


def test_set_input_shape_checks_rank_static_dims_and_the_profile(postnet):
    ctx = postnet.trt_engine.create_execution_context()
    mark = len(postnet.logger.messages)
    assert not ctx.set_input_shape("mel", (9, 12, 40))
    assert not ctx.set_input_shape("mel", (3, 11, 40))
    assert not ctx.set_input_shape("mel", (3, 12))
    assert not ctx.set_input_shape("mel_postnet", (3, 12, 40))
    errs = errors_since(postnet, mark)
    assert "Set dimension [9, 12, 40] for tensor mel does not satisfy optimization profile 0: min=[1, 12, 1] " \
           "max=[8, 12, 150]" in errs[0]
    assert "tensor mel: dimension 1 is 11, the engine's is static 12" in errs[1]
    assert "tensor mel: rank 2" in errs[2] and "'mel_postnet' is not an input tensor" in errs[3]
    assert not ctx.set_optimization_profile_async(1, 0)


# ----- a runtime broken on purpose -------------------------------------------------------------------------
def test_runtime_that_skips_set_input_shape(postnet, monkeypatch):
    real = postnet.trt_engine.create_execution_context

    def forgetful(*a):
        ctx = real(*a)
        setter = ctx.set_input_shape
        ctx.set_input_shape = lambda name, shape: True if name == "frames" else setter(name, shape)
        return ctx
    monkeypatch.setattr(postnet.trt_engine, "create_execution_context", forgetful)
    with pytest.raises(SessionError, match=r"postnet\.plan: shapes unresolved for \['frames'\]"):
        postnet.session()


def test_runtime_that_binds_a_shape_input_to_device_memory(decoder, monkeypatch):
    def with_shape_tensors(io):      # the bug: shape inputs get device buffers like array inputs
        caps = feeds_mod.input_capacities(io)
        caps.update({s.name: 4 for s in io.inputs if s.is_shape_tensor})
        return caps
    monkeypatch.setattr(session_mod, "input_capacities", with_shape_tensors)
    with decoder.session() as s, pytest.raises(SessionError, match="shape inference failed.*shape tensor "
                                                                   "max_decoder_steps must be bound to host memory, "
                                                                   r"but 0x[0-9a-f]+ is device memory"):
        s.run(decoder_feeds())


def test_runtime_that_sizes_an_output_from_the_wrong_dimension(postnet, monkeypatch):
    def wrong(spec: TensorSpec, shape):   # the bug: mel_postnet sized [B, n_mel, n_mel] instead of [B, n_mel, T]
        shape = tuple(shape)
        return feeds_mod.nbytes(spec, shape[:2] + (shape[1],) if spec.name == "mel_postnet" else shape)
    monkeypatch.setattr(session_mod, "nbytes", wrong)
    with postnet.session() as s, pytest.raises(SessionError, match=r"output tensor mel_postnet float32\[3, 12, 40\] "
                                                                   r"needs 5760 bytes, but its buffer at 0x[0-9a-f]+ "
                                                                   r"holds 4608 from there"):
        s.run({"mel": MEL, "frames": FRAMES})


def test_runtime_that_does_not_validate_shapes(decoder, postnet, monkeypatch):
    monkeypatch.setattr(session_mod, "validate_shapes", lambda *a, **k: {})
    with decoder.session() as s, pytest.raises(SessionError, match="shape inference failed.*shape tensor "
                                                                   r"max_decoder_steps has value 151, outside "
                                                                   r"optimization profile 0: \[1, 150\]"):
        s.run({**decoder_feeds(steps=150), "max_decoder_steps": np.array(151, np.int32)})
    mark = len(postnet.logger.messages)
    with postnet.session() as s, pytest.raises(SessionError, match=r"set_input_shape\('mel', \[9, 12, 40\]\) refused"):
        s.run({"mel": np.zeros((9, 12, 40), np.float32), "frames": np.full(9, 40, np.int32)})
    assert "does not satisfy optimization profile 0" in errors_since(postnet, mark)[-1]


def test_runtime_that_uploads_another_dtype(postnet, monkeypatch):
    if postnet.cuda.module is None:
        pytest.skip("upload sizes are recorded by the host-memory stand-in only; cuda-python keeps no record")
    monkeypatch.setattr(session_mod, "check_dtypes", lambda *a: None)
    with postnet.session() as s, pytest.raises(SessionError, match=r"input tensor mel float32\[3, 12, 40\] is 5760 "
                                                                   "bytes, but the last copy into its buffer wrote "
                                                                   "11520"):
        s.run({"mel": MEL.astype(np.float64), "frames": FRAMES})


def test_a_correct_runtime_runs_and_closes_everything(postnet, decoder, emulator):
    with postnet.session() as s:
        out = s.run({"mel": MEL, "frames": FRAMES})["mel_postnet"]
        assert out.shape == MEL.shape and out.dtype == np.float32
        assert not out[2, :, 7:].any() and out[2, :, :7].any()          # zero after each item's frames
        again = s.run({"mel": MEL[:1, :, :10], "frames": FRAMES[:1] * 0 + 10})["mel_postnet"]
        assert again.shape == (1, 12, 10)
    with decoder.session() as s:
        got = s.run(decoder_feeds())
        assert got["mel"].shape == (2, 12, 20) and int(got["n_steps"]) <= 20 and got["n_steps"].shape == ()
    if emulator.host_memory:
        assert emulator.host_cuda.live() == NOTHING_LIVE


def test_cuda_graph_capture_is_refused_and_the_session_falls_back(engine_dirs, tmp_path, caplog, emulator):
    """A plan recorded as datacenter TensorRT: its sessions capture CUDA graphs, which an emulated engine (host
    execution) cannot be part of; the session falls back to plain runs with the same results."""
    src = engine_dirs("fp32")
    shutil.copy(src / "postnet.plan", tmp_path / "postnet.plan")
    side = json.loads((src / "postnet.json").read_text())
    side.update(flavor="tensorrt", trt_version="10.13.0.35", targets={"compute_capability": "9.0"})
    (tmp_path / "postnet.json").write_text(json.dumps(side))
    with Engine.load(tmp_path / "postnet.plan", provider=emulator) as e, e.session(cuda_graph=True) as s:
        want = s.run({"mel": MEL, "frames": FRAMES})["mel_postnet"]   # the plain run before a capture
        got = s.run({"mel": MEL, "frames": FRAMES})["mel_postnet"]    # capture fails: plain again
        assert not s.uses_cuda_graph
        np.testing.assert_array_equal(got, want)
    assert "CUDA graph capture failed, running without graphs" in caplog.text
