"""Blocks shared by the Tacotron 2 encoder, decoder and postnet: conv+BatchNorm (folded), fused LSTM cells.

Precision: GEMMs and convs run in the network dtype; LSTM gate non-linearities and the cell state run in
float32 (the gate pre-activations are cast once per step), hidden states go back to the network dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType, F32
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import derived, lstm_update, module

BN_EPS = 1e-5  # torch.nn.BatchNorm1d default, as DLE uses


def _bn_scale(gamma: np.ndarray, var: np.ndarray) -> np.ndarray:
    """BatchNorm1d (eval) as a per-channel affine y = s·x + t: s = γ/√(var+eps), t = β − mean·s."""
    return gamma / np.sqrt(var + BN_EPS)


def _folded_weight(w, b, gamma, beta, mean, var):
    return w * _bn_scale(gamma, var)[:, None, None]


def _folded_bias(w, b, gamma, beta, mean, var):
    s = _bn_scale(gamma, var)
    return b * s + beta - mean * s


def conv_bn(g: Graph, store: WeightStore, prefix: str, x: Tensor, c_in: int, c_out: int, kernel: int,
            dtype: DType) -> Tensor:
    """DLE ``Sequential(ConvNorm, BatchNorm1d)`` at ``prefix`` with BN folded into the conv (numpy, float64):
    W' = W·s, b' = b·s + t.  x [B, c_in, T] → [B, c_out, T] ('same' padding).  TRT: IConvolutionLayer."""
    with module(g, store, prefix) as w:
        keys = {"0.conv.weight": (c_out, c_in, kernel), "0.conv.bias": (c_out,),
                **{f"1.{k}": (c_out,) for k in ("weight", "bias", "running_mean", "running_var")}}
        wt = derived(g, w, "weight_folded", dtype, keys, _folded_weight)
        bt = derived(g, w, "bias_folded", dtype, keys, _folded_bias)
        return ops.conv1d(x, wt, bt, padding=(kernel - 1) // 2, name="conv_bn")


@dataclass
class LSTMParams:
    """A PyTorch LSTM(Cell) with the four gates (i, f, g, o) fused: ``weight_t`` [in(+H), 4H] in the network
    dtype, ``bias`` [1, 4H] float32 = b_ih + b_hh."""

    weight_t: Tensor
    bias: Tensor


def lstm_keys(n_in: int, hidden: int, suffix: str = "") -> dict[str, tuple[int, ...]]:
    """The four tensors of one PyTorch LSTM direction, key → shape: W_ih, W_hh, b_ih, b_hh."""
    return {f"weight_ih{suffix}": (4 * hidden, n_in), f"weight_hh{suffix}": (4 * hidden, hidden),
            f"bias_ih{suffix}": (4 * hidden,), f"bias_hh{suffix}": (4 * hidden,)}


def _cat_t(w_ih, w_hh, b_ih, b_hh):
    return np.concatenate([w_ih.T, w_hh.T])


def _bias_sum_row(w_ih, w_hh, b_ih, b_hh):
    """b_ih + b_hh as a [1, 4H] row: it adds to the [B, 4H] gates without a reshape layer."""
    return (b_ih + b_hh)[None, :]


def lstm_cell_params(g: Graph, store: WeightStore, prefix: str, n_in: int, hidden: int, dtype: DType
                     ) -> LSTMParams:
    """An LSTMCell at ``prefix`` for one GEMM per step on [x, h]: weight [W_ih | W_hh]ᵀ [in + H, 4H]."""
    with module(g, store, prefix) as w:
        keys = lstm_keys(n_in, hidden)
        return LSTMParams(derived(g, w, "weight_cat_t", dtype, keys, _cat_t),
                          derived(g, w, "bias_sum", F32, keys, _bias_sum_row))


def lstm_cell(p: LSTMParams, xh: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTMCell step on the concatenated input xh = [x, h] [B, in + H]: gates = xh·Wᵀ + b (one GEMM,
    TRT: IMatrixMultiplyLayer), then :func:`lstm_update`.  Returns (h' [B, H] in xh's dtype, c' [B, H] fp32)."""
    gates = ops.cast(ops.matmul(xh, p.weight_t, name="gates"), F32) + p.bias
    return lstm_update(gates, c, xh.dtype)
