"""The HiFi-GAN networks (registry entries ``hifigan`` and ``hifigan-denoiser``).

Dimensions: ``B`` [1, opt_batch, max_batch]; ``T_mel`` [1, opt_decoder_steps, cap] mel frames with
cap = ``opts.steps_cap(config)`` (2000 by default); ``L`` [hop, hop·opt, hop·cap] audio samples.

hifigan           inputs  mel [B, n_mel, T_mel] (opts.dtype), frames [B] int32 (valid frames per item)
                  outputs audio [B, hop·T_mel] float32, 0 past hop·frames[b]
hifigan-denoiser  inputs  audio [B, L] float32, samples [B] int32 (valid samples per item), strength [] float32
                  outputs audio_denoised [B, L] float32, 0 past samples[b]

Every item of a ragged batch equals its own single run (``generator`` and the WaveGlow ``denoiser`` module, which
is generic over the STFT sizes and reads ``denoiser.bias_spec``).

Precision: every conv runs in opts.dtype; in FP16 builds the residual stream (the resblock sums and their mean)
is float32 (``STREAM``), as is conv_post's tanh; the denoiser is float32.
"""

from __future__ import annotations

from trtnet.dtypes import F32
from trtnet.graph import Graph
from trtnet.weights.config import HiFiGANConfig
from trtnet.weights.store import WeightStore

from ..options import NetworkOptions
from ..vocoder_io import BATCH, FRAMES, config_of, define_stft_denoiser, mel_inputs
from .generator import infer

STREAM = F32  # residual-stream dtype in every precision (measured: see README "HiFi-GAN")


def _config(store: WeightStore) -> HiFiGANConfig:
    return config_of(store, HiFiGANConfig)


def define_hifigan(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """mel → audio; I/O in the module docstring."""
    cfg = _config(store)
    mel, frames = mel_inputs(g, opts, cfg)
    g.output("audio", infer(g, store, mel, frames, cfg, STREAM), F32, dims=(BATCH, f"{cfg.upsample_stride}·{FRAMES}"))


def define_denoiser(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """audio → audio_denoised with the HiFi-GAN bias spectrum (``layers.vocoder_io.define_stft_denoiser``)."""
    define_stft_denoiser(g, store, opts, _config(store))
