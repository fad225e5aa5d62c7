"""Engine loading checks, feed validation and buffer sizing (CPU); engine execution (TensorRT-capable GPU).

The GPU half builds a tiny network with the raw TensorRT API (no trtnet graph code):
``y = 2·x + 1`` over a dynamic batch ``B``, and ``r = [0, 1, ..., n-1]`` from a 0-D shape-tensor input ``n``;
two optimization profiles (B in 1..8 and 9..16).
"""

import hashlib
import types

import numpy as np
import pytest
from packaging.version import Version

from trtnet import __version__
from trtnet import flavor as flavor_mod
from trtnet.trt_logger import CapturingLogger
from trtnet.iospec import DimRange, IOSpec, SpecError, TensorSpec
from trtnet.runtime import engine as engine_mod
from trtnet.runtime.cuda import CudaError, cuda_available
from trtnet.runtime.engine import Engine, EngineCompatibilityError, EngineLoadError, check_compatible
from trtnet.runtime.gpu import GpuInfo
from trtnet.runtime.feeds import (input_capacities, max_input_shapes, nbytes, new_errors, numpy_dtype,
                                  validate_feeds, validate_shapes, with_log)
from trtnet.runtime.session import SessionError
from trtnet.sidecar import Sidecar, sidecar_path

N = DimRange(1, 5, 16)
SPEC = IOSpec(
    inputs=(TensorSpec("x", "float32", ("B", 4)), TensorSpec("n", "int32", (), is_shape_tensor=True)),
    outputs=(TensorSpec("y", "float32", ("B", 4)), TensorSpec("r", "float32", ("n",))),
    profiles=({"B": DimRange(1, 2, 8), "n": N}, {"B": DimRange(9, 12, 16), "n": N}),
)
H100 = GpuInfo("NVIDIA H100 80GB HBM3", 9, 0)
ADA = GpuInfo("NVIDIA RTX 4090", 8, 9)
TRT10 = ("tensorrt", Version("10.13.0.35"))
RTX17 = ("tensorrt_rtx", Version("1.7.1.116"))


def make_sidecar(flavor="tensorrt", version=None, targets=None, io=SPEC, plan_sha256=None):
    version = version or ("10.13.0.35" if flavor == "tensorrt" else "1.7.1.116")
    if targets is None:
        targets = ({"device": H100.name, "compute_capability": "9.0"} if flavor == "tensorrt"
                   else {"compute_capabilities": ["SM80", "SM86", "SM89", "SM120"]})
    return Sidecar(network="tiny", flavor=flavor, trt_version=version, trtnet_version=__version__, io=io,
                   targets=targets, plan_sha256=plan_sha256)


# ----- dtypes, sizing, feeds (CPU) -------------------------------------------------------------------------
def test_numpy_dtypes():
    assert numpy_dtype("float32") == np.float32 and numpy_dtype("float16") == np.float16
    assert numpy_dtype("int32") == np.int32 and numpy_dtype("bool") == np.bool_
    with pytest.raises(SpecError, match="'bfloat16': numpy has no bfloat16"):
        numpy_dtype("bfloat16")
    with pytest.raises(SpecError, match="'complex64'"):
        numpy_dtype("complex64")


def test_buffer_sizes_from_the_spec():
    assert max_input_shapes(SPEC, 0) == {"x": (8, 4), "n": 16}
    assert max_input_shapes(SPEC, 1) == {"x": (16, 4), "n": 16}
    assert input_capacities(SPEC) == {"x": 16 * 4 * 4}          # the largest profile; n lives on the host
    assert nbytes(TensorSpec("m", "float16", ("B", 80)), (3, 80)) == 3 * 80 * 2
    single = IOSpec(inputs=(TensorSpec("t", "int64", ("B", "T")),), outputs=(),
                    dims={"B": DimRange(1, 1, 4), "T": DimRange(4, 128, 256)})
    assert input_capacities(single) == {"t": 4 * 256 * 8}


