"""The decoder-chunk network: chunks resumed from each other's state concatenate exactly to the decoder loop's
frames (any chunk sizes, a ragged batch whose items stop in different chunks, the step cap), the all-finished
early exit (WHILE), its I/O contract, TensorRT-RTX builds (FP32/FP16) and the interpreter equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures_tacotron2 import decoder_feeds, ragged, t2_full, t2_small, text_ids  # noqa: F401 (fixtures)
from graph_helpers import assert_built, build_plan
from trtnet.graph import Graph
from trtnet.verify.interpret_suite import run_case
from trtnet.layers.networks import define
from trtnet.layers.options import NetworkOptions
from trtnet.layers.tacotron2.decoder import STATE_FIELDS
from trtnet.runtime.host_loop import zero_state_feeds
from trtnet.runtime.streaming import decode_chunks
from trtnet.engines.eager import EagerNetwork

STEPS = 45


class _Eager:
    """A session over the demo's eager twin (``run`` and ``io``) that records each chunk size it was fed."""

    def __init__(self, demo, name: str, **opts):
        self.net = EagerNetwork(name, demo.store, NetworkOptions(precision="fp32", **opts))
        self.io, self.chunks = self.net.io, []

    def run(self, feeds):
        if "chunk" in feeds:
            self.chunks.append(int(feeds["chunk"]))
        return self.net.run(feeds)


def _encoded(demo, seqs):
    tokens, lengths = ragged(seqs)
    enc = {k: v.numpy() for k, v in demo.run("encoder", {"tokens": tokens, "lengths": lengths}).items()}
    return enc, lengths


def _loop(demo, enc, lengths, steps, masks=None):
    extra = {} if masks is None else {"prenet_masks": masks}
    out = demo.run("decoder-loop", decoder_feeds(enc, lengths, steps, **extra),
                   dropout="off" if masks is None else "input")
    return {k: v.numpy() for k, v in out.items()}


@pytest.mark.parametrize("chunk", [1, 6, 16, 1000])
def test_chunks_concatenate_to_the_decoder_loop_exactly(chunk, t2_small, rng):
    """Ragged batch of 3 with fed prenet masks; the items stop at different steps, in different chunks."""
    seqs = [text_ids(60), text_ids(12), text_ids(30, 3)]
    enc, lengths = _encoded(t2_small, seqs)
    masks = (rng.random((STEPS, 3, 2, t2_small.config.prenet_dim)) < 0.5).astype(np.float32)
    want = _loop(t2_small, enc, lengths, STEPS, masks)
    n = int(want["n_steps"])
    session = _Eager(t2_small, "decoder-chunk", dropout="input")
    got = list(decode_chunks(session, enc, lengths, chunk_frames=chunk, max_decoder_steps=STEPS,
                             gate_threshold=0.5, prenet_masks=masks))
    assert len(set(want["mel_lengths"].tolist())) == 3 and n < STEPS
    assert [c.start for c in got] == list(range(0, n, chunk))[:len(got)]
    assert sum(session.chunks) >= n and all(c <= chunk for c in session.chunks)
    np.testing.assert_array_equal(np.concatenate([c.mel for c in got], -1), want["mel"][..., :n])
    np.testing.assert_array_equal(np.concatenate([c.gate for c in got], -1), want["gate"][:, :n])
    np.testing.assert_array_equal(got[-1].mel_lengths, want["mel_lengths"])
    assert got[-1].finished.all() and not any(c.finished.all() for c in got[:-1])


def test_a_gate_firing_in_the_first_chunk_ends_the_chunk_early(t2_small):
    """WHILE: the chunk stops at the step where every item finished, n_steps < chunk."""
    enc, lengths = _encoded(t2_small, [text_ids(12)])
    want = _loop(t2_small, enc, lengths, STEPS)
    n = int(want["n_steps"])
    got = list(decode_chunks(_Eager(t2_small, "decoder-chunk", dropout="off"), enc, lengths, chunk_frames=n + 10,
                             max_decoder_steps=STEPS, gate_threshold=0.5))
    assert len(got) == 1 and got[0].mel.shape[-1] == n and got[0].finished.all()
    np.testing.assert_array_equal(got[0].mel, want["mel"][..., :n])


def test_the_step_cap_ends_the_chunks_without_the_gate(t2_small):
    """A cap below the stop step: the last chunk is cut to the cap, nothing finished, mel_lengths = cap."""
    enc, lengths = _encoded(t2_small, [text_ids(60)])
    cap = 11
    want = _loop(t2_small, enc, lengths, cap)
    session = _Eager(t2_small, "decoder-chunk", dropout="off")
    got = list(decode_chunks(session, enc, lengths, chunk_frames=4, max_decoder_steps=cap, gate_threshold=0.5))
    assert session.chunks == [4, 4, 3] and not got[-1].finished.any() and int(got[-1].mel_lengths[0]) == cap
    np.testing.assert_array_equal(np.concatenate([c.mel for c in got], -1), want["mel"])


def test_the_per_step_network_gives_the_same_chunks(t2_small):
    """The fallback for engine directories without decoder-chunk: the chunk's steps on decoder-step."""
    enc, lengths = _encoded(t2_small, [text_ids(60), text_ids(20, 40)])
    want = _loop(t2_small, enc, lengths, STEPS)
    got = list(decode_chunks(_Eager(t2_small, "decoder-step", dropout="off"), enc, lengths, chunk_frames=8,
                             max_decoder_steps=STEPS, gate_threshold=0.5, per_step=True))
    n = int(want["n_steps"])
    np.testing.assert_array_equal(np.concatenate([c.mel for c in got], -1), want["mel"][..., :n])


def test_io_contract(t2_small):
    g = Graph.trt("decoder-chunk")
    define("decoder-chunk", g, t2_small.store, NetworkOptions(precision="fp32", dropout="input", alignments=True))
    io = g.io_spec()
    assert [s.name for s in io.inputs] == [*STATE_FIELDS, "memory", "processed_memory", "lengths", "gate_threshold",
                                           "chunk", "prenet_masks"]
    assert io.input("chunk").is_shape_tensor and io.dims["chunk"].max == t2_small.config.max_decoder_steps
    assert {s.name for s in io.outputs} == {"mel", "gate", "n_steps", "alignments", *(f"next_{k}" for k in STATE_FIELDS)}
    state = zero_state_feeds(io, {"B": 2, "T_in": 5})
    assert sorted(state) == sorted(STATE_FIELDS) and not any(v.any() for v in state.values())


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_interprets_like_eager(precision, t2_small):
    """Batch 3 ragged, resumed from a state where one item already finished (the suite's feeds)."""
    res = run_case("decoder-chunk", precision, t2_small.store)
    assert res.passed, "\n".join(c.row() for c in res.checks) + f"\nfirst difference: {res.first_difference}"


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_full_size_rtx_build(precision, t2_full, tmp_path):
    opts = NetworkOptions(precision=precision, dropout="input" if precision == "fp16" else "in-engine")
    g = Graph.trt(f"decoder-chunk-{precision}")
    define("decoder-chunk", g, t2_full.store, opts)
    res = build_plan(g, tmp_path)
    assert_built(res, g)
    ranges = {k: (r.min, r.opt, r.max) for k, r in res.sidecar.io.dims.items()}
    assert ranges["chunk"] == (1, 32, 2000) and ranges["B"] == (1, 1, 8)
