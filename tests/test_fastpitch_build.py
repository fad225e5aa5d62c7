"""fastpitch on TensorRT: inferred shapes equal eager shapes, the interpreter agrees with eager (batch 3, ragged
text, per-item pace and pitch transform), and TensorRT-RTX builds with the default profiles (batch 1..8, text up
to 256 symbols, up to 2000 mel frames).  ``pytest -q tests/test_fastpitch_build.py -k full_size -s`` prints the
full-size build times."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_fastpitch import fastpitch_feeds, fp_full, fp_small, run_fastpitch  # noqa: F401 (fixtures)
from graph_helpers import assert_built, build_plan
from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import DEFAULT_MAX_FRAMES, NetworkOptions
from trtnet.verify.interpret_suite import run_case


def _trt_graph(model, opts: NetworkOptions, static: dict | None = None) -> Graph:
    g = Graph.trt("fastpitch", static_dims=static)
    networks.define("fastpitch", g, model.store, opts)
    return g


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("batch,text,frames", [(1, 1, 1), (3, 7, 40)])
def test_tensorrt_shapes_equal_eager_shapes(fp_small, precision, batch, text, frames):
    opts = NetworkOptions(precision=precision)
    ids = fp_small.tokens([text] * batch)
    eager = run_fastpitch(fp_small, fastpitch_feeds(ids, max_frames=frames), precision)
    g = _trt_graph(fp_small, opts, {"B": batch, "T_in": text, "max_frames": frames})
    assert {k: tuple(spec.shape) for k, (spec, _) in g.outputs.items()} == {k: tuple(v.shape) for k, v in eager.items()}


def test_io_spec(fp_small):
    c = fp_small.config
    spec = _trt_graph(fp_small, NetworkOptions(precision="fp16")).io_spec()
    assert {s.name: (s.dtype, tuple(s.shape)) for s in spec.inputs} == {
        "tokens": ("int32", ("B", "T_in")), "lengths": ("int32", ("B",)), "pace": ("float32", ("B",)),
        "pitch_scale": ("float32", ("B",)), "pitch_shift": ("float32", ("B",)), "max_frames": ("int32", ())}
    assert [(s.name, s.dtype) for s in spec.outputs] == [
        ("mel", "float16"), ("mel_lengths", "int32"), ("durations", "float32"), ("pitch", "float32")]
    assert spec.dims["max_frames"].max == DEFAULT_MAX_FRAMES and tuple(spec.outputs[0].shape)[1] == c.n_mel_channels


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_interpreter_agrees_with_eager(fp_small, precision, record_property):
    res = run_case("fastpitch", precision, fp_small.store)
    record_property("errors", {c.output: c.error for c in res.checks})
    assert res.passed, "\n".join(c.row() for c in res.checks) + f"\nfirst difference: {res.first_difference}"


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_small_config_builds_at_full_profile_ranges(fp_small, precision, tmp_path):
    g = _trt_graph(fp_small, NetworkOptions(precision=precision))
    res = build_plan(g, tmp_path)
    assert_built(res, g)
    assert res.sidecar.io.dims["B"].max == 8 and res.sidecar.io.dims["max_frames"].max == DEFAULT_MAX_FRAMES


@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_full_size_fastpitch_builds(fp_full, precision, tmp_path, record_property):
    """DLE-size FastPitch (384 wide, 6 + 6 FFT layers), batch 1..8, up to 2000 mel frames."""
    g = _trt_graph(fp_full, NetworkOptions(precision=precision))
    res = build_plan(g, tmp_path)
    record_property("build_seconds", round(res.seconds, 1))
    print(f"full-size fastpitch {precision}: built in {res.seconds:.1f} s, {res.plan_bytes / 1e6:.1f} MB, "
          f"{g.backend.network.num_layers} layers")
    assert_built(res, g)
