"""The README's library demo: eager generation equals an independent numpy char-LSTM; the engine builds on CPU."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from trtnet.graph import Graph

spec = importlib.util.spec_from_file_location("char_lstm", Path(__file__).parents[1] / "examples" / "char_lstm.py")
char_lstm = importlib.util.module_from_spec(spec)
sys.modules["char_lstm"] = char_lstm
spec.loader.exec_module(char_lstm)


def _numpy_generate(w, prompt_ids, max_new):
    sig = lambda v: 1 / (1 + np.exp(-v))
    layers = sum(1 for k in w if k.endswith(".w_hh_t"))
    H = w["lstm0.w_hh_t"].shape[0]
    B = prompt_ids.shape[0]
    h = [np.zeros((B, H)) for _ in range(layers)]
    c = [np.zeros((B, H)) for _ in range(layers)]

    def step(tok):
        x = w["embedding"][tok]
        for n in range(layers):
            gates = x @ w[f"lstm{n}.w_ih_t"] + w[f"lstm{n}.bias"] + h[n] @ w[f"lstm{n}.w_hh_t"]
            i, f, g, o = np.split(gates, 4, axis=-1)
            c[n] = sig(f) * c[n] + sig(i) * np.tanh(g)
            h[n] = sig(o) * np.tanh(c[n])
            x = h[n]
        return x
    for t in range(prompt_ids.shape[1]):
        step(prompt_ids[:, t])
    tok, done, out = prompt_ids[:, -1], np.zeros(B, bool), []
    for _ in range(max_new):
        tok = (step(tok) @ w["out.weight_t"]).argmax(-1)
        out.append(np.where(done, 0, tok))
        done |= tok == char_lstm.END
        if done.all():
            break
    return np.array(out).T


def test_eager_generation_matches_numpy_and_stops_when_all_rows_end():
    w = char_lstm.make_weights(seed=4)
    ids = char_lstm.encode(["hello world", "abc"])
    g = Graph.eager({"prompt": ids, "max_new": 200})
    char_lstm.define(g, w)
    res = g.results()
    want = _numpy_generate({k: v.astype(np.float64) for k, v in w.items()}, ids, 200)
    n = int(res["n_steps"])
    assert n == want.shape[1] < 200, "stopped by the WHILE condition, not the cap"
    np.testing.assert_array_equal(res["tokens"].numpy()[:, :n], want)
    assert not res["tokens"].numpy()[:, n:].any(), "the tail past n_steps is zero"


def test_count_cap_and_engine_build(tmp_path):
    w = char_lstm.make_weights(seed=4)
    g = Graph.eager({"prompt": char_lstm.encode(["hello world"]), "max_new": 3})
    char_lstm.define(g, w)
    assert int(g.results()["n_steps"]) == 3
    from trtnet.build import BuildConfig, build
    t = Graph.trt("char_lstm")
    char_lstm.define(t, w)
    res = build(t, tmp_path / "char_lstm.plan", BuildConfig(optimization_level=0))
    assert res.sidecar.io.input("max_new").is_shape_tensor and res.sidecar.io.dims["P"].max == 64
    assert res.sidecar.io.output("tokens").dtype == "int32"
