"""Expected tensor keys and shapes, derived from a config alone.

Two layouts (``docs/hdf5_schema.md`` documents both):

* :func:`dle_shapes` — the raw DLE ``state_dict`` (``module.`` stripped, ``num_batches_tracked`` dropped):
  WaveGlow convs are weight-normed (``weight_g`` [O,1,1], ``weight_v`` [O,I,K]) with per-layer ``cond_layers``.
* :func:`expected_shapes` — the trtnet HDF5 layout: Tacotron 2 as in DLE; WaveGlow with weight norm folded
  into ``.weight`` [O,I,K], plus ``convinv.{k}.W_inverse`` [Ck,Ck] and ``denoiser.bias_spec`` [F//2+1].

HiFi-GAN's two layouts live in ``weights.hifigan`` (``hifigan_shapes``).
"""

from __future__ import annotations

from typing import Mapping

from .config import Tacotron2Config, WaveGlowConfig, _ConfigBase
from .errors import WeightKeysError

Shapes = dict[str, tuple[int, ...]]

def _conv_bn(s: Shapes, prefix: str, c_in: int, c_out: int, k: int) -> None:
    """``nn.Sequential(ConvNorm, BatchNorm1d)``: ``{prefix}.0.conv.{weight,bias}`` + ``{prefix}.1.*`` BN."""
    s[f"{prefix}.0.conv.weight"] = (c_out, c_in, k)
    s[f"{prefix}.0.conv.bias"] = (c_out,)
    for name in ("weight", "bias", "running_mean", "running_var"):
        s[f"{prefix}.1.{name}"] = (c_out,)


def _lstm(s: Shapes, prefix: str, n_in: int, hidden: int, suffix: str = "") -> None:
    """LSTM / LSTMCell parameters, gates i,f,g,o stacked: W_ih [4H, I], W_hh [4H, H], b_ih, b_hh [4H]."""
    s[f"{prefix}.weight_ih{suffix}"] = (4 * hidden, n_in)
    s[f"{prefix}.weight_hh{suffix}"] = (4 * hidden, hidden)
    s[f"{prefix}.bias_ih{suffix}"] = (4 * hidden,)
    s[f"{prefix}.bias_hh{suffix}"] = (4 * hidden,)


def tacotron2_shapes(c: Tacotron2Config) -> Shapes:
    """Every DLE Tacotron 2 tensor but ``num_batches_tracked``; identical in DLE and HDF5 layouts."""
    e, a, d, p = c.encoder_embedding_dim, c.attention_rnn_dim, c.decoder_rnn_dim, c.prenet_dim
    s: Shapes = {"embedding.weight": (c.n_symbols, c.symbols_embedding_dim)}
    for i in range(c.encoder_n_convolutions):
        _conv_bn(s, f"encoder.convolutions.{i}", e, e, c.encoder_kernel_size)
    for suffix in ("_l0", "_l0_reverse"):
        _lstm(s, "encoder.lstm", e, c.encoder_lstm_dim, suffix)
    s["decoder.prenet.layers.0.linear_layer.weight"] = (p, c.frame_dim)
    s["decoder.prenet.layers.1.linear_layer.weight"] = (p, p)
    _lstm(s, "decoder.attention_rnn", p + e, a)
    att = "decoder.attention_layer"
    s[f"{att}.query_layer.linear_layer.weight"] = (c.attention_dim, a)
    s[f"{att}.memory_layer.linear_layer.weight"] = (c.attention_dim, e)
    s[f"{att}.v.linear_layer.weight"] = (1, c.attention_dim)
    s[f"{att}.location_layer.location_conv.conv.weight"] = (
        c.attention_location_n_filters, 2, c.attention_location_kernel_size)
    s[f"{att}.location_layer.location_dense.linear_layer.weight"] = (c.attention_dim, c.attention_location_n_filters)
    _lstm(s, "decoder.decoder_rnn", a + e, d)
    s["decoder.linear_projection.linear_layer.weight"] = (c.frame_dim, d + e)
    s["decoder.linear_projection.linear_layer.bias"] = (c.frame_dim,)
    s["decoder.gate_layer.linear_layer.weight"] = (1, d + e)
    s["decoder.gate_layer.linear_layer.bias"] = (1,)
    n, pe = c.postnet_n_convolutions, c.postnet_embedding_dim
    for i in range(n):
        c_in = c.n_mel_channels if i == 0 else pe
        c_out = c.n_mel_channels if i == n - 1 else pe
        _conv_bn(s, f"postnet.convolutions.{i}", c_in, c_out, c.postnet_kernel_size)
    return s


