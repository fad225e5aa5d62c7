"""Tacotron 2 networks on the TensorRT side: the I/O contract (names, dtypes, profile ranges), TensorRT's
inferred shapes equal the eager shapes (small config, concrete dims), and TensorRT-RTX builds of every
network at FP32 and FP16 with the full-size config and the production profile (batch 1..8, text 1..256,
up to 2000 decoder steps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures_tacotron2 import t2_full, t2_small
from graph_helpers import assert_built, build_plan
from trtnet.graph import Graph
from trtnet.layers.networks import define
from trtnet.layers.options import NetworkOptions

__all__ = ["t2_full", "t2_small"]

STATE = ["attention_hidden", "attention_cell", "decoder_hidden", "decoder_cell", "attention_weights",
         "attention_weights_cum", "attention_context", "frame", "finished", "mel_lengths"]
DECODE_OUT = ["mel_lengths", "gate", "n_steps"]
IO = {  # network → (inputs, outputs) with dropout "input" and alignments on
    "encoder": (["tokens", "lengths"], ["memory", "processed_memory"]),
    "decoder-loop": (["memory", "processed_memory", "lengths", "max_decoder_steps", "gate_threshold",
                      "prenet_masks"], ["mel", *DECODE_OUT, "alignments"]),
    "decoder-step": ([*STATE, "memory", "processed_memory", "lengths", "gate_threshold", "prenet_mask"],
                     [f"next_{k}" for k in STATE] + ["mel", "gate", "alignment"]),
    "postnet": (["mel", "frames"], ["mel_postnet"]),
    "fused": (["tokens", "lengths", "max_decoder_steps", "gate_threshold", "prenet_masks"],
              ["mel_postnet", *DECODE_OUT, "alignments"]),
}
STATIC = {"B": 2, "T_in": 11, "max_decoder_steps": 7, "S": 9, "T": 13}


def feeds_for(g: Graph, cfg, rng) -> dict:
    """Eager feeds matching ``g``'s inputs at the STATIC dims (ragged lengths, valid token ids, {0,1} masks)."""
    feeds = {}
    for name, spec in g.inputs.items():
        if spec.is_shape_tensor:
            feeds[name] = STATIC[name]
            continue
        shape = tuple(STATIC[d] if isinstance(d, str) else d for d in spec.shape)
        if name in ("lengths", "frames"):
            width = STATIC["T_in" if name == "lengths" else "T"]
            feeds[name] = np.array([width] + [max(1, width - 4)] * (shape[0] - 1), np.int32)
        elif name == "tokens":
            feeds[name] = rng.integers(0, cfg.n_symbols, shape).astype(np.int32)
        elif name.startswith("prenet_mask"):
            feeds[name] = (rng.random(shape) < 0.5).astype(spec.dtype)
        elif spec.dtype == "int32":                      # decoder state counters: the all-zero start
            feeds[name] = np.zeros(shape, np.int32)
        else:
            feeds[name] = (rng.standard_normal(shape) * 0.3).astype(spec.dtype)
    return feeds


@pytest.mark.parametrize("options", [dict(precision="fp32", dropout="in-engine"),
                                     dict(precision="fp16", dropout="input", alignments=True),
                                     dict(precision="fp32", dropout="off", alignments=True)],
                         ids=["fp32-in-engine", "fp16-input-alignments", "fp32-off-alignments"])
@pytest.mark.parametrize("network", list(IO))
def test_io_contract_and_trt_shapes_equal_eager(network, options, t2_small, rng):
    opts = NetworkOptions(**options)
    g = Graph.trt(network, static_dims=STATIC)
    define(network, g, t2_small.store, opts)
    ins, outs = IO[network]
    if opts.dropout != "input":
        ins = [n for n in ins if not n.startswith("prenet_mask")]
    if not opts.alignments:
        outs = [n for n in outs if n not in ("alignments", "alignment")]
    assert sorted(g.inputs) == sorted(ins) and sorted(g.outputs) == sorted(outs)
    e = Graph.eager(feeds_for(g, t2_small.config, rng), name=network)
    define(network, e, t2_small.store, opts)
    for name, value in e.results().items():
        spec = g.outputs[name][0]
        assert tuple(spec.shape) == tuple(value.shape), f"{name}: TensorRT {spec.shape} vs eager {tuple(value.shape)}"
        assert spec.dtype == str(value.dtype).replace("torch.", ""), name
        assert torch.isfinite(value.double()).all(), name
    main = "float16" if opts.precision == "fp16" else "float32"
    for name in ("memory", "mel", "mel_postnet", "next_frame", "next_attention_hidden", "next_attention_context"):
        if name in g.outputs:
            assert g.outputs[name][0].dtype == main, name
    for name in ("gate", "alignments", "next_attention_cell", "next_attention_weights"):
        if name in g.outputs:
            assert g.outputs[name][0].dtype == "float32", name


BUILDS = [(n, p, "in-engine") for n in IO for p in ("fp32", "fp16")]
BUILDS += [(n, "fp16", "input") for n in ("decoder-step", "decoder-loop", "fused")]


@pytest.mark.parametrize("network,precision,dropout", BUILDS)
def test_full_size_rtx_build(network, precision, dropout, t2_full, tmp_path, record_property):
    opts = NetworkOptions(precision=precision, dropout=dropout, alignments=dropout == "input")
    g = Graph.trt(f"{network}-{precision}")
    define(network, g, t2_full.store, opts)
    res = build_plan(g, tmp_path)
    record_property("build_seconds", round(res.seconds, 2))
    assert_built(res, g)
    io = res.sidecar.io
    ranges = {k: (r.min, r.opt, r.max) for k, r in io.dims.items()}
    if network != "postnet":
        assert ranges["B"] == (1, 1, 8) and ranges["T_in"] == (1, 128, 256)
    if network in ("decoder-loop", "fused"):
        assert ranges["max_decoder_steps"] == (1, 600, 2000) and io.input("max_decoder_steps").is_shape_tensor
    if network == "postnet":
        assert ranges["T"] == (1, 600, 2000)
    assert {s.name for s in io.outputs} == {n for n in IO[network][1] if opts.alignments or n not in ("alignments", "alignment")}
