"""Tacotron 2 decoder pieces: prenet, location-sensitive attention, one decoder step.

Shapes: B batch, T_in encoder steps, E = encoder_embedding_dim, A = attention_dim, P = prenet_dim,
H_att = attention_rnn_dim, H_dec = decoder_rnn_dim, M = n_mel_channels · n_frames_per_step.
Prenet dropout masks hold *keep* values in {0, 1}; kept activations are scaled by 1/(1-p).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..config import Tacotron2Config
from ._common import ConvNorm, LinearNorm


class DecoderState(NamedTuple):
    """Recurrent decoder state; all zeros at the start of an utterance."""

    attention_hidden: torch.Tensor  # [B, H_att]
    attention_cell: torch.Tensor  # [B, H_att]
    decoder_hidden: torch.Tensor  # [B, H_dec]
    decoder_cell: torch.Tensor  # [B, H_dec]
    attention_weights: torch.Tensor  # [B, T_in]
    attention_weights_cum: torch.Tensor  # [B, T_in]
    attention_context: torch.Tensor  # [B, E]


def keep_scale(p: float) -> float:
    """Scale of kept prenet activations: 1/(1-p) (0 when everything is dropped)."""
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)


def make_prenet_masks(steps: int, batch: int, config: Tacotron2Config,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Bernoulli keep masks [steps, batch, 2, prenet_dim] (float32, 1 with probability 1 - prenet_dropout)."""
    u = torch.rand(steps, batch, 2, config.prenet_dim, generator=generator)
    return (u < 1.0 - config.prenet_dropout).to(torch.float32)


class Prenet(nn.Module):
    """Two bias-free linears, each followed by ReLU and (inference-time!) dropout."""

    def __init__(self, in_dim: int, dim: int):
        super().__init__()
        self.layers = nn.ModuleList([LinearNorm(in_dim, dim, bias=False), LinearNorm(dim, dim, bias=False)])

    def forward(self, x: torch.Tensor, dropout: str | torch.Tensor = "on", p: float = 0.5) -> torch.Tensor:
        """x [B, M] → [B, P].  dropout: "on" (F.dropout, global RNG), "off", or keep mask [B, 2, P]."""
        if isinstance(dropout, torch.Tensor):
            want = (x.shape[0], len(self.layers), self.layers[-1].linear_layer.out_features)
            if tuple(dropout.shape) != want:
                raise ValueError(f"prenet keep mask has shape {tuple(dropout.shape)}, expected {want}")
        elif dropout not in ("on", "off"):
            raise ValueError(f"dropout must be 'on', 'off' or a keep-mask tensor, got {dropout!r}")
        for index, layer in enumerate(self.layers):
            x = F.relu(layer(x))
            if isinstance(dropout, torch.Tensor):
                x = x * (dropout[:, index].to(x.dtype) * keep_scale(p))
            elif dropout == "on":
                x = F.dropout(x, p=p, training=True)
        return x


class LocationLayer(nn.Module):
    """Conv1d(2 → n_filters, k, no bias) on [weights; cum weights], then a bias-free dense to A."""

    def __init__(self, n_filters: int, kernel_size: int, attention_dim: int):
        super().__init__()
        self.location_conv = ConvNorm(2, n_filters, kernel_size, bias=False)
        self.location_dense = LinearNorm(n_filters, attention_dim, bias=False)

    def forward(self, weights_cat: torch.Tensor) -> torch.Tensor:
        """[B, 2, T_in] → [B, T_in, A]."""
        return self.location_dense(self.location_conv(weights_cat).transpose(1, 2))


class Attention(nn.Module):
    """Location-sensitive attention: e = v·tanh(W_q q + W_l conv([α; Σα]) + W_m memory)."""

    def __init__(self, cfg: Tacotron2Config):
        super().__init__()
        self.query_layer = LinearNorm(cfg.attention_rnn_dim, cfg.attention_dim, bias=False)
        self.memory_layer = LinearNorm(cfg.encoder_embedding_dim, cfg.attention_dim, bias=False)
        self.v = LinearNorm(cfg.attention_dim, 1, bias=False)
        self.location_layer = LocationLayer(cfg.attention_location_n_filters, cfg.attention_location_kernel_size,
                                            cfg.attention_dim)

    def energies(self, query: torch.Tensor, processed_memory: torch.Tensor, weights_cat: torch.Tensor) -> torch.Tensor:
        """query [B, H_att], processed_memory [B, T_in, A], weights_cat [B, 2, T_in] → energies [B, T_in]."""
        pq = self.query_layer(query.unsqueeze(1))  # [B, 1, A]
        pl = self.location_layer(weights_cat)  # [B, T_in, A]
        return self.v(torch.tanh(pq + pl + processed_memory)).squeeze(-1)

    def forward(self, query, memory, processed_memory, weights_cat, mask):
        """→ (context [B, E], weights [B, T_in]); mask [B, T_in] is True on padded positions (energy −inf)."""
        e = self.energies(query, processed_memory, weights_cat).masked_fill(mask, float("-inf"))
        weights = F.softmax(e, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class Decoder(nn.Module):
    """DLE ``Decoder`` (inference only): prenet, attention LSTMCell, attention, decoder LSTMCell, projections."""

    def __init__(self, cfg: Tacotron2Config):
        super().__init__()
        self.cfg = cfg
        e, m = cfg.encoder_embedding_dim, cfg.frame_dim
        self.prenet = Prenet(m, cfg.prenet_dim)
        self.attention_rnn = nn.LSTMCell(cfg.prenet_dim + e, cfg.attention_rnn_dim)
        self.attention_layer = Attention(cfg)
        self.decoder_rnn = nn.LSTMCell(cfg.attention_rnn_dim + e, cfg.decoder_rnn_dim)
        self.linear_projection = LinearNorm(cfg.decoder_rnn_dim + e, m)
        self.gate_layer = LinearNorm(cfg.decoder_rnn_dim + e, 1)

    def initial_state(self, memory: torch.Tensor) -> DecoderState:
        """All-zero state for memory [B, T_in, E] (its dtype and device)."""
        b, t_in, e = memory.shape
        att, dec = (b, self.cfg.attention_rnn_dim), (b, self.cfg.decoder_rnn_dim)
        z = memory.new_zeros
        return DecoderState(z(att), z(att), z(dec), z(dec), z(b, t_in), z(b, t_in), z(b, e))

    def decode(self, prenet_out: torch.Tensor, state: DecoderState, memory: torch.Tensor,
               processed_memory: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """One step after the prenet: prenet_out [B, P] → (frame [B, M], gate logit [B], new state)."""
        x = torch.cat([prenet_out, state.attention_context], dim=-1)
        h_att, c_att = self.attention_rnn(x, (state.attention_hidden, state.attention_cell))
        weights_cat = torch.stack([state.attention_weights, state.attention_weights_cum], dim=1)
        context, weights = self.attention_layer(h_att, memory, processed_memory, weights_cat, mask)
        h_dec, c_dec = self.decoder_rnn(torch.cat([h_att, context], dim=-1),
                                        (state.decoder_hidden, state.decoder_cell))
        z = torch.cat([h_dec, context], dim=-1)
        new_state = DecoderState(h_att, c_att, h_dec, c_dec, weights, state.attention_weights_cum + weights, context)
        return self.linear_projection(z), self.gate_layer(z).squeeze(-1), new_state
