"""The per-step design, kept for comparison: the decoder run as one ``decoder-step`` call per frame from a host
loop.

Everything about the state comes from the step network's own I/O spec: its recurrent fields are the inputs that
have a ``next_<name>`` output, all zero at the start (DLE's initial state, the go frame, nothing finished); the
stop rule runs inside the network, which reports ``next_finished``.  So this loop restates neither the state
layout nor the stop rule, and gives the in-engine loop's frames.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..iospec import IOSpec
from .feeds import numpy_dtype
from .sessions import SessionLike, run


def recurrent_inputs(io: IOSpec) -> list[Any]:
    """The step network's state inputs: those with a matching ``next_<name>`` output, in input order."""
    outputs = {s.name for s in io.outputs}
    return [s for s in io.inputs if f"next_{s.name}" in outputs]


def zero_state_feeds(io: IOSpec, dims: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Every recurrent input all-zero, named dimensions from ``dims`` (``B``, ``T_in``)."""
    return {s.name: np.zeros(tuple(dims[d] if isinstance(d, str) else d for d in s.shape), numpy_dtype(s.dtype))
            for s in recurrent_inputs(io)}


def decode_per_step(step: SessionLike, encoded: Mapping[str, np.ndarray], lengths: np.ndarray, *,
                    max_decoder_steps: int, gate_threshold: float,
                    prenet_masks: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run ``decoder-step`` once per frame until every item finished or the cap; returns the decoder-loop
    network's outputs (mel [B, n_mel, steps] zeroed after each stop frame, mel_lengths, gate [B, steps],
    n_steps)."""
    memory = encoded["memory"]
    state = zero_state_feeds(step.io, {"B": memory.shape[0], "T_in": memory.shape[1]})
    fixed = {"memory": memory, "processed_memory": encoded["processed_memory"], "lengths": lengths,
             "gate_threshold": np.array(gate_threshold, np.float32)}
    state, frames, gates = run_steps(step, state, fixed, max_decoder_steps, prenet_masks)
    return {"mel": np.stack(frames, 2), "mel_lengths": state["mel_lengths"].reshape(-1), "gate": np.stack(gates, 1),
            "n_steps": np.array(len(frames), np.int32)}


def run_steps(step: SessionLike, state: dict[str, np.ndarray], fixed: Mapping[str, np.ndarray], n: int,
              masks: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], list, list]:
    """Up to ``n`` runs of ``decoder-step`` from ``state`` (each feeding the last one's next_<field>; masks[t]
    the t-th step's prenet mask), stopping once every item finished: (last state, each step's mel [B, n_mel],
    each step's gate [B] float32)."""
    frames, gates = [], []
    for t in range(n):
        feeds = {**state, **fixed}
        if masks is not None:
            feeds["prenet_mask"] = masks[t]
        out = run(step, feeds)
        state = {k: out[f"next_{k}"] for k in state}
        frames.append(out["mel"])
        gates.append(np.asarray(out["gate"], np.float32))
        if state["finished"].all():
            break
    return state, frames, gates
