"""waveglow / denoiser on TensorRT: inferred shapes equal eager shapes, layer names follow the weight keys, and
TensorRT-RTX builds with the default profiles (batch 1..8, up to 2000 mel frames).

CI builds the small config at the full profile ranges and the full-size (WN 256) WaveGlow at both precisions
(seconds each since the lean-network work: ``pytest -q tests/test_layers_waveglow_build.py -k full_size``).
"""

from __future__ import annotations

import numpy as np
import pytest

from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import DEFAULT_MAX_FRAMES, NetworkOptions
from graph_helpers import assert_built, build_plan
from fixtures_waveglow import full_width, run_network, wg_full, wg_small  # noqa: F401 (fixtures)

VARIANTS = {  # id: (network, options)
    "waveglow-fp32": ("waveglow", NetworkOptions(precision="fp32")),
    "waveglow-fp16": ("waveglow", NetworkOptions(precision="fp16")),
    "waveglow-fp16-z-fused": ("waveglow", NetworkOptions(precision="fp16", noise="input", fuse_denoiser=True)),
    "denoiser": ("denoiser", NetworkOptions(precision="fp16")),
}


def _feeds(model, name: str, opts: NetworkOptions, batch: int, frames: int) -> dict:
    c = model.config
    if name == "denoiser":
        audio = np.zeros((batch, frames * c.upsample_stride), np.float32)
        return {"audio": audio, "samples": full_width(audio), "strength": 0.1}
    mel = model.mel(batch, frames).astype(opts.dtype.numpy)
    feeds = {"mel": mel, "frames": full_width(mel), "sigma": 0.6}
    if opts.noise == "input":
        feeds["z"] = model.z(batch, frames)
    if opts.fuse_denoiser:
        feeds["strength"] = 0.1
    return feeds


def _trt_graph(model, name: str, opts: NetworkOptions, static: dict | None = None) -> Graph:
    g = Graph.trt(name, static_dims=static)
    networks.define(name, g, model.store, opts)
    return g


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("batch,frames", [(1, 1), (3, 5)])
def test_tensorrt_shapes_equal_eager_shapes(wg_small, variant, batch, frames):
    name, opts = VARIANTS[variant]
    feeds = _feeds(wg_small, name, opts, batch, frames)
    eager = run_network(name, wg_small, feeds, opts)
    length = {"L": frames * wg_small.config.upsample_stride} if name == "denoiser" else {"T_mel": frames}
    dims = {"B": batch, **length}
    g = _trt_graph(wg_small, name, opts, dims)
    trt_shapes = {k: tuple(spec.shape) for k, (spec, _) in g.outputs.items()}
    assert trt_shapes == {k: tuple(v.shape) for k, v in eager.items()}
    assert all(spec.dtype == "float32" for spec, _ in g.outputs.values())


def test_io_spec_and_layer_names(wg_small):
    c = wg_small.config
    g = _trt_graph(wg_small, "waveglow", VARIANTS["waveglow-fp16-z-fused"][1])
    spec = g.io_spec()
    ins = {s.name: (s.dtype, tuple(s.shape)) for s in spec.inputs}
    assert ins == {"mel": ("float16", ("B", c.n_mel_channels, "T_mel")), "frames": ("int32", ("B",)),
                   "sigma": ("float32", ()),
                   "z": ("float32", ("B", c.n_group, "T_mel", c.upsample_stride // c.n_group)),
                   "strength": ("float32", ())}
    assert [s.name for s in spec.outputs] == ["audio", "audio_denoised"]
    assert (spec.dims["B"].min, spec.dims["B"].max, spec.dims["T_mel"].max) == (1, 8, DEFAULT_MAX_FRAMES)
    net = g.backend.network
    names = [net.get_layer(i).name for i in range(net.num_layers)]
    for prefix in ("upsample/weight", f"WN/{c.n_flows - 1}/in_layers/{c.wn_n_layers - 1}/weight",
                   "WN/0/cond_layers/0/bias", "WN/2/res_skip_layers/1/", "convinv/3/W_inverse", "denoiser/bias_spec",
                   "WN/4/end/"):
        assert any(n.startswith(prefix) for n in names), prefix
    d = _trt_graph(wg_small, "denoiser", NetworkOptions()).io_spec()
    assert {s.name: tuple(s.shape) for s in d.inputs} == {"audio": ("B", "L"), "samples": ("B",), "strength": ()}
    s = c.upsample_stride
    assert (d.dims["L"].min, d.dims["L"].opt, d.dims["L"].max) == (s, s * 600, s * DEFAULT_MAX_FRAMES)
    capped = _trt_graph(wg_small, "waveglow", NetworkOptions(max_decoder_steps=300, opt_batch=16)).io_spec()
    assert [(r.min, r.opt, r.max) for r in (capped.dims["T_mel"], capped.dims["B"])] == [(1, 300, 300), (1, 8, 8)]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_small_config_builds_at_full_profile_ranges(wg_small, variant, tmp_path):
    name, opts = VARIANTS[variant]
    g = _trt_graph(wg_small, name, opts)
    res = build_plan(g, tmp_path)
    assert_built(res, g)
    frames = res.sidecar.io.dims["L" if name == "denoiser" else "T_mel"]
    assert frames.max == DEFAULT_MAX_FRAMES * (wg_small.config.upsample_stride if name == "denoiser" else 1)
    assert res.sidecar.io.dims["B"].max == 8


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_full_size_waveglow_builds(wg_full, precision, tmp_path, record_property):
    """Full-size WaveGlow (WN 256), batch 1..8, up to 2000 mel frames."""
    g = _trt_graph(wg_full, "waveglow", NetworkOptions(precision=precision))
    res = build_plan(g, tmp_path)
    record_property("build_seconds", round(res.seconds, 1))
    assert_built(res, g)


def test_full_size_denoiser_builds(wg_full, tmp_path):
    """The 1024/256 denoiser (float32 in every precision), batch 1..8, up to 2000·256 samples."""
    res = build_plan(_trt_graph(wg_full, "denoiser", NetworkOptions()), tmp_path)
    assert res.plan_bytes > 0 and res.sidecar.io.dims["L"].max == DEFAULT_MAX_FRAMES * wg_full.config.upsample_stride
