"""The seeds' design, kept for comparison: the decoder run as one engine call per frame from a host loop.

Each step feeds the previous step's outputs back (``next_<field>`` → ``<field>``) and reads the gate on the
host to apply DLE's stop rule, exactly as the in-engine loop does, so the two give the same frames.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .pipeline import SessionLike, run

STATE_FIELDS = ("attention_hidden", "attention_cell", "decoder_hidden", "decoder_cell", "attention_weights",
                "attention_weights_cum", "attention_context")


def initial_state(t2: Any, batch: int, t_in: int, dtype: np.dtype) -> dict[str, np.ndarray]:
    """All-zero decoder state and go frame (DLE's initialize_decoder_states); ``run`` casts each to the dtype
    the step network declares."""
    sizes = {"attention_hidden": t2.attention_rnn_dim, "attention_cell": t2.attention_rnn_dim,
             "decoder_hidden": t2.decoder_rnn_dim, "decoder_cell": t2.decoder_rnn_dim,
             "attention_weights": t_in, "attention_weights_cum": t_in,
             "attention_context": t2.encoder_embedding_dim, "frame": t2.frame_dim}
    return {k: np.zeros((batch, n), dtype) for k, n in sizes.items()}


def decode_per_step(step: SessionLike, encoded: Mapping[str, np.ndarray], lengths: np.ndarray, t2: Any, *,
                    max_decoder_steps: int, gate_threshold: float,
                    prenet_masks: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run ``decoder-step`` once per frame; returns the decoder-loop network's outputs (mel [B, n_mel, steps]
    zeroed after each stop frame, mel_lengths, gate [B, steps], n_steps)."""
    memory = encoded["memory"]
    B, t_in = memory.shape[:2]
    state = initial_state(t2, B, t_in, memory.dtype)
    fixed = {"memory": memory, "processed_memory": encoded["processed_memory"], "lengths": lengths}
    not_finished = np.ones(B, np.int32)
    mel_lengths = np.zeros(B, np.int32)
    frames, gates, kept = [], [], []
    for t in range(max_decoder_steps):
        feeds = {**state, **fixed}
        if prenet_masks is not None:
            feeds["prenet_mask"] = prenet_masks[t]
        out = run(step, feeds)
        state = {k: out[f"next_{k}"] for k in (*STATE_FIELDS, "frame")}
        gate = out["gate"].astype(np.float32).reshape(B)
        kept.append(not_finished.copy())           # rows still running this step (their stop frame included)
        frames.append(state["frame"])
        gates.append(gate)
        not_finished *= (1.0 / (1.0 + np.exp(-gate)) <= gate_threshold).astype(np.int32)
        mel_lengths += not_finished
        if not not_finished.any():
            break
    keep = np.stack(kept, 1).astype(bool)                                       # [B, steps]
    mel = np.stack(frames, 2)                                                   # [B, frame_dim, steps]
    mel = np.where(keep[:, None, :], mel, np.zeros((), mel.dtype))
    gate = np.where(keep, np.stack(gates, 1), np.float32(0))
    return {"mel": mel[:, :t2.n_mel_channels], "mel_lengths": mel_lengths, "gate": gate,
            "n_steps": np.array(len(frames), np.int32)}
