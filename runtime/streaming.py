"""Streaming synthesis: audio chunk by chunk while the sentence is still being decoded, equal to the unchunked run.

Decoder: the ``decoder-chunk`` network resumes the decoder loop from the last chunk's state for at most
``chunk_frames`` steps (:func:`decode_chunks`).  Engine sessions keep that state on the device: after the first
upload, each chunk's ``next_<field>`` buffers are swapped in as the next chunk's inputs (``Session.swap``); only
mel, gate, n_steps, next_finished and next_mel_lengths come back to the host.  Eager twins (no ``swap``) feed the
state back through the host.  Without a decoder-chunk session, the per-step network runs the chunk's steps.

Postnet, vocoder, denoiser: each is a :class:`ContextStage` per utterance: it holds the exact frames it was given
and, with ``context`` frames on each side, emits the output frames whose receptive field is inside real input
(or reaches a true end of the utterance, where the network's own zero / reflect padding is what the unchunked
run sees).  Window [a, have), a = done − context: outputs [done, have − context) are exact and the context is
trimmed.  Contexts (mel frames): postnet n_convs·⌊K/2⌋ (10 for DLE's), the vocoder's ``stream_context``
(measured: README "Streaming"), the denoiser ⌈N_fft / hop⌉ with windows starting on STFT-hop multiples.  The
first audio therefore needs 1 + Σ contexts decoded frames; each chunk recomputes 2·context frames per stage.

Fed randomness: prenet masks are the utterance's masks sliced at absolute steps, the vocoder's noise its noise
buffer sliced at absolute frames (``VocoderRun.noise``), so deterministic runs equal the unchunked ones: the
decoder mel exactly, audio within 1e-4 of its max (FP32).  Numpy only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from .batching import pad_batch
from .feeds import feed_shapes
from .host_loop import zero_state_feeds, run_steps
from .sessions import SessionLike, conform, run
from .vocoder import VocoderRun

DEFAULT_CHUNK_FRAMES = 32
RESULTS = ("mel", "gate", "n_steps", "next_finished", "next_mel_lengths")


@dataclass
class AudioChunk:
    """One piece of one utterance's audio, in order; ``final`` on its last (possibly empty) piece."""

    item: int                 # row in the batch
    index: int                # utterance index
    start: int                # sample position of audio[0] in the utterance
    audio: np.ndarray         # float32 [n] (not peak-normalised), or int16 with ``dtype="int16"``
    final: bool
    seconds: float            # compute since the previous chunk was yielded (decoder chunk + stages)
    hit_cap: bool = False     # on the final piece: the utterance reached the step cap without the gate firing


@dataclass
class DecodedChunk:
    start: int                # decoder step of mel[..., 0]
    mel: np.ndarray           # [B, M, n] (0 after each item's stop frame)
    gate: np.ndarray          # [B, n]
    finished: np.ndarray      # [B] int32 after the chunk
    mel_lengths: np.ndarray   # [B] int32 after the chunk


class _HostChunks:
    """decoder-chunk with the state fed back through the host (eager twins, or a session without ``swap``)."""

    def __init__(self, session: SessionLike, state: dict, fixed: dict):
        self.session, self.state, self.fixed = session, state, fixed

    def __call__(self, n: int, masks: np.ndarray | None) -> dict[str, np.ndarray]:
        feeds = {**self.state, **self.fixed, "chunk": np.array(n, np.int32)}
        if masks is not None:
            feeds["prenet_masks"] = masks
        out = run(self.session, feeds)
        self.state = {k: out[f"next_{k}"] for k in self.state}
        return out


