"""Engine vs eager on a GPU that runs TensorRT engines: built here by trtnet, executed by the cuda-python runtime,
compared with the eager twin on the same feeds.  On machines that can't execute engines (no GPU; TensorRT-RTX
on an H100/H200) every test skips with the reason — never a fake pass."""

from __future__ import annotations

import numpy as np
import pytest

from trtnet import ops
from trtnet.build import BuildConfig, build
from trtnet.graph import Graph
from trtnet.loop import loop
from trtnet.runtime.gpu import engine_runtime_status

OK, WHY = engine_runtime_status()
pytestmark = [pytest.mark.trt_gpu, pytest.mark.skipif(not OK, reason=WHY)]


def _engine_vs_eager(define, feeds, tmp_path, atol=1e-4, rtol=1e-3):
    from trtnet.runtime.engine import Engine
    eager = Graph.eager(feeds)
    define(eager)
    want = {k: v.numpy() for k, v in eager.results().items()}
    g = Graph.trt("gpu_test")
    define(g)
    res = build(g, tmp_path / "gpu_test.plan", BuildConfig(optimization_level=0))
    with Engine.load(res.plan_path) as engine, engine.session() as s:
        got = s.run(feeds)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, atol=atol, rtol=rtol, err_msg=k)
    return got


def test_elementwise_matmul_softmax(tmp_path, rng):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    w = rng.standard_normal((4, 6)).astype(np.float32)

    def define(g):
        g.dim("B", 1, 3, 8)
        xi = g.input("x", "float32", ("B", 5, 4))
        g.output("y", ops.softmax(ops.tanh(ops.matmul(xi, g.constant(w))) * 2.0, -1))
    _engine_vs_eager(define, {"x": x}, tmp_path)


def test_loop_stop_step_and_zeroed_tail(tmp_path):
    """The WHILE/COUNT loop stops on the same step as the eager twin and the padded tail is zero."""
    def define(g):
        x = g.input("x", "float32", (2,))
        def body(s, it):
            h = s["h"] + 1.0
            return {"h": h}, {"h": h}, ops.reduce_max(h, None) < 4.0
        r = loop(body, {"h": x}, max_steps=10, name="count")
        g.output("hs", r.collected["h"])
        g.output("n", r.n_steps)
    got = _engine_vs_eager(define, {"x": np.zeros(2, np.float32)}, tmp_path)
    assert int(got["n"]) == 4 and not got["hs"][4:].any()


def test_tacotron2_decoder_loop_matches_eager(tmp_path):
    """Small demo Tacotron 2, fed masks: the engine's mel, mel_lengths and stop step equal eager."""
    from trtnet.engines.eager import EagerNetwork
    from trtnet.engines.engine_set import build_engine
    from trtnet.layers.options import NetworkOptions
    from trtnet.runtime.engine import Engine
    from trtnet.weights.sources import resolve
    src = resolve(None, "tacotron2", tmp_path, demo_size="small")
    opts = NetworkOptions(precision="fp32", dropout="input")
    rec = build_engine("encoder", src, tmp_path, opts, BuildConfig(optimization_level=0))  # [B, T_in] text
    dec = build_engine("decoder-loop", src, tmp_path, opts, BuildConfig(optimization_level=0))
    from trtnet.weights.store import WeightStore
    with WeightStore.open(src.h5_path) as store:
        ids = np.array([[20, 45, 52, 11, 38, 50]], np.int32)
        feeds = {"tokens": ids, "lengths": np.array([6], np.int32)}
        enc = EagerNetwork("encoder", store, opts).run(feeds)
        masks = (np.random.default_rng(0).random((50, 1, 2, store.config.prenet_dim)) < 0.5).astype(np.float32)
        dfeeds = {**enc, "lengths": feeds["lengths"], "max_decoder_steps": np.array(50, np.int32),
                  "gate_threshold": np.array(0.5, np.float32), "prenet_masks": masks}
        want = EagerNetwork("decoder-loop", store, opts).run(dfeeds)
    with Engine.load(rec.plan) as e1, e1.session() as s1, Engine.load(dec.plan) as e2, e2.session() as s2:
        np.testing.assert_allclose(s1.run(feeds)["memory"], enc["memory"], atol=1e-4)
        got = s2.run(dfeeds)
    assert int(got["n_steps"]) == int(want["n_steps"])
    np.testing.assert_array_equal(got["mel_lengths"], want["mel_lengths"])
    np.testing.assert_allclose(got["mel"], want["mel"], atol=1e-3)
