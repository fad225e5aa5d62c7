"""The Tacotron 2 networks (``trtnet.layers.networks`` registry): encoder, decoder-loop, decoder-step,
decoder-chunk, postnet, fused.  Each ``define_*(g, store, opts)`` declares its inputs with profile ranges from
``opts``, computes with the layer code, and marks its outputs; the same function builds the engine and runs the
eager twin.

Dimensions: ``B`` [1, opt_batch, max_batch], ``T_in`` [1, opt_text_len, max_text_len], decoder steps up to
``cap = opts.steps_cap(config)`` (``max_decoder_steps`` shape input, ``S`` fed-mask steps, ``T`` postnet frames).
Float I/O is ``opts.dtype`` except where the decoder keeps float32 (cells, attention weights, gate, alignments).
"""

from __future__ import annotations

from typing import Any, Callable

from trtnet import ops
from trtnet.dtypes import F32, I32
from trtnet.graph import Graph
from trtnet.tensor import Tensor
from trtnet.weights.store import WeightStore

from ..options import NetworkOptions
from .attention import attention_memory
from .decoder import (STATE_FIELDS, DecodeResult, DecoderParams, DecoderState, decode, decoder_params, state_layout,
                      step)
from .encoder import encode
from .postnet import postnet
from .prenet import N_LAYERS, random_keep, scale_masks



def _batch_and_text(g: Graph, opts: NetworkOptions) -> None:
    g.dim("B", 1, opts.opt_batch, opts.max_batch)
    g.dim("T_in", 1, opts.opt_text_len, opts.max_text_len)


def _text_inputs(g: Graph) -> tuple[Tensor, Tensor]:
    return g.input("tokens", I32, ("B", "T_in")), g.input("lengths", I32, ("B",))


def _decoder_controls(g: Graph, opts: NetworkOptions, config) -> tuple[Tensor, Tensor, Tensor | None]:
    """The ``max_decoder_steps`` shape input, ``gate_threshold`` float32 [] and, with dropout "input",
    ``prenet_masks`` [S, B, 2, P] (keep values {0, 1})."""
    opt, cap = opts.steps_range(config)
    max_steps = g.shape_input("max_decoder_steps", 1, opt, cap)
    threshold = g.input("gate_threshold", F32, ())
    masks = None
    if opts.dropout == "input":
        g.dim("S", 1, opt, cap)
        masks = g.input("prenet_masks", opts.dtype, ("S", "B", N_LAYERS, config.prenet_dim))
    return max_steps, threshold, masks


def _decode(g: Graph, store: WeightStore, opts: NetworkOptions, memory: Tensor, processed: Tensor,
            lengths: Tensor) -> DecodeResult:
    """Decoder weights, loop invariants and prenet masks (all outside the loop), then the loop."""
    max_steps, threshold, masks = _decoder_controls(g, opts, store.config)
    p, mem, keep = _decoder_setup(g, store, opts, memory, processed, lengths, masks,
                                  lambda m: [max_steps, ops.dims(m)[0]])
    return decode(p, mem, max_steps, threshold, keep, alignments=opts.alignments, final_state=False)


def _decoder_setup(g: Graph, store: WeightStore, opts: NetworkOptions, memory: Tensor, processed: Tensor,
                   lengths: Tensor, masks: Tensor | None, lead: Callable[[Tensor], list]
                   ) -> tuple[DecoderParams, Any, Tensor | None]:
    """What every decoder network sets up before its steps: the decoder weights, then (scope
    ``decoder/invariants``, outside any loop) the attention memory and the prenet keep masks, whose leading
    dims ``lead(memory)`` gives ([steps, B], or [B] for one step)."""
    p = decoder_params(g, store, opts.dtype)
    with g.scope("decoder/invariants"):
        mem = attention_memory(memory, processed, lengths)
        keep = _prenet_keep(opts, p, masks, lead(memory))
    return p, mem, keep


