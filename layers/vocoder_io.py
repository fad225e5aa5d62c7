"""What every vocoder network declares the same way: the batch and mel-frame dimensions, the ``mel`` / ``frames``
inputs, and the STFT bias denoiser network over the vocoder's own config (its ``stft_*`` fields and stored
``denoiser.bias_spec``).

Dimensions: ``B`` [1, opt_batch, max_batch]; ``T_mel`` [1, opt_decoder_steps, cap] mel frames with
cap = ``opts.steps_cap(config)``; ``L`` [S, S·opt, S·cap] audio samples (S = the config's ``upsample_stride``).
"""

from __future__ import annotations

from typing import Any

from trtnet.dtypes import F32, I32
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from .options import NetworkOptions
from .waveglow.denoiser import denoise

BATCH, FRAMES, SAMPLES = "B", "T_mel", "L"


def config_of(store: WeightStore, cls: type) -> Any:
    """``store.config`` when it is a ``cls`` (the network's architecture), else a TypeError naming both."""
    if not isinstance(store.config, cls):
        raise TypeError(f"{store.name}: these networks need a {cls.__name__}, got {type(store.config).__name__}")
    return store.config


def frame_range(opts: NetworkOptions, cfg: Any) -> tuple[int, int, int]:
    """(min, opt, max) mel frames; opt clamped to the cap."""
    return (1, *opts.steps_range(cfg))


def mel_inputs(g: Graph, opts: NetworkOptions, cfg: Any) -> tuple[Tensor, Tensor]:
    """mel [B, n_mel, T_mel] (opts.dtype) and frames int32 [B] (valid frames per item), with their dimensions."""
    g.dim(BATCH, 1, opts.opt_batch, opts.max_batch)
    g.dim(FRAMES, *frame_range(opts, cfg))
    return g.input("mel", opts.dtype, (BATCH, cfg.n_mel_channels, FRAMES)), g.input("frames", I32, (BATCH,))


def define_stft_denoiser(g: Graph, store: WeightStore, opts: NetworkOptions, cfg: Any) -> None:
    """audio [B, L] float32, samples int32 [B], strength [] float32 → audio_denoised [B, L] float32, 0 past
    samples[b] (``layers.waveglow.denoiser``)."""
    g.dim(BATCH, 1, opts.opt_batch, opts.max_batch)
    s = cfg.upsample_stride
    g.dim(SAMPLES, *(s * n for n in frame_range(opts, cfg)))
    audio = g.input("audio", F32, (BATCH, SAMPLES))
    samples = g.input("samples", I32, (BATCH,))
    strength = g.input("strength", F32, ())
    g.output("audio_denoised", denoise(g, store, audio, samples, strength, cfg), F32, dims=(BATCH, SAMPLES))
