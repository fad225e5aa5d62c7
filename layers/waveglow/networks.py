"""The WaveGlow and Denoiser networks (registry entries ``waveglow`` and ``denoiser``).

Dimensions: ``B`` [1, opt_batch, max_batch]; ``T_mel`` [1, opt_decoder_steps, cap] mel frames with
cap = ``opts.steps_cap(config)``; ``L`` [S, S·opt, S·cap] audio samples (S = upsample_stride).

waveglow  inputs  mel [B, n_mel, T_mel] (opts.dtype), frames [B] int32 (valid frames per item), sigma [] float32,
                  z [B, G, T_mel, S/G] float32 (only with opts.noise == "input"),
                  strength [] float32 (only with opts.fuse_denoiser)
          outputs audio [B, S·T_mel] float32, audio_denoised [B, S·T_mel] float32 (only fused), 0 past S·frames[b]
denoiser  inputs  audio [B, L] float32, samples [B] int32 (valid samples per item), strength [] float32
          outputs audio_denoised [B, L] float32, 0 past samples[b]

Every item of a ragged batch equals its own single run (see ``flows.infer`` and ``denoiser``).

Precision: the upsample and every WN conv run in opts.dtype; the audio state, noise, coupling, inverse 1×1 convs
and the denoiser run in float32.
"""

from __future__ import annotations

from trtnet.dtypes import F32
from trtnet.graph import Graph
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from ..options import NetworkOptions
from ..vocoder_io import BATCH, FRAMES, config_of, define_stft_denoiser, mel_inputs
from .denoiser import denoise
from .flows import infer



def _config(store: WeightStore) -> WaveGlowConfig:
    return config_of(store, WaveGlowConfig)


def define_waveglow(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """mel → audio (and audio_denoised when ``opts.fuse_denoiser``); I/O in the module docstring."""
    cfg = _config(store)
    mel, frames = mel_inputs(g, opts, cfg)
    sigma = g.input("sigma", F32, ())
    z = None
    if opts.noise == "input":
        z = g.input("z", F32, (BATCH, cfg.n_group, FRAMES, cfg.upsample_stride // cfg.n_group))
    strength = g.input("strength", F32, ()) if opts.fuse_denoiser else None
    length = f"{cfg.upsample_stride}·{FRAMES}"
    audio = g.output("audio", infer(g, store, mel, frames, sigma, z, cfg), F32, dims=(BATCH, length))
    if strength is not None:
        g.output("audio_denoised", denoise(g, store, audio, frames * cfg.upsample_stride, strength, cfg), F32,
                 dims=(BATCH, length))


def define_denoiser(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """audio → audio_denoised (``layers.vocoder_io.define_stft_denoiser``); I/O in the module docstring."""
    define_stft_denoiser(g, store, opts, _config(store))