class _DeviceChunks:
    """decoder-chunk on an engine session: the state stays in device buffers, ping-ponged by ``swap``."""

    def __init__(self, session: Any, state: dict, fixed: dict):
        self.session, self.feeds = session, {**state, **fixed}
        self.pairs = {k: f"next_{k}" for k in state}
        self.shapes: dict | None = None
        self._alive: np.ndarray | None = None   # the masks being uploaded stay alive until the fetch syncs

    def __call__(self, n: int, masks: np.ndarray | None) -> dict[str, np.ndarray]:
        s = self.session
        if self.shapes is None:
            feeds = conform(s, {**self.feeds, "chunk": np.array(n, np.int32),
                                **({} if masks is None else {"prenet_masks": masks})})
            self.shapes = feed_shapes(s.io, feeds)
            s.set_inputs(feeds)
        else:
            s.swap(self.pairs)                       # the last chunk's next_<field> are this chunk's inputs
            self.shapes["chunk"] = n
            if masks is not None:
                self._alive = np.ascontiguousarray(conform(s, {"prenet_masks": masks})["prenet_masks"])
                self.shapes["prenet_masks"] = self._alive.shape
                s.buffer("prenet_masks").copy_from_host(self._alive, s.stream)
            s.set_shapes(self.shapes)
        s.run_device()
        return s.fetch(RESULTS)


class _StepChunks:
    """The chunk's steps on the per-step network (an engine directory built without decoder-chunk)."""

    def __init__(self, session: SessionLike, state: dict, fixed: dict):
        self.session, self.state, self.fixed = session, state, fixed

    def __call__(self, n: int, masks: np.ndarray | None) -> dict[str, np.ndarray]:
        self.state, mels, gates = run_steps(self.session, self.state, self.fixed, n, masks)
        return {"mel": np.stack(mels, 2), "gate": np.stack(gates, 1), "n_steps": np.array(len(mels), np.int32),
                "next_finished": self.state["finished"], "next_mel_lengths": self.state["mel_lengths"]}


def decode_chunks(session: SessionLike, encoded: Mapping[str, np.ndarray], lengths: np.ndarray, *,
                  chunk_frames: int, max_decoder_steps: int, gate_threshold: float,
                  prenet_masks: np.ndarray | None = None, per_step: bool = False) -> Iterator[DecodedChunk]:
    """The decoder from the all-zero state in chunks of ≤ ``chunk_frames`` steps until every item finished or
    ``max_decoder_steps``; ``prenet_masks`` [≥ max_decoder_steps, B, 2, P] are sliced per chunk.  ``session``:
    decoder-chunk, or decoder-step with ``per_step``.  Chunks concatenate to the decoder-loop's frames."""
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    memory = encoded["memory"]
    state = zero_state_feeds(session.io, {"B": memory.shape[0], "T_in": memory.shape[1]})
    fixed = {"memory": memory, "processed_memory": encoded["processed_memory"], "lengths": lengths,
             "gate_threshold": np.array(gate_threshold, np.float32)}
    kind = _StepChunks if per_step else _DeviceChunks if hasattr(session, "swap") else _HostChunks
    step = kind(session, state, fixed)
    t = 0
    while t < max_decoder_steps:
        n = min(chunk_frames, max_decoder_steps - t)
        out = step(n, None if prenet_masks is None else prenet_masks[t:t + n])
        k = int(out["n_steps"])
        yield DecodedChunk(t, out["mel"][..., :k], np.asarray(out["gate"], np.float32)[:, :k],
                           out["next_finished"].reshape(-1), out["next_mel_lengths"].reshape(-1))
        t += k
        if np.all(out["next_finished"]):
            return


class ContextStage:
    """One network over a growing stream of exact input frames (last axis, ``unit_in`` columns per frame):
    ``fn(window, start_frame, width_frames)`` → output (``unit_out`` columns per frame).  :meth:`push` returns the
    newly exact output frames: [done, have − context), or up to ``have`` once ``final``.  Windows start on
    multiples of ``align`` frames (an STFT's hop grid)."""

    def __init__(self, fn: Callable[[np.ndarray, int, int], np.ndarray], context: int, unit_in: int, unit_out: int,
                 align: int = 1):
        if context < 0:
            raise ValueError(f"context must be >= 0 frames, got {context}")
        self.fn, self.context, self.unit_in, self.unit_out, self.align = fn, context, unit_in, unit_out, align
        self.buf: np.ndarray | None = None
        self.base = self.have = self.done = 0
        self.frames_run = 0          # frames the network processed (the context's cost)

    def push(self, x: np.ndarray | None, final: bool) -> np.ndarray | None:
        """Append x (None: nothing new); returns the newly exact output frames, or None."""
        if x is not None:
            self.buf = x if self.buf is None else np.concatenate([self.buf, x], -1)
            self.have += x.shape[-1] // self.unit_in
        ready = self.have if final else self.have - self.context
        if ready <= self.done:
            return None
        a = max(0, self.done - self.context)
        a -= a % self.align
        window = self.buf[..., (a - self.base) * self.unit_in:]
        y = self.fn(window, a, self.have - a)
        self.frames_run += self.have - a
        out = y[..., (self.done - a) * self.unit_out:(ready - a) * self.unit_out]
        self.done = ready
        keep = max(0, self.done - self.context)
        keep -= keep % self.align
        self.buf, self.base = self.buf[..., (keep - self.base) * self.unit_in:], keep
        return out