def _prenet_keep(opts: NetworkOptions, p: DecoderParams, fed: Tensor | None, lead: list) -> Tensor | None:
    """Scaled prenet keep masks for ``opts.dropout``: the fed {0, 1} masks [*lead, 2, P] · 1/(1−p), fresh
    in-engine draws [*lead, 2·P], or None (off).  The loop draws all steps' masks in one fill before it starts,
    so every step reads its own values by construction (no reliance on a fill inside the loop not being
    hoisted)."""
    if opts.dropout == "input":
        return scale_masks(p.prenet, fed)
    if opts.dropout == "in-engine":
        return random_keep(p.prenet, lead, opts.dtype)
    return None


def _decode_outputs(g: Graph, res: DecodeResult, mel_name: str, mel: Tensor, steps: str = "max_decoder_steps"
                    ) -> None:
    """The decoder's outputs, their run-time axes named (``steps``: the COUNT input that sizes them)."""
    g.output(mel_name, mel, dims=("B", mel.shape[1], steps))
    g.output("mel_lengths", res.mel_lengths, dims=("B",))
    g.output("gate", res.gate, dims=("B", steps))
    g.output("n_steps", res.n_steps)
    if res.alignments is not None:
        g.output("alignments", res.alignments, dims=("B", steps, "T_in"))


