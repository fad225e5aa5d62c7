"""Tacotron 2 decoder: one step (shared by the decoder-step and decoder-loop networks) and the whole
autoregressive decode as ONE loop (COUNT = max_decoder_steps, WHILE = some item not finished).

Shapes: B batch, T = T_in, E encoder dim, M = n_mel_channels (n_frames_per_step = 1), P prenet_dim,
H_att / H_dec the LSTM sizes, S = max_decoder_steps.  Precision (``dtype`` = the network dtype): GEMM
operands, hidden states, context and frames in ``dtype``; LSTM cells, attention weights/energies/softmax,
the gate logit (its GEMM included) and the stop logic in float32; flags and lengths int32.

Stop semantics (DLE ``Decoder.infer``): dec = σ(gate) ≤ threshold; not_finished ⊙= dec;
mel_lengths += not_finished.  The stop frame is emitted, not counted; frames, gates and alignments after an
item's stop frame are 0.  The state carries ``finished`` = 1 − not_finished, so that the whole decoder state
(:class:`DecoderState`) starts at zero: DLE's ``initialize_decoder_states``, the go frame, nothing finished,
no frames counted.  One step with the stop rule (:func:`step`) serves the loop and the per-step network, and
:func:`decode` resumes from any state (the per-step network's I/O: ``<field>`` in, ``next_<field>`` out).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from trtnet import ops
from trtnet.dtypes import F32, I32, DType
from trtnet.graph import Graph
from trtnet.loop import loop
from trtnet.tensor import Tensor
from trtnet.weights.config import Tacotron2Config
from trtnet.weights.store import WeightStore

from ..common import as_row, derived, module, param
from .attention import AttentionMemory, AttentionParams, attend, attention_params
from .blocks import LSTMParams, lstm_cell, lstm_cell_params
from .prenet import PrenetParams, prenet, prenet_params, split_keep



@dataclass
class StepState:
    """The recurrent state of one decoder step (decoder-step network I/O: ``<field>`` → ``next_<field>``)."""

    attention_hidden: Tensor        # [B, H_att] dtype
    attention_cell: Tensor          # [B, H_att] float32
    decoder_hidden: Tensor          # [B, H_dec] dtype
    decoder_cell: Tensor            # [B, H_dec] float32
    attention_weights: Tensor       # [B, 1, T] float32
    attention_weights_cum: Tensor   # [B, 1, T] float32
    attention_context: Tensor       # [B, E] dtype
    frame: Tensor                   # [B, M] dtype: the last pre-postnet frame (zeros = DLE's go frame)


@dataclass
class DecoderState(StepState):
    """StepState plus DLE's stop bookkeeping: the decoder's whole recurrent state, all-zero at the start."""

    finished: Tensor                # [B, 1] int32, 1 once the item's gate fired (DLE's 1 − not_finished)
    mel_lengths: Tensor             # [B, 1] int32, frames before the stop frame


STEP_FIELDS = tuple(f.name for f in dataclasses.fields(StepState))
STATE_FIELDS = tuple(f.name for f in dataclasses.fields(DecoderState))


def state_layout(cfg: Tacotron2Config, dtype: DType) -> dict[str, tuple[tuple, DType]]:
    """field → (shape after the batch axis: ints, or "T_in" for the text axis; dtype): the [B, ·] layout of
    :class:`DecoderState`, every field zero at the start.  It is the layout one step computes in, so no step
    reshapes its state: the attention weights [B, 1, T_in] stack as the location conv's channels and come out of
    the softmax so; the stop counters [B, 1] broadcast against [B, M] frames and [B, 1] gates."""
    return {"attention_hidden": ((cfg.attention_rnn_dim,), dtype), "attention_cell": ((cfg.attention_rnn_dim,), F32),
            "decoder_hidden": ((cfg.decoder_rnn_dim,), dtype), "decoder_cell": ((cfg.decoder_rnn_dim,), F32),
            "attention_weights": ((1, "T_in"), F32), "attention_weights_cum": ((1, "T_in"), F32),
            "attention_context": ((cfg.encoder_embedding_dim,), dtype), "frame": ((cfg.frame_dim,), dtype),
            "finished": ((1,), I32), "mel_lengths": ((1,), I32)}


@dataclass
class DecoderParams:
    prenet: PrenetParams
    attention_rnn: LSTMParams
    attention: AttentionParams
    decoder_rnn: LSTMParams
    projection_t: Tensor    # [H_dec + E, M] dtype; float32 networks: [H_dec + E, M + 1], the gate's column last
    projection_b: Tensor    # [1, M] dtype; float32 networks: [1, M + 1]
    gate_t: Tensor | None   # [H_dec + E, 1] float32; None where the projection GEMM computes the gate too
    gate_b: Tensor | None   # [1, 1] float32
    dtype: DType
    config: Tacotron2Config


def _projection_and_gate_t(projection: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """linear_projection.weight [M, z] and gate_layer.weight [1, z] → one GEMM's [z, M + 1]."""
    return np.concatenate([projection, gate], axis=0).T


