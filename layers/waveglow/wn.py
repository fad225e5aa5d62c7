"""WaveGlow's WN coupling network, weight norm already folded into ``.weight``.

C = wn_n_channels, L = wn_n_layers, K = wn_kernel_size, h = half of the audio channels at flow k,
T' grouped time steps.  Layer i: t = in_layers[i](x) (dilation 2^i) + cond_layers[i](spect);
acts = tanh(t[:C])·σ(t[C:]); rs = res_skip_layers[i](acts); x += rs[:C] (i < L−1); skip += rs[C:] (rs at i = L−1);
output end(skip) = (b ‖ s) [B, 2h, T'].

Tensors are channel-major with a trailing unit axis, [B, ·, T', 1] (TensorRT's convolution layout), so the 8·4
convolutions of a WN and the pointwise math between them need no reshapes; splits name only the channel axis.
"""

from __future__ import annotations

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.store import WeightStore

from ..common import module, param, with_unit_axis, zero_padding


def conv(g: Graph, store: WeightStore, prefix: str, x: Tensor, dtype: DType, shape: tuple[int, int, int], *,
         dilation: int = 1, transpose: bool = False, stride: int = 1) -> Tensor:
    """The Conv1d (or ConvTranspose1d) of weights ``prefix.weight`` ``shape`` and ``prefix.bias``; plain convs
    get 'same' padding d·(K−1)/2.  x [B, C, T] or [B, C, T, 1] (then the kernel is stored [·, ·, K, 1] and the
    output keeps the unit axis).  TRT: IConvolutionLayer / IDeconvolutionLayer."""
    with module(g, store, prefix) as w:
        weight = param(g, w, "weight", dtype, shape=shape, transform=with_unit_axis if x.ndim == 4 else None)
        bias = param(g, w, "bias", dtype, shape=(shape[1] if transpose else shape[0],))
        if transpose:
            return ops.conv_transpose1d(x, weight, bias, stride=stride)
        return ops.conv1d(x, weight, bias, dilation=dilation, padding=dilation * (shape[2] - 1) // 2)


def gated_layer(g: Graph, store: WeightStore, i: int, x: Tensor, spect: Tensor, keep: Tensor,
                cfg: WaveGlowConfig) -> Tensor:
    """acts = tanh(t[:, :C]) · σ(t[:, C:]) with t = in_layers[i](x·keep) + cond_layers[i](spect): [B, C, T', 1].
    keep [B, 1, T', 1] bool masks each item's padded steps to the zeros its single run's conv padding reads (the
    dilated conv is the only one that mixes time steps).  The cond conv reads only the grouped spectrogram,
    never the flow state.  TRT: ISelectLayer, 2 convolutions, IElementWise, IActivation (TANH, SIGMOID)."""
    c, dt = cfg.wn_n_channels, x.dtype
    with g.scope(f"in_layers.{i}"):
        x = zero_padding(x, keep)
    t = conv(g, store, f"in_layers.{i}", x, dt, (2 * c, c, cfg.wn_kernel_size), dilation=2 ** i)
    t = t + conv(g, store, f"cond_layers.{i}", spect, dt, (2 * c, cfg.cond_channels, 1))  # [B, 2C, T']
    with g.scope(f"in_layers.{i}"):
        a, b = ops.split(t, 2, axis=1, name="gate_split")
        return ops.mul(ops.tanh(a), ops.sigmoid(b), name="gate")


def wn(g: Graph, store: WeightStore, k: int, a0: Tensor, spect: Tensor, keep: Tensor, cfg: WaveGlowConfig
       ) -> Tensor:
    """WN k: a0 [B, h, T', 1], spect [B, n_mel·G, T', 1] (both the conv dtype), keep [B, 1, T', 1] bool (valid
    steps) → (b ‖ s) [B, 2h, T', 1] in that dtype."""
    c, n_layers, h = cfg.wn_n_channels, cfg.wn_n_layers, cfg.remaining_channels(k) // 2
    dt = a0.dtype
    with module(g, store, f"WN.{k}") as w:
        x = conv(g, w, "start", a0, dt, (c, h, 1))  # [B, C, T']
        skip = None
        for i in range(n_layers):
            acts = gated_layer(g, w, i, x, spect, keep, cfg)
            last = i == n_layers - 1
            rs = conv(g, w, f"res_skip_layers.{i}", acts, dt, (c if last else 2 * c, c, 1))
            with g.scope(f"res_skip_layers.{i}"):
                if last:
                    part = rs  # [B, C, T']: skip only
                else:
                    res, part = ops.split(rs, 2, axis=1, name="res_skip_split")
                    x = ops.add(x, res, name="residual")
                skip = part if skip is None else ops.add(skip, part, name="skip")
        return conv(g, w, "end", skip, dt, (2 * h, c, 1))  # [B, 2h, T']