def define_encoder(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """tokens int32 [B, T_in], lengths int32 [B] → memory [B, T_in, E], processed_memory [B, T_in, A]."""
    _batch_and_text(g, opts)
    memory, processed = encode(g, store, *_text_inputs(g), opts.dtype)
    g.output("memory", memory, dims=("B", "T_in", memory.shape[2]))
    g.output("processed_memory", processed, dims=("B", "T_in", processed.shape[2]))


def define_decoder_loop(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """memory, processed_memory, lengths, max_decoder_steps, gate_threshold (+ prenet_masks) → mel [B, M, S],
    mel_lengths int32 [B], gate float32 [B, S], n_steps int32 [] (+ alignments float32 [B, S, T_in])."""
    cfg = store.config
    _batch_and_text(g, opts)
    memory = g.input("memory", opts.dtype, ("B", "T_in", cfg.encoder_embedding_dim))
    processed = g.input("processed_memory", opts.dtype, ("B", "T_in", cfg.attention_dim))
    lengths = g.input("lengths", I32, ("B",))
    res = _decode(g, store, opts, memory, processed, lengths)
    _decode_outputs(g, res, "mel", res.mel)


def define_decoder_step(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """One step with DLE's stop rule, the per-step host-loop design: every :class:`DecoderState` field
    (``state_layout``; all-zero at the start), memory, processed_memory, lengths, gate_threshold
    (+ prenet_mask [B, 2, P]) → ``next_<field>`` for every field, ``mel`` [B, M] and ``gate`` [B] (0 for items
    already finished) (+ ``alignment`` [B, T_in]).  A host loop feeds ``next_<field>`` back until every
    ``next_finished`` is 1."""
    cfg = store.config
    state, memory, processed, lengths, threshold = _resume_inputs(g, cfg, opts)
    mask = g.input("prenet_mask", opts.dtype, ("B", N_LAYERS, cfg.prenet_dim)) if opts.dropout == "input" else None
    p, mem, keep = _decoder_setup(g, store, opts, memory, processed, lengths, mask, lambda m: ops.dims(m)[:1])
    with g.scope("decoder"):
        nxt, out = step(p, mem, state, keep, threshold, alignment=opts.alignments)
    with g.scope("decoder/outputs"):
        gate = ops.squeeze(out.gate, 1)
    for k in STATE_FIELDS:
        g.output(f"next_{k}", getattr(nxt, k), dims=g.inputs[k].shape)
    g.output("mel", out.mel, dims=("B", out.mel.shape[1]))
    g.output("gate", gate, dims=("B",))
    if opts.alignments:
        g.output("alignment", out.alignment, dims=("B", "T_in"))


OPT_CHUNK = 32     # the decoder-chunk profile's opt ``chunk`` (trtnet synthesize --stream's default chunk)


def _resume_inputs(g: Graph, cfg, opts: NetworkOptions) -> tuple[DecoderState, Tensor, Tensor, Tensor, Tensor]:
    """What a network resuming the decoder takes: every :class:`DecoderState` field as an input [B, ·]
    (``state_layout``; all-zero at the start), memory, processed_memory, lengths and gate_threshold."""
    _batch_and_text(g, opts)
    state = DecoderState(**{k: g.input(k, dt, ("B", *shape)) for k, (shape, dt) in state_layout(cfg, opts.dtype).items()})
    memory = g.input("memory", opts.dtype, ("B", "T_in", cfg.encoder_embedding_dim))
    processed = g.input("processed_memory", opts.dtype, ("B", "T_in", cfg.attention_dim))
    return state, memory, processed, g.input("lengths", I32, ("B",)), g.input("gate_threshold", F32, ())


def define_decoder_chunk(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """The decoder loop resumed from a given state for at most ``chunk`` steps (streaming): every
    :class:`DecoderState` field, memory, processed_memory, lengths, gate_threshold, ``chunk`` (0-D shape input,
    the COUNT limit, 1..cap) (+ prenet_masks [S ≥ chunk, B, 2, P], the chunk's own steps) → mel [B, M, chunk]
    and gate float32 [B, chunk] (0 for steps after an item stopped and past n_steps), n_steps int32 [] (steps
    run: < chunk when every item stopped first, the WHILE limit), ``next_<field>`` for every field (the state to
    resume from) (+ alignments [B, chunk, T_in]).  The same :func:`decode` as decoder-loop, from ``init``, so
    chunks of any sizes concatenate to the decoder-loop's frames.  TRT: one ILoop (COUNT + WHILE), its
    IRecurrenceLayer initial values the state inputs, ILoopOutputLayer LAST_VALUE for ``next_<field>``."""
    cfg = store.config
    opt, cap = opts.steps_range(cfg)
    state, memory, processed, lengths, threshold = _resume_inputs(g, cfg, opts)
    chunk = g.shape_input("chunk", 1, min(OPT_CHUNK, cap), cap)
    masks = None
    if opts.dropout == "input":
        g.dim("S", 1, min(OPT_CHUNK, cap), cap)
        masks = g.input("prenet_masks", opts.dtype, ("S", "B", N_LAYERS, cfg.prenet_dim))
    p, mem, keep = _decoder_setup(g, store, opts, memory, processed, lengths, masks,
                                  lambda m: [chunk, ops.dims(m)[0]])
    res = decode(p, mem, chunk, threshold, keep, alignments=opts.alignments, init=state)
    g.output("mel", res.mel, dims=("B", res.mel.shape[1], "chunk"))
    g.output("gate", res.gate, dims=("B", "chunk"))
    g.output("n_steps", res.n_steps)
    if res.alignments is not None:
        g.output("alignments", res.alignments, dims=("B", "chunk", "T_in"))
    for k in STATE_FIELDS:
        g.output(f"next_{k}", getattr(res.state, k), dims=g.inputs[k].shape)


def define_postnet(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """mel [B, M, T], frames int32 [B] (valid frames per item, ≤ T) → mel_postnet = mel + postnet(mel)
    [B, M, T], 0 at t ≥ frames[b]."""
    cfg = store.config
    opt, cap = opts.steps_range(cfg)
    g.dim("B", 1, opts.opt_batch, opts.max_batch)
    g.dim("T", 1, opt, cap)
    mel = g.input("mel", opts.dtype, ("B", cfg.n_mel_channels, "T"))
    frames = g.input("frames", I32, ("B",))
    g.output("mel_postnet", postnet(g, store, mel, frames, opts.dtype), dims=("B", cfg.n_mel_channels, "T"))


def define_fused(g: Graph, store: WeightStore, opts: NetworkOptions) -> None:
    """Encoder + decoder loop + postnet: tokens, lengths, max_decoder_steps, gate_threshold (+ prenet_masks)
    → mel_postnet [B, M, S] (0 after each item's stop frame), mel_lengths, gate, n_steps (+ alignments)."""
    _batch_and_text(g, opts)
    tokens, lengths = _text_inputs(g)
    memory, processed = encode(g, store, tokens, lengths, opts.dtype)
    res = _decode(g, store, opts, memory, processed, lengths)
    _decode_outputs(g, res, "mel_postnet", postnet(g, store, res.mel, res.frames(), opts.dtype))
