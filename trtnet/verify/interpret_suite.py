"""Every registry network interpreted and compared with its eager twin, on shapes that exercise ragged batches:
batch 3 with ragged lengths, an odd text length, a step cap below the profile max (``trtnet verify --interpret`` and
the tests).  Deterministic modes only (fed prenet masks, fed WaveGlow noise), so both sides see the same values;
the decoder networks get the encoder's eager memory of the same tokens, so their gates stop on their own."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions

from .interpret_compare import Comparison, compare_network
from .interpret_feeds import make_feeds

STEPS = 60          # the step cap fed to the decoder networks (the profile max is twice this)
TEXT = 13           # an odd text length
FRAMES = 9          # mel frames of the WaveGlow inputs
BATCH = 3
CHUNK = 25          # decoder-chunk's step count (not the profile's opt)


def dims_for(config: Any, steps: int = STEPS) -> dict[str, int]:
    """Sizes of every named dimension (and the step-cap shape input) of the registry networks."""
    stride = getattr(config, "upsample_stride", 1)
    return {"B": BATCH, "T_in": TEXT, "T": 17, "T_mel": FRAMES, "L": FRAMES * stride - 5,
            "max_decoder_steps": steps, "S": steps, "chunk": min(CHUNK, steps), "max_frames": steps}


def options(precision: str, steps: int = STEPS) -> NetworkOptions:
    return NetworkOptions(precision=precision, dropout="input", noise="input", max_decoder_steps=2 * steps)


def run_case(network: str, precision: str, store: Any, seed: int = 0, steps: int = STEPS, **kw: Any) -> Comparison:
    """Define ``network`` for TensorRT, make its feeds from its input spec, interpret and compare with eager."""
    opts = options(precision, steps)
    g = Graph.trt(network)
    networks.define(network, g, store, opts)
    rng = np.random.default_rng(seed)
    feeds = make_feeds(g.inputs, dims_for(store.config, steps), store.config, rng)
    upstream = networks.NETWORKS[network].reads_outputs_of           # the decoders read the encoder's memory
    if upstream:
        enc = Graph.eager({"tokens": rng.integers(1, store.config.n_symbols, (BATCH, TEXT)).astype(np.int32),
                           "lengths": feeds["lengths"]}, upstream, cast_floats=True)
        networks.define(upstream, enc, store, opts)
        feeds.update({k: v.numpy() for k, v in enc.results().items()})
    return compare_network(network, store, opts, feeds, trt_graph=g, seed=seed, **kw)


def run_registry(stores: dict[str, Any], precision: str, *, seed: int = 0, steps: int = STEPS,
                 names: Iterable[str] | None = None) -> list[Comparison]:
    """One comparison per registry network whose architecture has a store."""
    out = []
    for name in names or networks.NETWORKS:
        arch = networks.NETWORKS[name].architecture
        if arch in stores:
            out.append(run_case(name, precision, stores[arch], seed=seed, steps=steps))
    return out