def _projection_and_gate_b(projection: np.ndarray, gate: np.ndarray) -> np.ndarray:
    """The two biases [M], [1] → one row [1, M + 1]."""
    return np.concatenate([projection, gate])[None, :]


def decoder_params(g: Graph, store: WeightStore, dtype: DType) -> DecoderParams:
    """All ``decoder.*`` weights but memory_layer, as constants (created once, outside any loop).  In float32
    networks the frame projection and the gate share one weight (one GEMM per step); otherwise the gate keeps
    its own float32 GEMM."""
    cfg = store.config
    if cfg.n_frames_per_step != 1:
        raise ValueError(f"n_frames_per_step={cfg.n_frames_per_step}: only 1 is supported (as in DLE's Tacotron 2)")
    e, z = cfg.encoder_embedding_dim, cfg.decoder_rnn_dim + cfg.encoder_embedding_dim
    att_rnn = lstm_cell_params(g, store, "decoder.attention_rnn", cfg.prenet_dim + e, cfg.attention_rnn_dim, dtype)
    dec_rnn = lstm_cell_params(g, store, "decoder.decoder_rnn", cfg.attention_rnn_dim + e, cfg.decoder_rnn_dim,
                               dtype)
    if dtype is F32:
        proj, gate = "linear_projection.linear_layer", "gate_layer.linear_layer"
        with module(g, store, "decoder") as w:
            proj_t = derived(g, w, "projection_and_gate_weight", F32,
                             {f"{proj}.weight": (cfg.frame_dim, z), f"{gate}.weight": (1, z)}, _projection_and_gate_t)
            proj_b = derived(g, w, "projection_and_gate_bias", F32,
                             {f"{proj}.bias": (cfg.frame_dim,), f"{gate}.bias": (1,)}, _projection_and_gate_b)
        gate_t = gate_b = None
    else:
        with module(g, store, "decoder.linear_projection.linear_layer") as w:
            proj_t = param(g, w, "weight", dtype, shape=(cfg.frame_dim, z), transform=np.transpose)
            proj_b = param(g, w, "bias", dtype, shape=(cfg.frame_dim,), transform=as_row)
        with module(g, store, "decoder.gate_layer.linear_layer") as w:
            gate_t = param(g, w, "weight", F32, shape=(1, z), transform=np.transpose)
            gate_b = param(g, w, "bias", F32, shape=(1,), transform=as_row)
    return DecoderParams(prenet_params(g, store, dtype), att_rnn, attention_params(g, store, dtype), dec_rnn,
                         proj_t, proj_b, gate_t, gate_b, dtype, cfg)


def initial_state(g: Graph, cfg: Tacotron2Config, batch, t_in, dtype: DType) -> DecoderState:
    """The all-zero decoder state; batch / t_in ints or 0-D tensors.  Fields of one shape and dtype share one
    zero tensor (a recurrence only reads its initial value).  TRT: IConstantLayer + ISliceLayer stride 0."""
    sizes, made = {"T_in": t_in}, {}
    fields = {}
    for k, (shape, dt) in state_layout(cfg, dtype).items():
        if (shape, dt) not in made:
            made[(shape, dt)] = ops.zeros(g, [batch, *(sizes.get(n, n) for n in shape)], dt, name=f"init_{k}")
        fields[k] = made[(shape, dt)]
    return DecoderState(**fields)


def decoder_step(p: DecoderParams, mem: AttentionMemory, s: StepState, keep: Tensor | None
                 ) -> tuple[StepState, Tensor]:
    """One DLE decoder step from frame s.frame; ``keep`` the scaled prenet keep mask [B, 2·P] or [B, 2, P], or
    one [B, P] mask per prenet layer, or None.
    Returns (next state with the new frame [B, M], gate logit [B, 1] float32).  Layer scopes follow the keys
    under ``decoder.`` (the caller opens the ``decoder`` scope)."""
    g = s.frame.graph
    with g.scope("prenet"):
        x = prenet(p.prenet, s.frame, keep)                                                      # [B, P]
    with g.scope("attention_rnn"):
        xh = ops.concat([x, s.attention_context, s.attention_hidden], axis=-1)
        h_att, c_att = lstm_cell(p.attention_rnn, xh, s.attention_cell)
    with g.scope("attention_layer"):
        context, weights = attend(p.attention, mem, h_att, s.attention_weights, s.attention_weights_cum)
        weights_cum = s.attention_weights_cum + weights
    with g.scope("decoder_rnn"):
        xh = ops.concat([h_att, context, s.decoder_hidden], axis=-1)
        h_dec, c_dec = lstm_cell(p.decoder_rnn, xh, s.decoder_cell)
    z = ops.concat([h_dec, context], axis=-1)                                                    # [B, H_dec+E]
    if p.gate_t is None:
        with g.scope("projection_and_gate"):
            frame, gate = ops.split(ops.linear(z, p.projection_t, p.projection_b), [p.config.frame_dim, 1])
    else:
        with g.scope("linear_projection"):
            frame = ops.linear(z, p.projection_t, p.projection_b)                                # [B, M]
        with g.scope("gate_layer"):
            gate = ops.linear(ops.cast(z, F32), p.gate_t, p.gate_b)                              # [B, 1]
    return StepState(h_att, c_att, h_dec, c_dec, weights, weights_cum, context, frame), gate