def test_valid_feeds_bind_dims():
    x = np.zeros((3, 4), np.float32)
    assert validate_feeds(SPEC, {"x": x, "n": 5}) == {"B": 3}
    assert validate_feeds(SPEC, {"x": np.zeros((12, 4), np.float32), "n": np.array(7, np.int32)}, 1) == {"B": 12}
    assert validate_shapes(SPEC, {"x": (3, 4), "n": 5}) == {"B": 3}


@pytest.mark.parametrize("feeds, profile, match", [
    ({"x": np.zeros((3, 4), np.float32)}, 0, "input 'n' is missing"),
    ({"x": np.zeros((3, 4), np.float32), "n": 5, "z": np.zeros(1)}, 0, r"unknown inputs \['z'\]"),
    ({"x": np.zeros((3, 4, 1), np.float32), "n": 5}, 0, "input 'x': expected rank 2"),
    ({"x": np.zeros((3, 5), np.float32), "n": 5}, 0, "input 'x' axis 1: expected 4, got 5"),
    ({"x": np.zeros((9, 4), np.float32), "n": 5}, 0, r"'B' = 9 is outside the profile range \[1, 8\]"),
    ({"x": np.zeros((3, 4), np.float32), "n": 5}, 1, r"'B' = 3 is outside the profile range \[9, 16\]"),
    ({"x": np.zeros((3, 4), np.float32), "n": 17}, 0, r"'n' = 17 is outside"),
    ({"x": np.zeros((3, 4), np.float64), "n": 5}, 0, "input 'x': dtype float64, the engine takes float32"),
    ({"x": np.zeros((3, 4), np.float32), "n": np.array(5, np.int64)}, 0, "input 'n': dtype int64"),
    ({"x": np.zeros((3, 4), np.float32), "n": np.array([5, 6], np.int32)}, 0, "takes one value"),
    ({"x": [[0.0] * 4] * 3, "n": 5}, 0, "input 'x': expected a numpy array, got list"),
    ({"x": 3, "n": 5}, 0, "expected a shape or an array, got the int 3"),
    ({"x": np.zeros((3, 4), np.float32), "n": 5}, 2, "profile 2 does not exist"),
])
def test_feed_errors_name_the_tensor(feeds, profile, match):
    with pytest.raises(SpecError, match=match):
        validate_feeds(SPEC, feeds, profile)


def test_shape_tensor_shapes_are_values():
    with pytest.raises(SpecError, match="input 'n': a shape-tensor input takes one int value"):
        validate_shapes(SPEC, {"x": (3, 4), "n": (5,)})


# ----- compatibility (CPU) ---------------------------------------------------------------------------------
def test_gpu_info_names():
    assert (H100.compute_capability, H100.sm, ADA.sm) == ("9.0", "SM90", "SM89")


def test_matching_plans_pass(tmp_path):
    check_compatible(make_sidecar(), tmp_path / "a.plan", *TRT10, H100)
    check_compatible(make_sidecar("tensorrt_rtx", "1.7.0.1"), tmp_path / "a.plan", *RTX17, ADA)  # patch may differ
    check_compatible(make_sidecar(), tmp_path / "a.plan", *TRT10, None)


@pytest.mark.parametrize("sidecar, here, gpu, match", [
    (make_sidecar("tensorrt"), RTX17, ADA, r"built with tensorrt, but tensorrt_rtx 1\.7\.1\.116 runs here"),
    (make_sidecar("tensorrt", "10.13.0.34"), TRT10, H100,
     r"built with tensorrt 10\.13\.0\.34, but tensorrt 10\.13\.0\.35 is here \(plans need the same version\)"),
    (make_sidecar("tensorrt_rtx", "1.6.0.5"), RTX17, ADA, r"1\.6\.0\.5, but tensorrt_rtx 1\.7\.1\.116.*major\.minor"),
    (make_sidecar("tensorrt"), TRT10, ADA,
     r"built for compute capability 9\.0 \(NVIDIA H100 80GB HBM3\), but this GPU is NVIDIA RTX 4090 "
     r"\(compute capability 8\.9\)"),
    (make_sidecar("tensorrt", targets={}), TRT10, H100, "does not record targets.compute_capability"),
    (make_sidecar("tensorrt_rtx"), RTX17, H100, r"built for \['SM80', 'SM86', 'SM89', 'SM120'\].*\(SM90\).*no SM90"),
    (make_sidecar("tensorrt_rtx", targets={"compute_capabilities": ["SM80"]}), RTX17, ADA,
     r"\(SM89\); rebuild with SM89 among the targets"),
    (make_sidecar("tensorrt", "ten"), TRT10, H100, "'ten' is not a version"),
])
def test_mismatches_name_plan_and_both_sides(tmp_path, sidecar, here, gpu, match):
    with pytest.raises(EngineCompatibilityError, match=match) as info:
        check_compatible(sidecar, tmp_path / "dec.plan", *here, gpu)
    assert str(tmp_path / "dec.plan") in str(info.value)


