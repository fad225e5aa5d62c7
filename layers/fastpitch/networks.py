"""The FastPitch network (registry entry ``fastpitch``): text → mel in one engine, no loop.

Dimensions: ``B`` [1, opt_batch, max_batch]; ``T_in`` [1, opt_text_len, max_text_len]; ``max_frames`` a shape
input in [1, opt, cap] (``opts.steps_range(config)``, cap 2000 by default): the mel width T.
inputs   tokens [B, T_in] int32, lengths [B] int32, pace [B] float32 (> 0; DLE's --pace),
         pitch_scale [B], pitch_shift [B] float32 (DLE's affine pitch transforms: pitch·scale + shift_Hz/σ,
         σ = the model's pitch_std, or ``fallback_pitch_std`` when it is 0), max_frames (shape input)
outputs  mel [B, n_mel, T] (opts.dtype), 0 past mel_lengths[b]; mel_lengths [B] int32 (≤ T); durations
         [B, T_in] float32 (predicted, before pace and rounding, 0 past lengths[b]); pitch [B, F, T_in] float32
         (after the transform, 0 past lengths[b])
Every item of a ragged batch equals its own single run: symbols past lengths[b] (and padding_idx tokens, as DLE
masks them) are zeroed before every op that mixes positions, and get duration 0.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import F32, I32
from trtnet.graph import Graph
from trtnet.weights.config import FastPitchConfig
from trtnet.weights.store import WeightStore

from ..common import as_row, module, param, same, valid_positions, zero_padding
from ..options import NetworkOptions
from .predictors import durations, embed, predictor, regulate
from .transformer import fft_stack

BATCH, TEXT, FRAMES = "B", "T_in", "max_frames"


def _config(store: WeightStore) -> FastPitchConfig:
    cfg = store.config
    if not isinstance(cfg, FastPitchConfig):
        raise ValueError(f"the fastpitch network needs FastPitch weights, got {type(cfg).__name__} ({store.name})")
    return cfg


def define_fastpitch(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """tokens → mel, mel_lengths, durations, pitch; I/O in the module docstring."""
    cfg, dtype = _config(store), opts.dtype
    d = cfg.symbols_embedding_dim
    g.dim(BATCH, 1, opts.opt_batch, opts.max_batch)
    g.dim(TEXT, 1, opts.opt_text_len, opts.max_text_len)
    tokens, lengths = g.input("tokens", I32, (BATCH, TEXT)), g.input("lengths", I32, (BATCH,))
    pace, scale, shift = (g.input(n, F32, (BATCH,)) for n in ("pace", "pitch_scale", "pitch_shift"))
    max_frames = g.shape_input(FRAMES, 1, *opts.steps_range(cfg))
    keep = ops.unsqueeze(ops.logical_and(valid_positions(lengths, ops.dims(tokens)[1]),
                                         ops.logical_not(ops.equal(tokens, cfg.padding_idx)), name="symbols"), 2)
    with module(g, store, "encoder.word_emb") as w:
        x = ops.gather(param(g, w, "weight", dtype, shape=(cfg.n_symbols, d)), tokens, 0, name="embedding")
    x = fft_stack(g, store, "encoder", x, keep, cfg.fft("in"))
    dur = durations(predictor(g, store, "duration_predictor", x, keep, cfg.predictor("dur"), 1), cfg.max_duration)
    dur = zero_padding(dur, ops.squeeze(keep, 2))
    pitch = ops.cast(predictor(g, store, "pitch_predictor", x, keep, cfg.predictor("pitch"),
                               cfg.pitch_conditioning_formants), F32)                          # [B, L, F]
    with g.scope("pitch_transform"):
        std = param(g, store, "pitch_std", F32, shape=(1,), transform=same)
        std = ops.where(ops.equal(std, 0.0), cfg.fallback_pitch_std, std)
        pitch = pitch * ops.reshape(scale, [-1, 1, 1]) + ops.reshape(shift, [-1, 1, 1]) / std
        pitch = zero_padding(pitch, keep)
    x = x + embed(g, store, "pitch_emb", ops.cast(pitch, dtype), d, cfg.pitch_embedding_kernel_size)
    if cfg.energy_conditioning:
        energy = predictor(g, store, "energy_predictor", x, keep, cfg.predictor("energy"), 1)
        x = x + embed(g, store, "energy_emb", energy, d, cfg.energy_embedding_kernel_size)
    y, mel_lengths = regulate(g, dur, pace, x, max_frames)
    frames_keep = ops.unsqueeze(valid_positions(mel_lengths, ops.dims(y)[1]), 2)
    y = fft_stack(g, store, "decoder", y, frames_keep, cfg.fft("out"))
    with module(g, store, "proj") as w:
        mel = ops.linear(y, param(g, w, "weight", dtype, shape=(cfg.n_mel_channels, d), transform=np.transpose),
                         param(g, w, "bias", dtype, shape=(cfg.n_mel_channels,), transform=as_row))
    mel = ops.transpose(zero_padding(mel, frames_keep), 1, 2)
    g.output("mel", mel, dtype, dims=(BATCH, cfg.n_mel_channels, FRAMES))
    g.output("mel_lengths", mel_lengths, I32, dims=(BATCH,))
    g.output("durations", dur, F32, dims=(BATCH, TEXT))
    g.output("pitch", ops.transpose(pitch, 1, 2), F32, dims=(BATCH, cfg.pitch_conditioning_formants, TEXT))