def weight_norm_convs(c: WaveGlowConfig) -> dict[str, tuple[int, int, int]]:
    """Prefix → (out, in, kernel) of every weight-normed Conv1d, e.g. ``WN.0.in_layers.3`` → (2C, C, K)."""
    ch, convs = c.wn_n_channels, {}
    for k in range(c.n_flows):
        convs[f"WN.{k}.start"] = (ch, c.remaining_channels(k) // 2, 1)
        for i in range(c.wn_n_layers):
            convs[f"WN.{k}.in_layers.{i}"] = (2 * ch, ch, c.wn_kernel_size)
            convs[f"WN.{k}.cond_layers.{i}"] = (2 * ch, c.cond_channels, 1)
            convs[f"WN.{k}.res_skip_layers.{i}"] = (2 * ch if i < c.wn_n_layers - 1 else ch, ch, 1)
    return convs


def _waveglow_shapes(c: WaveGlowConfig, folded: bool) -> Shapes:
    """WaveGlow keys: weight-normed convs as ``weight_g``/``weight_v`` (DLE) or one folded ``weight`` (HDF5)."""
    m = c.n_mel_channels
    s: Shapes = {"upsample.weight": (m, m, c.upsample_kernel_size), "upsample.bias": (m,)}
    for k in range(c.n_flows):
        ck = c.remaining_channels(k)
        s[f"convinv.{k}.conv.weight"] = (ck, ck, 1)
        if folded:
            s[f"convinv.{k}.W_inverse"] = (ck, ck)
        s[f"WN.{k}.end.weight"] = (2 * (ck // 2), c.wn_n_channels, 1)
        s[f"WN.{k}.end.bias"] = (2 * (ck // 2),)
    for prefix, (o, i, k) in weight_norm_convs(c).items():
        if folded:
            s[f"{prefix}.weight"] = (o, i, k)
        else:
            s.update({f"{prefix}.weight_g": (o, 1, 1), f"{prefix}.weight_v": (o, i, k)})
        s[f"{prefix}.bias"] = (o,)
    if folded:
        s["denoiser.bias_spec"] = (c.stft_filter_length // 2 + 1,)
    return s


def tacotron2_layout(c: Tacotron2Config, folded: bool) -> Shapes:
    """Tacotron 2's keys are the same in DLE and HDF5 layouts."""
    return tacotron2_shapes(c)


def waveglow_layout(c: WaveGlowConfig, folded: bool) -> Shapes:
    return _waveglow_shapes(c, folded)


def _layout(config: _ConfigBase, folded: bool) -> Shapes:
    """The registered layout of ``config``'s architecture (``weights.architectures``)."""
    from .architectures import ARCHITECTURES
    arch = ARCHITECTURES.get(getattr(config, "architecture", ""))
    if arch is None or not isinstance(config, _ConfigBase):
        raise TypeError(f"expected the config of one of {sorted(ARCHITECTURES)}, got {type(config).__name__}")
    return arch.function("layout")(config, folded)


def dle_shapes(config: _ConfigBase) -> Shapes:
    """Shapes of the raw DLE state_dict for ``config`` (module. prefixes stripped, no num_batches_tracked)."""
    return _layout(config, folded=False)


def expected_shapes(config: _ConfigBase) -> Shapes:
    """Shapes of the HDF5 layout for ``config`` (what ``read_weights`` and ``WeightStore`` check)."""
    return _layout(config, folded=True)


def check_shapes(actual: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]],
                 source: str, context: str = "") -> None:
    """Raise :class:`WeightKeysError` listing every missing, unexpected and mis-shaped key of ``actual``."""
    missing = set(expected) - set(actual)
    unexpected = set(actual) - set(expected)
    mismatched = [(k, tuple(expected[k]), tuple(actual[k])) for k in set(actual) & set(expected)
                  if tuple(actual[k]) != tuple(expected[k])]
    if missing or unexpected or mismatched:
        raise WeightKeysError(source, missing, unexpected, mismatched, context)
