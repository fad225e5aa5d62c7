"""Tacotron 2 postnet: mel + residual(mel), residual = n × conv+BN (folded), tanh after all but the last.

Shapes: mel [B, M, T] (M = n_mel_channels), hidden width D = postnet_embedding_dim; all in the network dtype;
frames [B] int32, the valid frames of each item (DLE's single run: every frame through the stop frame).

Ragged batches: padded frames (t ≥ frames[b]) are zeroed before every conv, so each kernel-K conv reads exactly
the zeros of a single run's 'same' padding and item b equals its single run of width frames[b]; the output is
exactly 0 on padded frames.
"""

from __future__ import annotations

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import keep_steps, zero_padding
from .blocks import conv_bn


def postnet(g: Graph, store: WeightStore, mel: Tensor, frames: Tensor, dtype: DType) -> Tensor:
    """mel [B, M, T], frames [B] int32 → mel + residual(mel) [B, M, T], 0 at t ≥ frames[b].
    TRT: ISelectLayer (padding), IConvolutionLayer, IActivationLayer TANH, IElementWiseLayer SUM."""
    cfg = store.config
    n, m, d = cfg.postnet_n_convolutions, cfg.n_mel_channels, cfg.postnet_embedding_dim
    widths = [m] + [d] * (n - 1) + [m]
    with g.scope("postnet"):
        keep = keep_steps(frames, mel)                                                   # [B, 1, T]
        mel = zero_padding(mel, keep, name="mask_input")
    x = mel
    for i in range(n):
        prefix = f"postnet.convolutions.{i}"
        if i:
            with g.scope(prefix):
                x = zero_padding(x, keep)
        x = conv_bn(g, store, prefix, x, widths[i], widths[i + 1], cfg.postnet_kernel_size, dtype)
        if i < n - 1:
            with g.scope(prefix):
                x = ops.tanh(x)
    with g.scope("postnet"):
        return zero_padding(ops.add(mel, x, name="residual"), keep, name="mask_output")