@dataclass(frozen=True)
class Contexts:
    """Real frames on each side of a chunk, per stage (mel frames)."""

    postnet: int
    vocoder: int
    denoiser: int

    @property
    def lookahead(self) -> int:
        """Decoded frames beyond a sample's frame before it can be emitted."""
        return self.postnet + self.vocoder + self.denoiser


def contexts(t2_config: Any, vocoder: Any, vocoder_config: Any, vocoder_context: int | None = None) -> Contexts:
    """Postnet: its receptive field n_convs·⌊K/2⌋; vocoder: ``vocoder_context`` or the vocoder's measured
    default; denoiser: ⌈N_fft / hop⌉ (an output sample reads input within ±N_fft)."""
    post = t2_config.postnet_n_convolutions * (t2_config.postnet_kernel_size // 2)
    den = math.ceil(getattr(vocoder_config, "stft_filter_length", 0) / vocoder_config.upsample_stride)
    voc = vocoder.stream_context if vocoder_context is None else vocoder_context
    return Contexts(post, voc, den)


def check_stream_args(dtype: str, chunk_frames: int) -> None:
    """ValueError for an audio dtype other than float32 / int16 or a chunk of fewer than one frame."""
    if dtype not in ("float32", "int16"):
        raise ValueError(f"dtype must be 'float32' or 'int16', got {dtype!r}")
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")


def to_int16(audio: np.ndarray) -> np.ndarray:
    """float audio → int16 as the WAV writer does: clip to [-1, 1], ×32767, round."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


class ItemStream:
    """One utterance's postnet → vocoder → denoiser stages; :meth:`push` takes its decoded frames.  ``mel`` /
    ``mel_postnet``: the pieces given and emitted (concatenated: the unchunked run's frames)."""

    def __init__(self, pipe: Any, index: int, ctx: Contexts, noise_frames: int, with_postnet: bool = True):
        """``with_postnet``: run the post-net stage (Tacotron 2); without it the frames pushed are the final mel."""
        self.pipe, self.index = pipe, index
        voc, cfg, s = pipe.vocoder, pipe.vocoder_config, pipe.settings
        self.hop = cfg.upsample_stride
        self.run_ = VocoderRun(cfg, s, pipe.utterance_rng, noise_frames=noise_frames)

        def postnet(mel, a, w):
            return run(pipe.sessions["postnet"], {"mel": mel, "frames": np.array([w], np.int32)})["mel_postnet"]

        def vocode(mel, a, w):
            feeds = voc.feeds(self.run_, mel, np.array([w], np.int32), [index], start=a)
            return run(pipe.sessions[voc.network], feeds)[voc.output]

        self.post_stage = ContextStage(postnet, ctx.postnet, 1, 1) if with_postnet else None
        self.stages = [st for st in (self.post_stage, ContextStage(vocode, ctx.vocoder, 1, self.hop)) if st]
        if s.denoiser_strength > 0 and voc.denoiser in pipe.sessions:
            stft_hop = cfg.stft_hop_length

            def denoise(audio, a, w):
                return pipe.denoise(audio, np.array([w * self.hop], np.int32))

            self.stages.append(ContextStage(denoise, ctx.denoiser, self.hop, self.hop,
                                            align=stft_hop // math.gcd(self.hop, stft_hop)))
        self.emitted = 0
        self.ended = False
        self.mel: list[np.ndarray] = []          # the decoder frames given (through the stop frame)
        self.mel_postnet: list[np.ndarray] = []

    def push(self, mel: np.ndarray, final: bool, mel_length: int) -> np.ndarray:
        """mel [1, M, n] exact decoder frames; returns the newly exact audio (trimmed to mel_length frames once
        ``final``)."""
        self.mel.append(mel)
        x: np.ndarray | None = mel
        for st in self.stages:
            x = st.push(x, final)
            if st is self.post_stage and x is not None:
                self.mel_postnet.append(x)
        audio = np.zeros(0, np.float32) if x is None else x[0]
        if final:
            audio = audio[:max(0, mel_length * self.hop - self.emitted)]
            self.ended = True
        self.emitted += audio.size
        return audio.astype(np.float32, copy=False)


class SynthesisStream:
    """Streaming synthesis of one batch: iterate it for :class:`AudioChunk` s, in order per utterance, as they
    are ready (encoder, then decoder chunks; after each, every unfinished utterance's newly exact audio).
    Sessions and settings are checked here, before any work.  ``dtype``: "float32" (the vocoder's scale, not
    peak-normalised: the peak is unknown until the end) or "int16" (:func:`to_int16`).  ``items``: each
    utterance's :class:`ItemStream` (its decoder and post-net frames, for inspection)."""

    def __init__(self, pipe: Any, ids: Sequence[Sequence[int]], first_index: int = 0, *,
                 chunk_frames: int = DEFAULT_CHUNK_FRAMES, vocoder_context: int | None = None,
                 dtype: str = "float32", indices: Sequence[int] | None = None):
        check_stream_args(dtype, chunk_frames)
        self.per_step = "decoder-chunk" not in pipe.sessions
        if self.per_step and "decoder-step" not in pipe.sessions:
            raise ValueError("streaming needs a decoder-chunk session (or decoder-step); have "
                             f"{sorted(pipe.sessions)}: build it with --engines ...,decoder-chunk")
        self.pipe, self.ids, self.dtype, self.chunk_frames = pipe, list(ids), dtype, chunk_frames
        self.indices = list(range(first_index, first_index + len(ids))) if indices is None else list(indices)
        self.contexts = contexts(pipe.t2, pipe.vocoder, pipe.vocoder_config, vocoder_context)
        self.items = [ItemStream(pipe, i, self.contexts, pipe.settings.max_decoder_steps) for i in self.indices]

    def __iter__(self) -> Iterator[AudioChunk]:
        pipe, s = self.pipe, self.pipe.settings
        clock = time.perf_counter()
        tokens, lengths = pad_batch(self.ids)
        enc = run(pipe.sessions["encoder"], {"tokens": tokens, "lengths": lengths})
        masks = pipe.prenet_masks(s.max_decoder_steps, self.indices) if s.dropout == "input" else None
        cap = s.max_decoder_steps
        decoder = pipe.sessions["decoder-step" if self.per_step else "decoder-chunk"]
        for dec in decode_chunks(decoder, enc, lengths, chunk_frames=self.chunk_frames, max_decoder_steps=cap,
                                 gate_threshold=s.gate_threshold, prenet_masks=masks, per_step=self.per_step):
            end = dec.start + dec.mel.shape[-1]
            for b, item in enumerate(self.items):
                if item.ended:
                    continue
                total = int(dec.mel_lengths[b]) + 1 if dec.finished[b] else cap if end >= cap else None
                stop = end if total is None else min(end, total)
                audio = item.push(dec.mel[b:b + 1, :, :stop - dec.start], total is not None,
                                  int(dec.mel_lengths[b]))
                if audio.size or item.ended:
                    out = to_int16(audio) if self.dtype == "int16" else audio
                    hit = item.ended and not dec.finished[b]
                    yield AudioChunk(b, item.index, item.emitted - audio.size, out, item.ended,
                                     time.perf_counter() - clock, bool(hit))
                    clock = time.perf_counter()
