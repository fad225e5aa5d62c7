"""WaveGlow inverse flows, the last steps of inference: noise, affine coupling, inverse 1×1 convs, early injections.

G = n_group, T' = S·T/G grouped time steps, c_k audio channels at flow k, h = c_k/2.  The audio state is
float32 throughout (it is at most G channels wide); WN convs run in the conv dtype (the network's precision)
and their output (b ‖ s) is cast to float32 before the coupling a1 ← (a1 − b)·exp(−s).  From the grouping on,
every tensor is [B, ·, T', 1] (TensorRT's convolution layout: no reshape per convolution); the audio goes back to
[B, S·T] once, at the end.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import F32
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from ..common import keep_steps, module, param, valid_positions, zero_padding
from .upsample import conditioning
from .wn import wn

INVERSE_TOLERANCE = 1e-3  # max |W⁻¹·W − I| accepted between the stored W_inverse and conv.weight


def injection_flows(cfg: WaveGlowConfig) -> list[int]:
    """Flows after whose inverse early channels are prepended, in inverse-pass order (8, 4 for DLE)."""
    return cfg.injection_flows()


def noise_parts(cfg: WaveGlowConfig) -> list[int]:
    """Channel counts of z in order of use: the initial audio, then each injection (4, 2, 2 for DLE)."""
    parts = [cfg.n_remaining_channels] + [cfg.n_early_size] * len(injection_flows(cfg))
    if sum(parts) != cfg.n_group:
        raise ValueError(f"noise parts {parts} do not add up to n_group {cfg.n_group} (n_flows {cfg.n_flows}, "
                         f"n_early_every {cfg.n_early_every}, n_early_size {cfg.n_early_size})")
    return parts


def noise(g: Graph, mel: Tensor, sigma: Tensor, z: Tensor | None, cfg: WaveGlowConfig) -> Tensor:
    """sigma·z [B, G, T'] float32.  Fed: z [B, G, T, S/G] reshaped (t' = t·S/G + j) and scaled.  In-engine:
    N(0, sigma²) of the run-time shape.  TRT: IShuffleLayer + IElementWise, or IFillLayer RANDOM_NORMAL."""
    with g.scope("noise"):
        if z is not None:
            return ops.mul(ops.reshape(z, [0, cfg.n_group, -1]), sigma, name="sigma_z")
        steps = ops.dim_size(mel, 2) * (cfg.upsample_stride // cfg.n_group)
        return ops.random_normal(g, [ops.dim_size(mel, 0), cfg.n_group, steps], 0.0, sigma, F32, name="z")


def _as_1x1_kernel(w: np.ndarray) -> np.ndarray:
    """[C, C] → a 1-wide conv kernel in TensorRT's layout [C, C, 1, 1]."""
    return w[:, :, None, None]


def inverse_1x1(g: Graph, store: WeightStore, k: int, audio: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """audio [B, c_k, T', 1] → W⁻¹·audio with the stored ``convinv.k.W_inverse`` (float32), checked against
    ``convinv.k.conv.weight``.  TRT: IConvolutionLayer 1×1."""
    ck = cfg.remaining_channels(k)
    with module(g, store, f"convinv.{k}") as c:
        w = c.get("conv.weight", shape=(ck, ck, 1))[:, :, 0].astype(np.float64)
        w_inv = param(g, c, "W_inverse", F32, shape=(ck, ck), transform=_as_1x1_kernel)
        err = float(np.abs(c.get("W_inverse").astype(np.float64) @ w - np.eye(ck)).max())
        if err > INVERSE_TOLERANCE:
            raise ValueError(f"{store.name}: convinv.{k}.W_inverse is not the inverse of conv.weight "
                             f"(max |W⁻¹·W − I| = {err:.3g} > {INVERSE_TOLERANCE})")
        return ops.conv1d(audio, w_inv)


def flow_inverse(g: Graph, store: WeightStore, k: int, audio: Tensor, spect: Tensor, keep: Tensor,
                 cfg: WaveGlowConfig) -> Tensor:
    """Inverse of flow k: audio [B, c_k, T', 1] float32, spect [B, n_mel·G, T', 1] (conv dtype), keep
    [B, 1, T', 1] bool → [B, c_k, T', 1] float32.  (first ‖ second) = halves; a0, a1 = (first, second), or
    (second, first) where ``cfg.swaps_halves(k)`` (glow_old's odd flows); (b ‖ s) = WN_k(a0, spect);
    a1 ← (a1 − b)·exp(−s); audio ← W⁻¹·(first ‖ second) with a1 back in its own place."""
    h = cfg.remaining_channels(k) // 2
    swap = cfg.swaps_halves(k)
    with g.scope(f"flow.{k}"):
        first, second = ops.split(audio, 2, axis=1, name="halves")
    a0, a1 = (second, first) if swap else (first, second)
    out = wn(g, store, k, ops.cast(a0, spect.dtype), spect, keep, cfg)
    with g.scope(f"flow.{k}"):
        shift, log_s = ops.split(ops.cast(out, F32), [h, h], axis=1, name="b_s")
        a1 = ops.mul(a1 - shift, ops.exp(ops.neg(log_s)), name="coupling")
        audio = ops.concat([a1, a0] if swap else [a0, a1], axis=1)
    return inverse_1x1(g, store, k, audio, cfg)


def infer(g: Graph, store: WeightStore, mel: Tensor, frames: Tensor, sigma: Tensor, z: Tensor | None,
          cfg: WaveGlowConfig) -> Tensor:
    """mel [B, n_mel, T] (conv dtype), frames [B] int32 (valid frames per item), sigma [] float32,
    z [B, G, T, S/G] float32 or None → audio [B, S·T] float32 (sample n = G·t' + c), 0 at n ≥ S·frames[b].

    Ragged batches: item b equals its single run of width frames[b].  Its padded mel frames are zeroed, so the
    upsampling (frame t reaches samples S·t … S·t + K − 1) leaves its first S·frames[b] samples as in the single
    run; every dilated WN conv reads zeros past its S·frames[b]/G valid steps (see ``gated_layer``); everything else (1×1
    convs, coupling, inverse 1×1 convs) is per time step."""
    s, grp = cfg.upsample_stride, cfg.n_group
    with g.scope("padding"):
        mel = zero_padding(mel, keep_steps(frames, mel))
    spect = ops.unsqueeze(conditioning(g, store, mel, cfg), 3, name="to_conv_layout")  # [B, n_mel·G, T', 1]
    with g.scope("padding"):
        keep = keep_steps(frames, spect, s // grp)  # [B, 1, T', 1], shared by every WN layer
    parts = noise_parts(cfg)
    zs = ops.split(ops.unsqueeze(noise(g, mel, sigma, z, cfg), 3), parts, axis=1, name="noise_parts")
    audio, pending = zs[0], list(zs[1:])  # [B, n_remaining, T', 1]
    injections = set(injection_flows(cfg))
    for k in reversed(range(cfg.n_flows)):
        audio = flow_inverse(g, store, k, audio, spect, keep, cfg)
        if k in injections:
            with g.scope(f"flow.{k}"):
                audio = ops.concat([pending.pop(0), audio], axis=1, name="inject")  # early channels first
    with g.scope("audio"):
        audio = ops.reshape(ops.permute(audio, (0, 2, 1, 3)), [0, -1])  # [B, T', G, 1] → [B, S·T]
        return zero_padding(audio, valid_positions(frames * s, ops.dims(audio)[1]), name="mask_output")