@pytest.fixture
def fake_flavor():
    """A resolved-looking flavour whose module must never be used (checks happen before deserializing)."""
    return flavor_mod.Flavor("tensorrt", types.ModuleType("not_tensorrt"), Version("10.13.0.35"))


def write_plan(tmp_path, sidecar, data=b"not really a plan"):
    plan = tmp_path / "tiny.plan"
    plan.write_bytes(data)
    sidecar.write(sidecar_path(plan))
    return plan


def test_load_missing_plan_or_sidecar(tmp_path, fake_flavor):
    with pytest.raises(EngineLoadError, match="nope.plan: no such plan file"):
        Engine.load(tmp_path / "nope.plan", flavor=fake_flavor)
    (tmp_path / "bare.plan").write_bytes(b"x")
    with pytest.raises(EngineLoadError, match=r"bare\.json: no sidecar"):
        Engine.load(tmp_path / "bare.plan", flavor=fake_flavor)


@pytest.mark.parametrize("sidecar, gpu, match", [
    (make_sidecar("tensorrt_rtx", "1.7.1.116"), H100, "built with tensorrt_rtx"),
    (make_sidecar("tensorrt", "10.14.1.48"), H100, "built with tensorrt 10.14.1.48"),
    (make_sidecar(), ADA, "built for compute capability 9.0"),
    (make_sidecar(plan_sha256="0" * 64), H100, "does not match the sha256 its sidecar records"),
])
def test_load_checks_before_deserializing(tmp_path, monkeypatch, fake_flavor, sidecar, gpu, match):
    monkeypatch.setattr(engine_mod.gpu_mod, "current_gpu", lambda: gpu)
    with pytest.raises(EngineLoadError, match=match):
        Engine.load(write_plan(tmp_path, sidecar), flavor=fake_flavor)   # fake module: never deserialized


def test_load_without_gpu_says_why(tmp_path, monkeypatch, fake_flavor):
    def no_gpu():
        raise CudaError("cudaGetDevice", "cudaErrorNoDevice", "no CUDA-capable device is detected")
    monkeypatch.setattr(engine_mod.gpu_mod, "current_gpu", no_gpu)
    with pytest.raises(EngineLoadError, match="no usable CUDA GPU: cudaGetDevice failed: cudaErrorNoDevice"):
        Engine.load(write_plan(tmp_path, make_sidecar()), flavor=fake_flavor)


