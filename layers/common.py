"""Blocks shared by the Tacotron 2 and WaveGlow layers, written with trtnet ops only."""

from __future__ import annotations

from trtnet import ops
from trtnet.tensor import Tensor


def lstm_cell(x_proj: Tensor, h: Tensor, c: Tensor, w_hh_t: Tensor) -> tuple[Tensor, Tensor]:
    """One PyTorch LSTM step with the four gates fused in one GEMM.

    x_proj [B, 4H] = x·W_ihᵀ + b_ih + b_hh (computed by the caller, outside a loop where possible);
    gates = x_proj + h·W_hhᵀ, split (i, f, g, o); c' = σ(f)⊙c + σ(i)⊙tanh(g); h' = σ(o)⊙tanh(c').
    w_hh_t is W_hhᵀ [H, 4H].  TRT: one IMatrixMultiplyLayer, IElementWise/IActivation layers, ISlice.
    """
    gates = x_proj + ops.matmul(h, w_hh_t, name="gates")
    i, f, g, o = ops.split(gates, 4, axis=-1, name="gate")
    c2 = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    h2 = ops.sigmoid(o) * ops.tanh(c2)
    return h2, c2
