"""The buildable networks: name → (definition, weight prefixes it reads); which architecture's weights build each
one, and which networks exist, is said once in ``trtnet.models`` (``NETWORKS`` holds exactly its networks).

A definition is ``define(g: Graph, store: WeightStore, opts: NetworkOptions) -> None``: it declares the
inputs (with profile ranges from ``opts``), computes, and marks the outputs.  The same function builds the
TensorRT engine (``Graph.trt``) and runs the eager twin (``Graph.eager``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from trtnet.graph import Graph
from trtnet.models import all_networks, architecture_of, check_covers
from trtnet.weights.store import WeightStore

from .options import NetworkOptions


@dataclass(frozen=True)
class NetworkDef:
    name: str
    target: str                  # "module:function"
    prefixes: tuple[str, ...]    # weight keys it reads (for the unused-weight check)
    description: str
    reads_outputs_of: str | None = None    # a network whose outputs are among its inputs (the decoders: encoder)

    @property
    def architecture(self) -> str:
        """The weights it needs (``trtnet.models``)."""
        return architecture_of(self.name)

    def function(self) -> Callable[[Graph, WeightStore, NetworkOptions], None]:
        module, fn = self.target.split(":")
        return getattr(importlib.import_module(module), fn)


_T2 = "trtnet.layers.tacotron2.networks"
# the decoder's weights, without memory_layer (the encoder network applies it once per utterance)
_DECODER = tuple(f"decoder.{m}" for m in ("prenet", "attention_rnn", "attention_layer.query_layer",
                                          "attention_layer.v", "attention_layer.location_layer", "decoder_rnn",
                                          "linear_projection", "gate_layer"))
_WG = "trtnet.layers.waveglow.networks"
_HG = "trtnet.layers.hifigan.networks"
_FP = "trtnet.layers.fastpitch.networks"
NETWORKS: dict[str, NetworkDef] = {n.name: n for n in (
    NetworkDef("encoder", f"{_T2}:define_encoder", ("embedding", "encoder",
               "decoder.attention_layer.memory_layer"), "tokens → memory, processed_memory"),
    NetworkDef("decoder-loop", f"{_T2}:define_decoder_loop", _DECODER,
               "the whole autoregressive decode in one ILoop", "encoder"),
    NetworkDef("decoder-step", f"{_T2}:define_decoder_step", _DECODER,
               "one decoder step, state in and out (the per-step host-loop design, for comparison)", "encoder"),
    NetworkDef("decoder-chunk", f"{_T2}:define_decoder_chunk", _DECODER,
               "the decoder loop resumed from a state for at most `chunk` steps (streaming)", "encoder"),
    NetworkDef("postnet", f"{_T2}:define_postnet", ("postnet",), "mel → mel + postnet(mel)"),
    NetworkDef("fused", f"{_T2}:define_fused", ("embedding", "encoder", "decoder", "postnet"),
               "encoder + decoder loop + postnet in one engine"),
    NetworkDef("waveglow", f"{_WG}:define_waveglow", ("upsample", "WN", "convinv"), "mel → audio"),
    NetworkDef("denoiser", f"{_WG}:define_denoiser", ("denoiser",), "audio → denoised audio"),
    NetworkDef("hifigan", f"{_HG}:define_hifigan", ("conv_pre", "ups", "resblocks", "conv_post"),
               "mel → audio (HiFi-GAN generator)"),
    NetworkDef("hifigan-denoiser", f"{_HG}:define_denoiser", ("denoiser",),
               "audio → denoised audio (HiFi-GAN bias spectrum)"),
    NetworkDef("fastpitch", f"{_FP}:define_fastpitch",
               ("encoder", "decoder", "duration_predictor", "pitch_predictor", "pitch_emb", "pitch_std",
                "energy_predictor", "energy_emb", "proj"), "tokens → mel, mel_lengths, durations, pitch (no loop)"),
)}
check_covers("layers/networks.py NETWORKS", NETWORKS, all_networks())


def define(name: str, g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """Define network ``name`` on ``g`` from ``store`` (whose architecture must match)."""
    if name not in NETWORKS:
        raise KeyError(f"unknown network {name!r}; known: {sorted(NETWORKS)}")
    nd = NETWORKS[name]
    if store.architecture != nd.architecture:
        raise ValueError(f"network {name!r} needs {nd.architecture} weights, got {store.architecture} ({store.name})")
    nd.function()(g, store, opts)
