"""The reference Tacotron 2 decoder loop with its stop rule on the device, for the CUDA-graph and compiled PyTorch
rows of ``trtnet bench``.

One call of the step body is one DLE decoder step of the independent reference (prenet with its dropout, attention
LSTM, location-sensitive attention, decoder LSTM, frame projection, gate) plus DLE's stop rule, reading and writing
only fixed buffers, so it can be captured once as a CUDA graph (or compiled) and replayed:

    n_steps     += max_b not_finished_b                  (the step counts while some row is unfinished before it)
    mels[step]   = frame;  gates[step] = gate             (index_copy at a device-side step counter)
    not_finished = not_finished · [σ(gate) ≤ θ];  mel_lengths += not_finished;  step += 1
    frame, state ← the step's outputs                     (copied into the input buffers)

The host reads ``not_finished`` back every ``readback_every`` steps (one device synchronisation each) and stops
once no row is unfinished, so up to ``readback_every − 1`` steps run past DLE's stop step: they are computed
and discarded (``n_steps`` stays DLE's).  ``readback_every = 1`` is DLE's loop exactly.

Shapes: B batch, T_in text positions, S = max_decoder_steps, M = frame_dim (n_mel · frames per step)."""

from __future__ import annotations

from typing import Any, Callable

import torch

from trtnet.weights.reference.decoder import DecoderState

Step = Callable[[], None]


class DeviceDecoder:
    """Fixed buffers for batch ``batch`` × ``t_in`` text positions, and the step body over them.

    ``wrap(body)`` turns the body into the callable replayed once per step (identity: eager; a captured CUDA
    graph's replay; a compiled body's graph replay)."""

    def __init__(self, t2: Any, batch: int, t_in: int, *, max_steps: int, threshold: float, dtype: torch.dtype,
                 device: str | torch.device, dropout: str = "on"):
        cfg = t2.config
        self.t2, self.max_steps, self.threshold, self.dropout = t2, int(max_steps), float(threshold), dropout
        z = lambda *shape, dt=dtype: torch.zeros(*shape, dtype=dt, device=device)   # noqa: E731
        self.memory = z(batch, t_in, cfg.encoder_embedding_dim)
        self.processed = z(batch, t_in, cfg.attention_dim)
        self.mask = torch.zeros(batch, t_in, dtype=torch.bool, device=device)
        self.frame = z(batch, cfg.frame_dim)
        self.state = tuple(t2.decoder.initial_state(self.memory))
        self.mels = z(self.max_steps, batch, cfg.frame_dim)
        self.gates = z(self.max_steps, batch)
        self.step = torch.zeros(1, dtype=torch.long, device=device)
        self.not_finished = torch.ones(batch, dtype=torch.int32, device=device)
        self.mel_lengths = torch.zeros(batch, dtype=torch.int32, device=device)
        self.n_steps = torch.zeros(1, dtype=torch.int32, device=device)

    def args(self) -> tuple:
        """The body's tensors, in its argument order (a compiled body takes them as inputs, mutated in place)."""
        return (self.frame, self.state, self.memory, self.processed, self.mask, self.mels, self.gates, self.step,
                self.not_finished, self.mel_lengths, self.n_steps)

    def body(self, frame, state, memory, processed, mask, mels, gates, step, not_finished, mel_lengths,
             n_steps) -> None:
        """One decoder step and the stop rule, in place (see the module docstring)."""
        out, gate, new = self.t2.decoder_step(frame, DecoderState(*state), memory, processed, mask,
                                              dropout=self.dropout)
        n_steps.add_(not_finished.amax())
        mels.index_copy_(0, step, out.unsqueeze(0))
        gates.index_copy_(0, step, gate.unsqueeze(0).to(gates.dtype))
        not_finished.mul_((torch.sigmoid(gate) <= self.threshold).to(not_finished.dtype))
        mel_lengths.add_(not_finished)
        step.add_(1)
        frame.copy_(out)
        for buf, value in zip(state, new):
            buf.copy_(value)

    def reset(self, memory: torch.Tensor, processed: torch.Tensor, mask: torch.Tensor) -> None:
        """A new utterance: its encoder outputs copied in, the state and the counters zeroed."""
        self.memory.copy_(memory)
        self.processed.copy_(processed)
        self.mask.copy_(mask)
        for t in (self.frame, *self.state, self.step, self.mel_lengths, self.n_steps):
            t.zero_()
        self.not_finished.fill_(1)

    def run(self, step: Step, readback_every: int) -> tuple[int, int]:
        """Replay ``step`` until every row stopped (checked every ``readback_every`` steps) or S steps:
        (DLE's n_steps, steps run)."""
        if readback_every < 1:
            raise ValueError(f"readback_every must be >= 1, got {readback_every}")
        run = 0
        while run < self.max_steps:
            step()
            run += 1
            if run % readback_every == 0 and int(self.not_finished.amax()) == 0:
                break
        return int(self.n_steps), run

    def mel(self, n_steps: int) -> torch.Tensor:
        """The decoder's mel [B, n_mel, n_steps · frames per step] (DLE's layout)."""
        b = self.frame.shape[0]
        return self.mels[:n_steps].transpose(0, 1).reshape(b, -1, self.t2.config.n_mel_channels).transpose(1, 2)
