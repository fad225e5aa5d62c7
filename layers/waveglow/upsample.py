"""WaveGlow conditioning: upsample the mel to the sample rate and group it, the first steps of inference.

S = upsample_stride, K = upsample_kernel_size, G = n_group, T' = S·T/G grouped time steps.
"""

from __future__ import annotations

from trtnet import ops
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from .wn import conv


def upsample(g: Graph, store: WeightStore, mel: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """mel [B, n_mel, T] → ConvTranspose1d(K, stride S) [B, n_mel, S·T + K − S] → the K − S tail cut:
    [B, n_mel, S·T].  TRT: IDeconvolutionLayer, ISliceLayer."""
    m = cfg.n_mel_channels
    up = conv(g, store, "upsample", mel, mel.dtype, (m, m, cfg.upsample_kernel_size), transpose=True,
              stride=cfg.upsample_stride)  # [B, n_mel, S·T + K − S]
    with g.scope("upsample"):
        return ops.slice_axis(up, 2, 0, ops.dim_size(mel, 2) * cfg.upsample_stride, name="trim")  # [B, n_mel, S·T]


def group(g: Graph, spect: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """[B, n_mel, S·T] → [B, n_mel·G, T'] with channel = mel_bin·G + position in the group (DLE's
    unfold(2, G, G) → permute → reshape).  TRT: IShuffleLayer (reshape, transpose, reshape)."""
    m, grp = cfg.n_mel_channels, cfg.n_group
    with g.scope("group"):
        x = ops.reshape(spect, [0, m, -1, grp])  # [B, n_mel, T', G]
        x = ops.permute(x, (0, 1, 3, 2))  # [B, n_mel, G, T']
        return ops.reshape(x, [0, m * grp, -1])  # [B, n_mel·G, T']


def conditioning(g: Graph, store: WeightStore, mel: Tensor, cfg: WaveGlowConfig) -> Tensor:
    """mel [B, n_mel, T] → grouped spect [B, n_mel·G, T'] in mel's dtype."""
    cfg.check_upsample()  # ConfigError unless n_group | stride and kernel ≥ stride
    return group(g, upsample(g, store, mel, cfg), cfg)