def test_garbage_plan_carries_the_tensorrt_log(tmp_path, monkeypatch):
    try:
        fl = flavor_mod.resolve()
    except flavor_mod.FlavorError as e:
        pytest.skip(f"no TensorRT module: {e}")
    gpu = GpuInfo("test GPU", 8, 9)
    targets = ({"compute_capability": "8.9"} if fl.name == "tensorrt" else {"compute_capabilities": ["SM89"]})
    data = b"garbage, not a plan" * 8
    sidecar = make_sidecar(fl.name, str(fl.version), targets, plan_sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(engine_mod.gpu_mod, "current_gpu", lambda: gpu)
    with pytest.raises(EngineLoadError, match=f"tiny.plan: {fl} could not deserialize the plan:\n  ") as info:
        Engine.load(write_plan(tmp_path, sidecar, data), flavor=fl)
    assert not isinstance(info.value, EngineCompatibilityError)


def test_new_errors_are_the_errors_since_the_mark():
    logger = types.SimpleNamespace(messages=["[E] old", "[W] warned"])
    mark = len(logger.messages)
    logger.messages += ["[W] a warning", "[E] Error Code 1: bad plan", "[E] second"]
    assert new_errors(logger, mark) == ["Error Code 1: bad plan", "second"]
    assert new_errors(logger, 99) == []
    assert with_log("x failed", []) == "x failed (TensorRT logged no error)"
    assert with_log("x failed", ["a", "b"]) == "x failed:\n  a\n  b"


# ----- execution (TensorRT-capable GPU) --------------------------------------------------------------------
def _trt_gpu():
    """(flavour, GPU) when engines can run here, else skip with the reason."""
    ok, why = cuda_available()
    if not ok:
        pytest.skip(f"needs a TensorRT-capable GPU: {why}")
    try:
        fl = flavor_mod.resolve()
    except flavor_mod.FlavorError as e:
        pytest.skip(f"needs TensorRT: {e}")
    gpu = engine_mod.gpu_mod.current_gpu()
    if fl.is_rtx and not hasattr(fl.module.ComputeCapability, gpu.sm):
        pytest.skip(f"{fl} engines cannot run on {gpu} (no {gpu.sm} target in TensorRT-RTX)")
    return fl, gpu


def build_tiny(fl, gpu, plan):
    """Build SPEC's network with the raw TensorRT API; write plan + sidecar."""
    trt = fl.module
    builder = trt.Builder(CapturingLogger(trt))
    net = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    x = net.add_input("x", trt.float32, (-1, 4))
    n = net.add_input("n", trt.int32, ())

    def const(value, shape=(1, 1), dtype=np.float32):
        return net.add_constant(shape, np.full(shape, value, dtype)).get_output(0)

    two_x = net.add_elementwise(x, const(2.0), trt.ElementWiseOperation.PROD).get_output(0)
    y = net.add_elementwise(two_x, const(1.0), trt.ElementWiseOperation.SUM).get_output(0)
    n1 = net.add_shuffle(n)
    n1.reshape_dims = (1,)
    fill = net.add_fill((0,), trt.FillOperation.LINSPACE, trt.float32)
    fill.set_input(0, n1.get_output(0))
    fill.set_input(1, const(0.0, ()))
    fill.set_input(2, const(1.0, (1,)))
    for name, t in (("y", y), ("r", fill.get_output(0))):
        t.name = name
        net.mark_output(t)
    config = builder.create_builder_config()
    for ranges in SPEC.all_profiles():
        p = builder.create_optimization_profile()
        p.set_shape("x", *SPEC.profile_shapes(ranges, SPEC.input("x")))
        p.set_shape_input("n", *SPEC.profile_shapes(ranges, SPEC.input("n")))
        config.add_optimization_profile(p)
    if fl.is_rtx:
        config.num_compute_capabilities = 1
        config.set_compute_capability(getattr(trt.ComputeCapability, gpu.sm), 0)
        targets = {"compute_capabilities": [gpu.sm]}
    else:
        targets = {"device": gpu.name, "compute_capability": gpu.compute_capability}
    data = bytes(builder.build_serialized_network(net, config))
    plan.write_bytes(data)
    make_sidecar(fl.name, str(fl.version), targets, plan_sha256=hashlib.sha256(data).hexdigest()).write(
        sidecar_path(plan))
    return plan


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    fl, gpu = _trt_gpu()
    plan = build_tiny(fl, gpu, tmp_path_factory.mktemp("tiny") / "tiny.plan")
    with Engine.load(plan) as eng:
        yield eng


@pytest.mark.trt_gpu
def test_run_matches_numpy_and_trims_outputs(tiny):
    rng = np.random.default_rng(0)
    with tiny.session() as s:
        for b, n in ((3, 5), (1, 16), (8, 1)):
            x = rng.standard_normal((b, 4)).astype(np.float32)
            out = s.run({"x": x, "n": n})
            np.testing.assert_allclose(out["y"], 2 * x + 1, rtol=1e-6)
            np.testing.assert_array_equal(out["r"], np.arange(n, dtype=np.float32))
        x = rng.standard_normal((12, 4)).astype(np.float32)
        out = s.run({"x": x, "n": np.array(3, np.int32)}, profile=1)
        np.testing.assert_allclose(out["y"], 2 * x + 1, rtol=1e-6)
        assert s.capacity("x") == 16 * 4 * 4 and s.capacity("y") == 16 * 4 * 4 and s.capacity("r") == 16 * 4
        with pytest.raises(SpecError, match="input 'x': dtype float64"):
            s.run({"x": x.astype(np.float64), "n": 3}, profile=1)


@pytest.mark.trt_gpu
def test_ping_pong_keeps_data_on_the_device(tiny):
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    with tiny.session() as s:
        s.set_inputs({"x": x, "n": 2})
        for _ in range(3):
            shapes = s.run_device()
            s.swap({"x": "y"})          # this step's y is the next step's x
        assert shapes == {"y": (2, 4), "r": (2,)}
        s.swap({"x": "y"})              # the last result is bound to 'y' again
        np.testing.assert_allclose(s.fetch(["y"])["y"], 8 * x + 7, rtol=1e-6)
        assert s.timed(s.run_device) > 0.0
        with pytest.raises(SpecError, match="no device buffer for 'q'"):
            s.buffer("q")


@pytest.mark.trt_gpu
def test_cuda_graph_replay_gives_the_same_results(tiny):
    x = np.ones((4, 4), np.float32)
    with tiny.session(cuda_graph=True) as s:
        for _ in range(4):
            out = s.run({"x": x, "n": 4})
            np.testing.assert_allclose(out["y"], 3 * x)
        s.set_inputs({"x": x, "n": 4})
        for _ in range(4):              # ping-pong alternates between two captured graphs
            s.run_device()
            s.swap({"x": "y"})
        s.swap({"x": "y"})
        np.testing.assert_allclose(s.fetch(["y"])["y"], 31 * x)


@pytest.mark.trt_gpu
def test_stale_sidecar_is_rejected(tiny, tmp_path):
    plan = tmp_path / "stale.plan"
    plan.write_bytes(tiny.path.read_bytes())
    wider = IOSpec(SPEC.inputs, SPEC.outputs, profiles=({"B": DimRange(1, 2, 32), "n": N}, SPEC.profiles[1]))
    s = tiny.sidecar
    Sidecar(s.network, s.flavor, s.trt_version, s.trtnet_version, wider, targets=s.targets).write(
        sidecar_path(plan))
    with pytest.raises(EngineCompatibilityError, match=r"input 'x' profile 0 is \(min, opt, max\)"):
        Engine.load(plan)


@pytest.mark.trt_gpu
def test_session_refuses_fetches_and_profiles_it_does_not_have(tiny):
    with tiny.session() as s:
        with pytest.raises(SpecError, match="not an output"):
            s.fetch(["r"])              # nothing has run yet
        with pytest.raises(SpecError, match="profile 7 does not exist; the engine has 2"):
            s.set_inputs({"x": np.ones((3, 4), np.float32), "n": 2}, profile=7)


def test_tiny_network_builds_where_it_can(tmp_path):
    """The raw-API build above, checked wherever a builder works (TensorRT-RTX builds on a CPU-only machine)."""
    try:
        fl = flavor_mod.resolve()
    except flavor_mod.FlavorError as e:
        pytest.skip(f"no TensorRT module: {e}")
    if not fl.is_rtx and not cuda_available()[0]:
        pytest.skip(f"{fl} needs a GPU to build: {cuda_available()[1]}")
    plan = build_tiny(fl, GpuInfo("target", 8, 9), tmp_path / "tiny.plan")
    assert plan.stat().st_size > 0
    sidecar = Sidecar.read(sidecar_path(plan))
    assert sidecar.io == SPEC and sidecar.flavor == fl.name
    assert sidecar.plan_sha256 == hashlib.sha256(plan.read_bytes()).hexdigest()
