"""HiFi-GAN generator (DLE ``hifigan/models.py`` inference), weight norm already folded into ``.weight``.

C = upsample_initial_channel, U stages, stage i: C_i = C/2^(i+1) channels, u_i rate, k_i kernel, R_i = Π_{j≤i} u_j
samples per mel frame after it (R_{−1} = 1, hop = R_{U−1}).  lrelu_a(x) = max(x, a·x) (a < 1).

  x = conv_pre(mel)                                      [B, C, T]         (K_pre, 'same')
  stage i: x = ups_i(lrelu_0.1(x))                       [B, C_i, R_i·T]   (ConvTranspose1d, stride u_i,
                                                                            padding (k_i − u_i)/2: length u_i·T)
           x = (1/J)·Σ_j resblock_ij(x)                  J = num_kernels
  audio = tanh(conv_post(lrelu_0.01(x)))                 [B, hop·T]        (K_post, 'same')
  ResBlock1, per dilation d: x ← x + c2_d(lrelu_0.1(c1_d(lrelu_0.1(x))))   (c1 dilation d, c2 dilation 1)
  ResBlock2, per dilation d: x ← x + c_d(lrelu_0.1(x))

Ragged batches: item b has frames[b] valid frames; before every conv that mixes time steps (all of them: K > 1
everywhere, and k_i > u_i) its positions t ≥ R·frames[b] at that conv's resolution R are set to 0, exactly the
zeros its single run's conv padding reads.  A ConvTranspose output sample n < u_i·R_{i−1}·frames[b] reads only
input steps < R_{i−1}·frames[b], so every item's valid prefix equals its single run; the rest is pointwise.

Precision: every conv runs in the conv dtype (the network's precision); the residual stream (the sums x + …,
the resblock mean) is carried in ``stream`` (float32 in FP16 builds: see ``networks``); tanh output float32.
"""

from __future__ import annotations

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.config import HiFiGANConfig
from trtnet.weights.store import WeightStore

from ..common import keep_steps, module, param, valid_positions, zero_padding

SLOPE = 0.1         # DLE's LRELU_SLOPE, inside the stages and resblocks
FINAL_SLOPE = 0.01  # F.leaky_relu's default, once before conv_post (as DLE)


def leaky_relu(x: Tensor, slope: float, *, name: str = "lrelu") -> Tensor:
    """max(x, slope·x) for 0 < slope < 1.  TRT: IElementWiseLayer PROD, MAX."""
    return ops.maximum(x, x * slope, name=name)


def conv(g: Graph, store: WeightStore, prefix: str, x: Tensor, keep: Tensor, shape: tuple[int, int, int], *,
         dilation: int = 1, stride: int = 0) -> Tensor:
    """The conv ``prefix`` on x·keep, in x's dtype: Conv1d [O, I, K] 'same' (padding d·(K−1)/2), or with
    ``stride`` u a ConvTranspose1d [I, O, K] padding (K − u)/2.  Weights ``prefix.weight``, ``prefix.bias``.
    TRT: ISelectLayer, IConvolutionLayer / IDeconvolutionLayer."""
    with module(g, store, prefix) as w:
        x = zero_padding(x, keep)
        weight = param(g, w, "weight", x.dtype, shape=shape)
        bias = param(g, w, "bias", x.dtype, shape=(shape[1] if stride else shape[0],))
        if stride:
            return ops.conv_transpose1d(x, weight, bias, stride=stride, padding=(shape[2] - stride) // 2)
        return ops.conv1d(x, weight, bias, dilation=dilation, padding=dilation * (shape[2] - 1) // 2)


def resblock(g: Graph, store: WeightStore, prefix: str, x: Tensor, keep: Tensor, j: int, ch: int,
             cfg: HiFiGANConfig, conv_dtype: DType) -> Tensor:
    """Resblock j of one stage: x [B, ch, W] (stream dtype) → [B, ch, W] (stream dtype); the convs in
    ``conv_dtype``.  TRT: IElementWise (lrelu, residual sums), IIdentity casts, convolutions."""
    k, dilations = cfg.resblock_kernel_sizes[j], cfg.resblock_dilation_sizes[j]
    for n, d in enumerate(dilations):
        with g.scope(f"{prefix}.{n}"):
            h = ops.cast(leaky_relu(x, SLOPE), conv_dtype)
        if cfg.resblock == "1":
            h = conv(g, store, f"{prefix}.convs1.{n}", h, keep, (ch, ch, k), dilation=d)
            with g.scope(f"{prefix}.convs1.{n}"):
                h = leaky_relu(h, SLOPE)
            h = conv(g, store, f"{prefix}.convs2.{n}", h, keep, (ch, ch, k))
        else:
            h = conv(g, store, f"{prefix}.convs.{n}", h, keep, (ch, ch, k), dilation=d)
        with g.scope(f"{prefix}.{n}"):
            x = ops.add(x, ops.cast(h, x.dtype), name="residual")
    return x


def infer(g: Graph, store: WeightStore, mel: Tensor, frames: Tensor, cfg: HiFiGANConfig, stream: DType) -> Tensor:
    """mel [B, n_mel, T] (conv dtype), frames [B] int32 → audio [B, hop·T] float32, 0 at n ≥ hop·frames[b]."""
    dt = mel.dtype
    with g.scope("padding"):
        keep = keep_steps(frames, mel)
    x = conv(g, store, "conv_pre", mel, keep, (cfg.upsample_initial_channel, cfg.n_mel_channels,
                                                cfg.pre_kernel_size))
    for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
        ch_in, ch = cfg.stage_channels(i - 1), cfg.stage_channels(i)
        with g.scope(f"ups.{i}"):
            x = ops.cast(leaky_relu(x, SLOPE), dt)
        x = ops.cast(conv(g, store, f"ups.{i}", x, keep, (ch_in, ch, k), stride=u), stream)
        with g.scope(f"padding.{i}"):
            keep = keep_steps(frames, x, cfg.stage_stride(i))
        outs = [resblock(g, store, f"resblocks.{i}.{j}", x, keep, j, ch, cfg, dt) for j in range(cfg.num_kernels)]
        with g.scope(f"resblocks.{i}"):
            total = outs[0]
            for o in outs[1:]:
                total = ops.add(total, o, name="sum")
            x = ops.mul(total, 1.0 / cfg.num_kernels, name="mean")
    with g.scope("conv_post"):
        x = ops.cast(leaky_relu(x, FINAL_SLOPE), dt)
    x = conv(g, store, "conv_post", x, keep, (1, cfg.stage_channels(cfg.num_upsamples - 1), cfg.post_kernel_size))
    with g.scope("audio"):
        audio = ops.squeeze(ops.tanh(ops.cast(x, DType.float32)), 1)  # [B, hop·T]
        return zero_padding(audio, valid_positions(frames * cfg.upsample_stride, ops.dims(audio)[1]),
                            name="mask_output")
