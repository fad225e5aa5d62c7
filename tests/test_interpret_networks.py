"""Every registry network (small demo config) at FP32 and FP16, interpreted from its TensorRT definition and
compared with the eager twin on dynamic shapes that are not the profile's opt values: batch 3 with ragged
lengths, an odd text length, a step cap below the profile max.  Feeds come from each network's own input spec
(``trtnet.verify.interpret_feeds``); the decoder networks get the encoder's eager memory of the same tokens so their
gates stop on their own."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_tacotron2 import t2_full, t2_small
from fixtures_waveglow import wg_small
from trtnet.graph import Graph
from trtnet.interpret import interpret_network
from trtnet.verify.interpret_suite import STEPS, dims_for, run_case
from trtnet.verify.interpret_feeds import make_feeds
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions

__all__ = ["t2_full", "t2_small", "wg_small"]

T2 = ["encoder", "decoder-loop", "decoder-step", "postnet", "fused"]
WG = ["waveglow", "denoiser"]


def interprets_like_eager(network: str, precision: str, store, record_property):
    """run_case of ``network``: its seconds and per-output errors recorded, every check passed."""
    res = run_case(network, precision, store)
    record_property("seconds", round(res.seconds, 2))
    record_property("errors", {c.output: c.error for c in res.checks})
    assert res.passed, "\n".join(c.row() for c in res.checks) + f"\nfirst difference: {res.first_difference}"
    return res


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("network", T2)
def test_tacotron2_networks_interpret_like_eager(network, precision, t2_small, record_property):
    res = interprets_like_eager(network, precision, t2_small.store, record_property)
    if network in ("decoder-loop", "fused"):
        n = int(res.outputs["n_steps"])
        assert 1 < n < STEPS, f"the gates should stop before the cap: n_steps {n}"


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("network", WG)
def test_waveglow_networks_interpret_like_eager(network, precision, wg_small, record_property):
    interprets_like_eager(network, precision, wg_small.store, record_property)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("network", ["encoder", "decoder-loop", "postnet", "fused"])
def test_full_size_tacotron2_networks_interpret_like_eager(network, precision, t2_full, record_property):
    interprets_like_eager(network, precision, t2_full.store, record_property)


def test_library_example_interprets_like_eager():
    from test_example import char_lstm
    weights = char_lstm.make_weights()
    feeds = {"prompt": char_lstm.encode(["the quick brown fox", "hello", "abc"]), "max_new": 40}
    g = Graph.trt("char_lstm")
    char_lstm.define(g, weights)
    got = interpret_network(g.backend.network, feeds)
    e = Graph.eager(feeds)
    char_lstm.define(e, weights)
    want = {k: v.numpy() for k, v in e.results().items()}
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert got["tokens"].shape == (3, 40)


def test_full_size_decoder_loop_interprets_100_steps(t2_full, record_property):
    """100 steps of the full-size FP16 decoder loop (gate never stops); the time is recorded, not asserted (a slow
    machine is no bug)."""
    import time
    opts = NetworkOptions(precision="fp16", dropout="off")
    g = Graph.trt("decoder-loop")
    networks.define("decoder-loop", g, t2_full.store, opts)
    dims = {**dims_for(t2_full.config), "B": 1, "T_in": 67, "max_decoder_steps": 100}
    feeds = make_feeds(g.inputs, dims, t2_full.config, np.random.default_rng(0),
                       {"gate_threshold": np.array(1.5, np.float32)})
    t0 = time.perf_counter()
    out = interpret_network(g.backend.network, feeds)
    seconds = time.perf_counter() - t0
    record_property("seconds_per_100_steps", round(seconds, 2))
    assert int(out["n_steps"]) == 100 and out["mel"].shape[-1] == 100
    assert np.isfinite(out["mel"]).all() and np.abs(out["mel"][..., -1]).max() > 0     # the last step computed
