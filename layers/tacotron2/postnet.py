"""Tacotron 2 postnet: mel + residual(mel), residual = n × conv+BN (folded), tanh after all but the last.

Shapes: mel [B, M, T] (M = n_mel_channels), hidden width D = postnet_embedding_dim; all in the network dtype.
"""

from __future__ import annotations

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from .blocks import conv_bn


def postnet(g: Graph, store: WeightStore, mel: Tensor, dtype: DType) -> Tensor:
    """mel [B, M, T] → mel + residual(mel) [B, M, T].  TRT: IConvolutionLayer, IActivationLayer TANH,
    IElementWiseLayer SUM."""
    cfg = store.config
    n, m, d = cfg.postnet_n_convolutions, cfg.n_mel_channels, cfg.postnet_embedding_dim
    widths = [m] + [d] * (n - 1) + [m]
    x = mel
    for i in range(n):
        prefix = f"postnet.convolutions.{i}"
        x = conv_bn(g, store, prefix, x, widths[i], widths[i + 1], cfg.postnet_kernel_size, dtype)
        if i < n - 1:
            with g.scope(prefix):
                x = ops.tanh(x)
    with g.scope("postnet"):
        return ops.add(mel, x, name="residual")
