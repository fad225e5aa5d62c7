"""Plain-PyTorch Tacotron 2 (DLE inference semantics), the ground truth for layer tests.

Submodule names equal DLE's, so ``state_dict()`` has exactly the DLE checkpoint keys.  Differences from
DLE, all output-neutral per item: ragged batches may come in any order (``enforce_sorted=False``); the
encoder output is padded to ``tokens.shape[1]`` (DLE: ``max(lengths)``, equal for DLE's own batches).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..config import ConfigError, Tacotron2Config
from ._common import CheckpointSource, ConvNorm, config_from_dle, read_checkpoint, strict_load
from .decoder import Decoder, DecoderState, make_prenet_masks

log = logging.getLogger(__name__)


def _conv_bn(in_ch: int, out_ch: int, kernel_size: int) -> nn.Sequential:
    """DLE conv block: Sequential(ConvNorm (index 0), BatchNorm1d (index 1))."""
    return nn.Sequential(ConvNorm(in_ch, out_ch, kernel_size), nn.BatchNorm1d(out_ch))


class Encoder(nn.Module):
    """n × [Conv1d → BN → ReLU] over the padded batch, then a BiLSTM that honours the lengths."""

    def __init__(self, cfg: Tacotron2Config):
        super().__init__()
        e = cfg.encoder_embedding_dim
        self.convolutions = nn.ModuleList(_conv_bn(e, e, cfg.encoder_kernel_size)
                                          for _ in range(cfg.encoder_n_convolutions))
        self.lstm = nn.LSTM(e, cfg.encoder_lstm_dim, num_layers=1, batch_first=True, bidirectional=True)

    def convs(self, x: torch.Tensor) -> torch.Tensor:
        """[B, E, T_in] → [B, E, T_in] (pad positions included, as in DLE)."""
        for block in self.convolutions:
            x = F.relu(block(x))
        return x

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x [B, E, T_in], lengths [B] → memory [B, T_in, E]; rows are exactly 0 past their length."""
        x = self.convs(x).transpose(1, 2)
        packed = pack_padded_sequence(x, lengths.cpu().to(torch.int64), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return memory


class Postnet(nn.Module):
    """n × [Conv1d → BN] with tanh after all but the last block.

    Calling it returns the postnet *output* ``mel + residual(mel)`` (as DLE's exported postnet does);
    ``residual`` is DLE's ``Postnet.forward``.
    """

    def __init__(self, cfg: Tacotron2Config):
        super().__init__()
        m, d, k, n = cfg.n_mel_channels, cfg.postnet_embedding_dim, cfg.postnet_kernel_size, cfg.postnet_n_convolutions
        widths = [m] + [d] * (n - 1) + [m]
        self.convolutions = nn.ModuleList(_conv_bn(widths[i], widths[i + 1], k) for i in range(n))

    def residual(self, mel: torch.Tensor) -> torch.Tensor:
        """[B, n_mel, T] → [B, n_mel, T] (the conv stack alone)."""
        x = mel
        for index, block in enumerate(self.convolutions):
            x = block(x)
            if index < len(self.convolutions) - 1:
                x = torch.tanh(x)
        return x

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return mel + self.residual(mel)


class Tacotron2Reference(nn.Module):
    """DLE Tacotron 2 in eval mode: ``encode`` → ``decoder_step`` loop (``infer``) → ``postnet``."""

    def __init__(self, config: Tacotron2Config | None = None):
        super().__init__()
        cfg = config or Tacotron2Config()
        if cfg.symbols_embedding_dim != cfg.encoder_embedding_dim:
            raise ConfigError(f"symbols_embedding_dim ({cfg.symbols_embedding_dim}) must equal "
                              f"encoder_embedding_dim ({cfg.encoder_embedding_dim}) in DLE's Tacotron 2")
        self.config = cfg
        self.embedding = nn.Embedding(cfg.n_symbols, cfg.symbols_embedding_dim)
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.postnet = Postnet(cfg)
        self.eval()

    @classmethod
    def from_checkpoint(cls, source: CheckpointSource, config: Tacotron2Config | None = None) -> "Tacotron2Reference":
        """Strict load of a DLE checkpoint (path or dict; ``module.`` stripped).

        Config: given, else ckpt['config'] mapped onto Tacotron2Config fields, else defaults.
        """
        state, dle_config, name = read_checkpoint(source)
        cfg = config if config is not None else config_from_dle(Tacotron2Config, dle_config)
        model = cls(cfg)
        strict_load(model, state, name)
        return model.eval()

    # ----- blocks usable on their own -----
    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, T_in] int, lengths [B] → (memory [B, T_in, E], processed_memory [B, T_in, A])."""
        if tokens.dim() != 2 or lengths.shape != (tokens.shape[0],):
            raise ValueError(f"tokens must be [B, T_in] and lengths [B]; got {tuple(tokens.shape)} and "
                             f"{tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > tokens.shape[1]:
            raise ValueError(f"lengths must lie in [1, {tokens.shape[1]}], got {lengths.tolist()}")
        x = self.embedding(tokens.long()).transpose(1, 2)  # [B, E, T_in]
        memory = self.encoder(x, lengths)
        return memory, self.decoder.attention_layer.memory_layer(memory)

    @staticmethod
    def padding_mask(lengths: torch.Tensor, t_in: int) -> torch.Tensor:
        """[B, T_in] bool, True where t >= length."""
        return torch.arange(t_in, device=lengths.device)[None, :] >= lengths[:, None]

    def initial_state(self, memory: torch.Tensor) -> DecoderState:
        return self.decoder.initial_state(memory)

    def go_frame(self, memory: torch.Tensor) -> torch.Tensor:
        """Zero first decoder input [B, M]."""
        return memory.new_zeros(memory.shape[0], self.config.frame_dim)

    def decoder_step(self, frame: torch.Tensor, state: DecoderState, memory: torch.Tensor,
                     processed_memory: torch.Tensor, mask: torch.Tensor, *,
                     dropout: str | torch.Tensor = "on") -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """Previous frame [B, M] → (frame [B, M], gate logit [B], state); dropout "on"/"off"/keep mask [B, 2, P]."""
        p = self.decoder.prenet(frame, dropout, self.config.prenet_dropout)
        return self.decoder.decode(p, state, memory, processed_memory, mask)

    # ----- the DLE inference loop -----
    @torch.no_grad()
    def infer(self, tokens: torch.Tensor, lengths: torch.Tensor, *, dropout: str | torch.Tensor = "on",
              max_decoder_steps: int | None = None, gate_threshold: float | None = None,
              generator: torch.Generator | None = None, early_stopping: bool = True) -> dict[str, Any]:
        """DLE ``Tacotron2.infer``.

        dropout: "on" (DLE default: F.dropout on the global RNG, or masks drawn from ``generator``),
        "off", or fed keep masks [≥ n_steps, B, 2, P].  Returns mel / mel_postnet [B, n_mel, T],
        mel_lengths int32 [B] (stop frame not counted), gate logits [B, T], alignments [B, T, T_in], n_steps.
        early_stopping=False (DLE ``--decoder-no-early-stopping``) always runs max_decoder_steps steps.
        """
        cfg = self.config
        max_steps = cfg.max_decoder_steps if max_decoder_steps is None else int(max_decoder_steps)
        threshold = cfg.gate_threshold if gate_threshold is None else float(gate_threshold)
        batch = tokens.shape[0]
        if isinstance(dropout, str) and dropout == "on" and generator is not None:
            dropout = make_prenet_masks(max_steps, batch, cfg, generator)
        mask_shape = (batch, 2, cfg.prenet_dim)
        if isinstance(dropout, torch.Tensor) and (dropout.dim() != 4 or dropout.shape[1:] != mask_shape):
            raise ValueError(f"dropout masks have shape {tuple(dropout.shape)}, expected "
                             f"[steps, {batch}, 2, {cfg.prenet_dim}]")
        memory, processed = self.encode(tokens, lengths)
        mask = self.padding_mask(lengths.to(memory.device), memory.shape[1])
        state, frame = self.initial_state(memory), self.go_frame(memory)
        mel_lengths = torch.zeros(batch, dtype=torch.int32, device=memory.device)
        not_finished = torch.ones(batch, dtype=torch.int32, device=memory.device)
        frames, gates, alignments = [], [], []
        while True:
            step_dropout = dropout
            if isinstance(dropout, torch.Tensor):
                if len(frames) >= dropout.shape[0]:
                    raise ValueError(f"dropout masks cover {dropout.shape[0]} steps; "
                                     f"step {len(frames) + 1} needs one more")
                step_dropout = dropout[len(frames)].to(memory.device)
            frame, gate, state = self.decoder_step(frame, state, memory, processed, mask, dropout=step_dropout)
            frames.append(frame)
            gates.append(gate)
            alignments.append(state.attention_weights)
            not_finished = not_finished * (torch.sigmoid(gate) <= threshold).to(torch.int32)
            mel_lengths += not_finished
            if early_stopping and int(not_finished.sum()) == 0:
                break
            if len(frames) == max_steps:
                if early_stopping:
                    log.warning("Tacotron2 reference: reached max_decoder_steps=%d before every row stopped",
                                max_steps)
                break
        mel = torch.stack(frames, dim=1).reshape(batch, -1, cfg.n_mel_channels).transpose(1, 2)  # [B, n_mel, T·r]
        return {
            "mel": mel,
            "mel_postnet": self.postnet(mel),
            "mel_lengths": mel_lengths,
            "gate": torch.stack(gates, dim=1),
            "alignments": torch.stack(alignments, dim=1),
            "n_steps": len(frames),
        }
