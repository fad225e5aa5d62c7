"""hifigan / hifigan-denoiser on TensorRT: inferred shapes equal eager shapes, the interpreter agrees with eager
(batch 3, ragged), and TensorRT-RTX builds with the default profiles (batch 1..8, up to 2000 mel frames).

CI builds the small config and times the full-size (512-channel) generator build at both precisions:
``pytest -q tests/test_hifigan_build.py -k full_size -s`` prints the times.
"""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_hifigan import hg_full, hg_small, run_network  # noqa: F401 (fixtures)
from graph_helpers import assert_built, build_plan
from trtnet.graph import Graph
from trtnet.verify.interpret_suite import run_case
from trtnet.layers import networks
from trtnet.layers.options import DEFAULT_MAX_FRAMES, NetworkOptions

NAMES = ["hifigan", "hifigan-denoiser"]
FP16_GENERATOR_BOUND = 5e-3  # = test_hifigan_layers.FP16_TOLERANCE


def _trt_graph(model, name: str, opts: NetworkOptions, static: dict | None = None) -> Graph:
    g = Graph.trt(name, static_dims=static)
    networks.define(name, g, model.store, opts)
    return g


def _feeds(model, name: str, opts: NetworkOptions, batch: int, frames: int) -> dict:
    if name == "hifigan-denoiser":
        audio = np.zeros((batch, frames * model.config.upsample_stride), np.float32)
        return {"audio": audio, "samples": np.full(batch, audio.shape[1], np.int32), "strength": 0.1}
    return {"mel": model.mel(batch, frames).astype(opts.dtype.numpy), "frames": np.full(batch, frames, np.int32)}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("batch,frames", [(1, 1), (3, 5)])
def test_tensorrt_shapes_equal_eager_shapes(hg_small, name, precision, batch, frames):
    opts = NetworkOptions(precision=precision)
    eager = run_network(name, hg_small, _feeds(hg_small, name, opts, batch, frames), opts)
    length = {"L": frames * hg_small.config.upsample_stride} if name == "hifigan-denoiser" else {"T_mel": frames}
    g = _trt_graph(hg_small, name, opts, {"B": batch, **length})
    assert {k: tuple(spec.shape) for k, (spec, _) in g.outputs.items()} == {k: tuple(v.shape) for k, v in eager.items()}
    assert all(spec.dtype == "float32" for spec, _ in g.outputs.values())


def test_io_spec_and_layer_names(hg_small):
    c = hg_small.config
    spec = _trt_graph(hg_small, "hifigan", NetworkOptions(precision="fp16")).io_spec()
    assert {s.name: (s.dtype, tuple(s.shape)) for s in spec.inputs} == {
        "mel": ("float16", ("B", c.n_mel_channels, "T_mel")), "frames": ("int32", ("B",))}
    assert [s.name for s in spec.outputs] == ["audio"]
    assert (spec.dims["B"].min, spec.dims["B"].max, spec.dims["T_mel"].max) == (1, 8, DEFAULT_MAX_FRAMES)
    net = _trt_graph(hg_small, "hifigan", NetworkOptions()).backend.network
    names = [net.get_layer(i).name for i in range(net.num_layers)]
    for prefix in ("conv_pre/weight", "ups/3/", "resblocks/2/1/convs1/2/", "resblocks/0/2/convs2/0/weight",
                   "conv_post/bias", "audio/mask_output"):
        assert any(n.startswith(prefix) for n in names), prefix
    d = _trt_graph(hg_small, "hifigan-denoiser", NetworkOptions()).io_spec()
    hop = c.upsample_stride
    assert (d.dims["L"].min, d.dims["L"].max) == (hop, hop * DEFAULT_MAX_FRAMES)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("name", NAMES)
def test_interpreter_agrees_with_eager(hg_small, name, precision, record_property):
    """The TensorRT definition, interpreted on the CPU, vs the eager twin: batch 3, ragged frames/samples.
    FP16 generator: ~40 FP16 convs in series, rounded at different points by the two (PyTorch's CPU half conv,
    the interpreter's float32 conv rounded per layer): measured 1.7e-3 … 2.2e-3 of the max over seeds 0–3, the
    same size as each one's error against the float64 reference, so the bound is that test's 5e-3."""
    bound = FP16_GENERATOR_BOUND if (name, precision) == ("hifigan", "fp16") else None
    res = run_case(name, precision, hg_small.store, bound=bound)
    record_property("errors", {c.output: c.error for c in res.checks})
    assert res.passed, "\n".join(c.row() for c in res.checks) + f"\nfirst difference: {res.first_difference}"


@pytest.mark.parametrize("name,precision", [("hifigan", "fp32"), ("hifigan", "fp16"), ("hifigan-denoiser", "fp16")])
def test_small_config_builds_at_full_profile_ranges(hg_small, name, precision, tmp_path):
    res = build_plan(_trt_graph(hg_small, name, NetworkOptions(precision=precision)), tmp_path)
    assert res.plan_bytes > 0 and res.sidecar.io.dims["B"].max == 8
    dim = res.sidecar.io.dims["L" if name == "hifigan-denoiser" else "T_mel"]
    assert dim.max == DEFAULT_MAX_FRAMES * (hg_small.config.upsample_stride if name == "hifigan-denoiser" else 1)


@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_full_size_hifigan_builds(hg_full, precision, tmp_path, record_property):
    """DLE-size generator (512 channels), batch 1..8, up to 2000 mel frames (512,000 samples)."""
    g = _trt_graph(hg_full, "hifigan", NetworkOptions(precision=precision))
    res = build_plan(g, tmp_path)
    record_property("build_seconds", round(res.seconds, 1))
    print(f"full-size hifigan {precision}: built in {res.seconds:.1f} s, {res.plan_bytes / 1e6:.1f} MB")
    assert_built(res, g)