@dataclass
class StepOutput:
    """What one step emits: the frame, gate logit and attention weights, each 0 for items already finished."""

    mel: Tensor                 # [B, M] dtype
    gate: Tensor                # [B, 1] float32
    alignment: Tensor | None    # [B, T] float32, when asked for


def step(p: DecoderParams, mem: AttentionMemory, s: DecoderState, keep: Tensor | None, threshold: Tensor, *,
         alignment: bool = False) -> tuple[DecoderState, StepOutput]:
    """One decoder step with DLE's stop rule: the next state (finished ← finished ∨ σ(gate) > threshold,
    mel_lengths += not finished) and the step's outputs, zeroed for items that had finished before it (the
    alignment only with ``alignment``)."""
    g = s.frame.graph
    nxt, gate = decoder_step(p, mem, StepState(**{k: getattr(s, k) for k in STEP_FIELDS}), keep)
    with g.scope("stop"):
        alive = ops.less(s.finished, 1, name="alive")                                          # [B, 1] before
        fired = ops.cast(ops.greater(ops.sigmoid(gate), threshold), I32)
        finished = ops.maximum(s.finished, fired, name="finished")
        running = 1 - finished
        shown = ops.where(alive, ops.squeeze(nxt.attention_weights, 1), 0.0, name="alignment") if alignment else None
        out = StepOutput(ops.where(alive, nxt.frame, 0.0, name="mel"), ops.where(alive, gate, 0.0, name="gate"), shown)
    return DecoderState(**vars(nxt), finished=finished, mel_lengths=s.mel_lengths + running), out


@dataclass
class DecodeResult:
    mel: Tensor                 # [B, M, S] dtype, 0 after each item's stop frame
    mel_lengths: Tensor         # [B] int32
    gate: Tensor                # [B, S] float32 logits, 0 after the stop frame
    n_steps: Tensor             # [] int32
    alignments: Tensor | None   # [B, S, T] float32
    state: DecoderState         # the state after the last step (resume from it)

    def frames(self) -> Tensor:
        """[B] int32 frames each item generated, stop frame included: min(mel_lengths + 1, n_steps) (an item
        that hit the step cap has mel_lengths = n_steps).  What DLE's single run of the item hands its postnet."""
        with self.mel.graph.scope("decoder/outputs"):
            return ops.minimum(self.mel_lengths + 1, self.n_steps, name="frames")


def decode(p: DecoderParams, mem: AttentionMemory, max_steps: Tensor, threshold: Tensor,
           keep_masks: Tensor | None, *, alignments: bool = False, init: DecoderState | None = None,
           final_state: bool = True) -> DecodeResult:
    """DLE's inference loop as one ILoop (COUNT max_steps, WHILE some item not finished), from ``init`` (default
    the all-zero start state) to the returned ``state``: decoding N more steps from a state is this call again.
    ``final_state`` False: only ``mel_lengths`` of the last state is produced (one loop output, not one per field).
    keep_masks: scaled prenet keep masks [≥ S, B, 2, P] or [≥ S, B, 2·P], split per layer once before the loop
    and iterated per step (TRT: IIteratorLayer), or None.
    Per step the emitted frame, gate and alignment are zeroed for items that had already stopped."""
    g = mem.memory.graph
    if init is None:
        with g.scope("decoder"):
            batch, t_in = ops.dims(mem.memory)[:2]
            init = initial_state(g, p.config, batch, t_in, p.dtype)

    def body(s: DecoderState, it: dict):
        keep = [it[k] for k in sorted(it) if k.startswith("keep")] or None
        state, out = step(p, mem, s, keep, threshold, alignment=alignments)
        with g.scope("stop"):
            keep_going = ops.less(ops.reduce_min(state.finished, None), 1, name="keep_going")
        emits = {"mel": out.mel, "gate": out.gate}
        if alignments:
            emits["alignments"] = out.alignment
        return state, emits, keep_going

    with g.scope("decoder/invariants"):
        threshold = ops.reshape(threshold, [1, 1], name="gate_threshold")                      # against [B, 1]
        layers = [] if keep_masks is None else split_keep(keep_masks, p.prenet.dim)               # [S, B, P] each
        seqs = {f"keep{i}": m for i, m in enumerate(layers)}
    r = loop(body, init, max_steps=max_steps, sequences=seqs, name="decoder",   # its body runs in scope decoder/
             final=None if final_state else ("mel_lengths",))
    out = r.collected
    with g.scope("decoder/outputs"):
        return DecodeResult(mel=ops.permute(out["mel"], (1, 2, 0)), mel_lengths=ops.squeeze(r.state.mel_lengths, 1),
                            gate=ops.squeeze(out["gate"], 2, perm=(1, 0)), n_steps=r.n_steps,
                            alignments=ops.permute(out["alignments"], (1, 0, 2)) if alignments else None,
                            state=r.state)
