"""build(): plan + sidecar written atomically, the I/O spec with profile ranges, BuildError with TensorRT's log."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trtnet import ops
from trtnet.build import BuildConfig, build
from trtnet.errors import BuildError, GraphError
from trtnet.graph import Graph
from trtnet.sidecar import Sidecar


def _tiny(name="tiny"):
    g = Graph.trt(name)
    g.dim("B", 1, 2, 8)
    g.dim("T", 1, 16, 128)
    x = g.input("x", "float16", ("B", "T", 4))
    g.output("y", ops.relu(x) * 2.0, dtype="float32")
    return g


def test_plan_and_sidecar(tmp_path, flavor):
    res = build(_tiny(), tmp_path / "tiny.plan", BuildConfig(optimization_level=0), weights_sha256="ab" * 32,
                extra={"precision": "fp16"})
    assert res.plan_path.read_bytes()[:4] and res.plan_bytes == res.plan_path.stat().st_size
    side = Sidecar.read(tmp_path / "tiny.json")
    assert side.flavor == flavor.name and side.trt_version == str(flavor.version)
    assert side.weights_sha256 == "ab" * 32 and side.extra["precision"] == "fp16"
    x = side.io.input("x")
    assert x.shape == ("B", "T", 4) and x.dtype == "float16"
    assert side.io.output("y").dtype == "float32"
    assert side.io.dims["T"].max == 128
    assert side.build_config["optimization_level"] == 0
    if flavor.is_rtx:
        assert side.targets["compute_capabilities"] == ["SM80", "SM86", "SM89", "SM120"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.layers.json", "tiny.plan"]  # no temp
    layers = json.loads((tmp_path / "tiny.layers.json").read_text())
    assert {"ACTIVATION", "CAST"} <= {row["type"] for row in layers} and all(row["name"] for row in layers)
    assert json.loads((tmp_path / "tiny.json").read_text())["plan_sha256"] == side.plan_sha256


def test_profile_overrides_and_unknown_profile_dims(tmp_path):
    res = build(_tiny(), tmp_path / "p.plan", BuildConfig(profiles=({"T": (1, 8, 32)}, {"T": (33, 64, 256)}),
                                                          optimization_level=0))
    assert [p["T"].max for p in res.sidecar.io.profiles] == [32, 256]
    with pytest.raises(GraphError, match=r"unknown dimension names \['X'\]"):
        build(_tiny(), tmp_path / "q.plan", BuildConfig(profiles=({"X": (1, 1, 1)},)))


def test_rtx_targets(tmp_path, flavor):
    if not flavor.is_rtx:
        pytest.skip("compute-capability targets are a TensorRT-RTX option; datacenter TensorRT builds for its GPU")
    res = build(_tiny(), tmp_path / "t.plan", BuildConfig(compute_capabilities=("SM89",), optimization_level=0))
    assert res.sidecar.targets == {"compute_capabilities": ["SM89"]}


def test_failing_build_raises_with_the_tensorrt_log_and_leaves_no_file(tmp_path):
    g = Graph.trt("bad")
    g.dim("B", 1, 2, 4)
    v = g.input("v", "float32", ("B", 4))
    g.output("y", ops.broadcast_to(v, [3, 4]))  # B may be 2..4: reading 3 rows of a B-row tensor can fail
    with pytest.raises(BuildError) as err:
        build(g, tmp_path / "bad.plan", BuildConfig(optimization_level=0))
    assert "out of bounds" in str(err.value) and err.value.log
    assert list(tmp_path.iterdir()) == []


def test_eager_graph_and_output_less_graph_are_refused(tmp_path):
    with pytest.raises(GraphError, match="needs a TensorRT graph"):
        build(Graph.eager({}), tmp_path / "e.plan")
    with pytest.raises(GraphError, match="no outputs"):
        build(Graph.trt("empty"), tmp_path / "e.plan")
