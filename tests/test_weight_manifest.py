"""The weight manifest: every constant layer of every registry network (small configs, TensorRT) is either a
manifest entry whose transform, applied to the named HDF5 keys, gives exactly the layer's values, or a
literal of one value (one element, or a fill repeated at its static sizes: no weight hides among them) or the axes
a size vector gathers from a shape (``dim_axes``: a few int64 indices); the build writes it into the sidecar; old
sidecars without it still read; transforms must be importable module-level functions; float64 constants need an
explicit dtype."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fixtures_fastpitch import fp_small  # noqa: F401 (fixture)
from fixtures_hifigan import hg_small  # noqa: F401 (fixture)
from fixtures_tacotron2 import t2_small  # noqa: F401 (fixture)
from fixtures_waveglow import wg_small  # noqa: F401 (fixture)
from trtnet import manifest, ops, refit
from trtnet.build import BuildConfig, build
from trtnet.errors import GraphError
from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions
from trtnet.sidecar import Sidecar, sidecar_path
from trtnet.weights.store import WeightStore

# weights read only to check another one (WaveGlow's W_inverse against conv.weight), never built into a layer
READ_FOR_CHECKS = re.compile(r"convinv\.\d+\.conv\.weight")
# the axes a size vector gathers from a tensor's shape (trtnet.ops.shape): indices, not values
SHAPE_AXES = re.compile(r"(.*/)?dim_axes(_\d+)?")


def constant_values(g: Graph) -> dict[str, np.ndarray]:
    """Every IConstantLayer's values, read back from the network (the layer's own weights and shape)."""
    net, trt = g.network, g.flavor.module
    out = {}
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        if layer.type == trt.LayerType.CONSTANT:
            layer.__class__ = trt.IConstantLayer
            out[layer.name] = np.asarray(layer.weights).reshape(tuple(layer.shape))
    return out


@pytest.mark.parametrize("name", list(networks.NETWORKS))
def test_every_constant_is_a_manifest_entry_or_a_literal(name, request):
    model = request.getfixturevalue({"tacotron2": "t2_small", "waveglow": "wg_small",
                                     "hifigan": "hg_small", "fastpitch": "fp_small"}[networks.NETWORKS[name].architecture])
    with WeightStore.open(model.store.name) as store:   # a fresh store: its read record is this network's
        g = Graph.trt(name)
        networks.define(name, g, store, NetworkOptions(precision="fp16"))
        consts = constant_values(g)
        entries = g.manifest
        assert entries and set(entries) <= set(consts), sorted(set(entries) - set(consts))
        axes = {k: v for k, v in consts.items() if SHAPE_AXES.fullmatch(k)}
        assert all(v.dtype == np.int64 and v.ndim == 1 and v.size <= 8 for v in axes.values()), axes
        literals = {k: v for k, v in consts.items() if k not in entries and k not in axes}
        varied = {k: v.size for k, v in literals.items() if v.size > 1 and not np.all(v == v.flat[0])}
        assert not varied, varied
        keys = {k for e in entries.values() for k in e.keys}
        assert all(k in store for k in keys)
        assert keys <= set(store.used())
        assert all(READ_FOR_CHECKS.fullmatch(k) for k in set(store.used()) - keys), set(store.used()) - keys
        for layer, entry in entries.items():
            got = manifest.compute(entry, store.get)
            assert got.dtype == consts[layer].dtype and np.array_equal(got, consts[layer]), layer
            assert manifest.resolve(entry.transform) is not None
        again = manifest.from_json(json.loads(json.dumps(manifest.to_json(entries))))
        assert again == entries


def test_the_sidecar_carries_the_manifest_and_old_sidecars_still_read(tmp_path):
    g = Graph.trt("with_weights")
    g.dim("B", 1, 2, 4)
    x = g.input("x", "float32", ("B", 3))
    stored = {"lin.weight": np.arange(6, dtype=np.float32).reshape(2, 3)}
    with g.scope("lin"):
        w = g.weight(np.transpose, name="weight_t", dtype="float16", keys=["lin.weight"],
                     read=lambda k: stored[k].astype(np.float64))
    g.output("y", ops.matmul(ops.cast(x, "float16"), w), dtype="float32")
    res = build(g, tmp_path / "w.plan", BuildConfig(optimization_level=0))
    side = Sidecar.read(sidecar_path(res.plan_path))
    entry = side.manifest()["lin/weight_t"]
    assert (entry.keys, entry.transform, entry.dtype, entry.shape) == (("lin.weight",), "numpy.transpose",
                                                                       "float16", (3, 2))
    np.testing.assert_array_equal(manifest.compute(entry, stored.get), stored["lin.weight"].T.astype(np.float16))
    raw = json.loads(sidecar_path(res.plan_path).read_text())
    del raw["weights_manifest"]
    old = Sidecar.from_json(raw)
    assert old.manifest() is None

    # refit reads the manifest: new weights file → new values per layer, handed to TensorRT's refitter by name
    new = {"lin.weight": -stored["lin.weight"]}
    values = refit.manifest_weights(side, new.get)
    np.testing.assert_array_equal(values["lin/weight_t"], new["lin.weight"].T.astype(np.float16))
    with pytest.raises(refit.RefitError, match=r"lin/weight_t: cannot recompute from keys \['lin.weight'\]"):
        refit.manifest_weights(side, {}.__getitem__)
    with pytest.raises(refit.RefitError, match="has no weights_manifest"):
        refit.manifest_weights(old, new.get)


def _local_transform(x):
    return x


def test_transforms_must_be_importable_functions_and_float64_needs_a_dtype():
    g = Graph.trt("refused")

    def nested(x):
        return x
    for fn in (lambda x: x, nested):
        with pytest.raises(GraphError, match="module-level function"):
            g.weight(fn, name="w", dtype="float32", keys=["k"], read=lambda k: np.ones(2))
    assert manifest.transform_name(_local_transform).endswith("test_weight_manifest._local_transform")
    with pytest.raises(GraphError, match="must be JSON values"):
        g.weight(np.ones, name="w", dtype="float32", args={"shape": np.int64(2)})
    with pytest.raises(GraphError, match="float64 values"):
        g.constant(np.ones(3))
    with pytest.raises(GraphError, match="float64 values"):
        g.constant(0.5)
    assert g.constant(0.5, dtype="float32").dtype.value == "float32"
    assert g.constant(np.ones(3, np.float16)).dtype.value == "float16"
