"""Tacotron 2 encoder: embedding → n × (mask, conv+BN, ReLU) → BiLSTM honouring lengths → memory, plus the
attention's memory projection (``processed_memory``), computed once per utterance.

Shapes: B batch, T = T_in tokens, E = encoder_embedding_dim, H = E/2 per direction, A = attention_dim.
Padded positions are zeroed before every conv (a batch item equals its single run; DLE leaks pad-token
embeddings into the last conv outputs of shorter items) and memory is exactly 0 there.
"""

from __future__ import annotations

import numpy as np

from trtnet import ops
from trtnet.dtypes import DType
from trtnet.graph import Graph
from trtnet.loop import loop
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..common import derived, lstm_update, module, param, valid_positions, zero_padding
from .blocks import F32, conv_bn, lstm_keys


def embed_and_convolve(g: Graph, store: WeightStore, tokens: Tensor, valid: Tensor, dtype: DType) -> Tensor:
    """tokens [B, T] int32 → embedding [B, T, E] (TRT: IGatherLayer) → [B, E, T] → per block: zero padded
    positions, conv+BN (folded), ReLU → [B, E, T]."""
    cfg = store.config
    e = cfg.encoder_embedding_dim
    if cfg.symbols_embedding_dim != e:
        raise ValueError(f"symbols_embedding_dim ({cfg.symbols_embedding_dim}) must equal encoder_embedding_dim "
                         f"({e}) in DLE's Tacotron 2")
    with module(g, store, "embedding") as w:
        table = param(g, w, "weight", dtype, shape=(cfg.n_symbols, e))
        x = ops.transpose(ops.gather(table, tokens, 0, name="lookup"), 1, 2)        # [B, E, T]
    with g.scope("encoder"):
        keep = ops.unsqueeze(valid, 1, name="keep")                                 # [B, 1, T]
    for i in range(cfg.encoder_n_convolutions):
        prefix = f"encoder.convolutions.{i}"
        with g.scope(prefix):
            x = zero_padding(x, keep)
        x = conv_bn(g, store, prefix, x, e, e, cfg.encoder_kernel_size, dtype)
        with g.scope(prefix):
            x = ops.relu(x)
    return x


def _ih_both_t(wi_f, wh_f, bi_f, bh_f, wi_b, wh_b, bi_b, bh_b):
    return np.concatenate([wi_f.T, wi_b.T], axis=1)


def _hh_both_t(wi_f, wh_f, bi_f, bh_f, wi_b, wh_b, bi_b, bh_b):
    return np.stack([wh_f.T, wh_b.T])


def _bias_both(wi_f, wh_f, bi_f, bh_f, wi_b, wh_b, bi_b, bh_b):
    return np.concatenate([bi_f + bh_f, bi_b + bh_b])


def bilstm(g: Graph, store: WeightStore, x: Tensor, lengths: Tensor, valid: Tensor, dtype: DType) -> Tensor:
    """``encoder.lstm`` (bidirectional, one layer) on x [B, E, T] → [B, T, 2H] (fwd ‖ bwd), 0 past each length.

    Input projections of both directions are ONE GEMM outside the loop ([T, B, E]·[E, 8H] + b); the backward
    half is reversed per item (TRT: IReverseSequenceLayer) so one forward loop (ILoop, COUNT = T) runs both
    directions as a batch of 2: gates [2, B, 4H] = x_t + h·W_hhᵀ (one batched GEMM per step), cell in fp32.
    """
    cfg = store.config
    e, h = cfg.encoder_embedding_dim, cfg.encoder_lstm_dim
    with module(g, store, "encoder.lstm") as w:
        keys = {**lstm_keys(e, h, "_l0"), **lstm_keys(e, h, "_l0_reverse")}   # fwd (4), then bwd (4)
        w_ih = derived(g, w, "weight_ih_both_t", dtype, keys, _ih_both_t)                   # [E, 8H]
        bias = derived(g, w, "bias_both", F32, keys, _bias_both)                             # [8H]
        w_hh = derived(g, w, "weight_hh_both_t", dtype, keys, _hh_both_t)                   # [2, H, 4H]
        x_tm = ops.permute(x, (2, 0, 1))                                                        # [T, B, E]
        proj = ops.cast(ops.matmul(x_tm, w_ih, name="input_proj"), F32) + bias                   # [T, B, 8H]
        p_fwd, p_bwd = ops.split(proj, 2, axis=-1, name="direction")
        p_bwd = ops.reverse_sequence(p_bwd, lengths, batch_axis=1, seq_axis=0, name="reverse_input")
        seq = ops.concat([ops.unsqueeze(p_fwd, 1), ops.unsqueeze(p_bwd, 1)], axis=1)            # [T, 2, B, 4H]
        batch = ops.dims(x)[0]
        init = {"h": ops.zeros(g, [2, batch, h], dtype), "c": ops.zeros(g, [2, batch, h], F32)}

        def body(s: dict, it: dict):
            gates = it["x"] + ops.cast(ops.matmul(s["h"], w_hh, name="gates"), F32)
            h2, c2 = lstm_update(gates, s["c"], dtype)
            return {"h": h2, "c": c2}, {"h": h2}, None

        steps = ops.cast(ops.dim_size(x_tm, 0), DType.int32)
        hs = loop(body, init, max_steps=steps, sequences={"x": seq}, name="recurrence").collected["h"]  # [T,2,B,H]
        h_fwd, h_bwd = (ops.squeeze(ops.slice_axis(hs, 1, d, d + 1), 1) for d in (0, 1))
        h_bwd = ops.reverse_sequence(h_bwd, lengths, batch_axis=1, seq_axis=0, name="reverse_output")
        out = ops.permute(ops.concat([h_fwd, h_bwd], axis=-1), (1, 0, 2))                      # [B, T, 2H]
        return ops.where(ops.unsqueeze(valid, 2), out, 0.0, name="zero_padding")


def encode(g: Graph, store: WeightStore, tokens: Tensor, lengths: Tensor, dtype: DType) -> tuple[Tensor, Tensor]:
    """tokens [B, T] int32, lengths [B] int32 → (memory [B, T, E], processed_memory [B, T, A]), both ``dtype``;
    processed_memory = memory·W_memᵀ (``decoder.attention_layer.memory_layer``, no bias, so also 0 on pads)."""
    cfg = store.config
    with g.scope("encoder"):
        valid = valid_positions(lengths, ops.dims(tokens)[1])
    memory = bilstm(g, store, embed_and_convolve(g, store, tokens, valid, dtype), lengths, valid, dtype)
    with module(g, store, "decoder.attention_layer.memory_layer") as w:
        w_mem = param(g, w, "linear_layer.weight", dtype, shape=(cfg.attention_dim, cfg.encoder_embedding_dim),
                      transform=np.transpose)
        processed = ops.matmul(memory, w_mem, name="processed_memory")
    return memory, processed
