"""Text → WAV over sessions: text → ids → encoder → decoder loop → postnet → WaveGlow → denoiser → trim.

Sessions are anything with ``run(feeds: dict[str, ndarray]) -> dict[str, ndarray]``: TensorRT engine sessions
(``trtnet.runtime.session.Session``) or the eager twins (``trtnet.engines.eager.EagerNetwork``), keyed by network
name.  This module is numpy glue only (no PyTorch).

What each stage sees: per item, exactly the frames of DLE's single-utterance run — every generated frame through
that item's stop frame (``frames = min(mel_lengths + 1, n_steps)``) — and zeros after.  The postnet, WaveGlow and
denoiser networks take those per-item lengths (``frames``, ``frames``, ``samples = frames · hop``) and mask their
padding, so every item of a ragged batch equals its own single run.  Fed randomness (prenet keep masks, WaveGlow
z) is drawn per utterance from (seed, utterance index), time-major, so it does not depend on the batch either.
Final outputs are trimmed to ``mel_lengths`` frames and ``mel_lengths · hop`` samples.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .batching import pad_batch
from .fed import item_rng, prenet_keep_masks
from .sessions import SessionLike, run
from .acoustic import acoustic_for, check_pair, text_cleaners, valid_frames  # noqa: F401 (valid_frames: re-exported)
from .vocoder import VocoderRun, vocoder_for
from .text import DEFAULT_CLEANERS, DEFAULT_FRONTEND, TextResult, prepare_text

log = logging.getLogger(__name__)


class InputError(ValueError):
    """A line of input can't be synthesized (empty, unknown characters, longer than the engine allows)."""


@dataclass(frozen=True)
class Settings:
    """Run-time settings (DLE inference defaults come from the model configs)."""

    max_decoder_steps: int
    gate_threshold: float
    sigma: float
    denoiser_strength: float
    dropout: str = "in-engine"        # how the decoder network was built: in-engine | input | off
    noise: str = "in-engine"          # how WaveGlow was built: in-engine | input
    seed: int = 0                     # for fed dropout masks and fed noise
    text_frontend: str = DEFAULT_FRONTEND   # runtime.text.prepare_text's front end: default | dle | nemo
    pace: float = 1.0                 # FastPitch: durations / pace (DLE --pace)
    pitch_scale: float = 1.0          # FastPitch: pitch · scale + shift (DLE's amplify / shift transforms)
    pitch_shift: float = 0.0          # FastPitch: in Hz


@dataclass(frozen=True)
class Limits:
    max_batch: int
    max_text_len: int
    max_decoder_steps: int


@dataclass
class Utterance:
    index: int
    text: str
    ids: list[int]
    mel_length: int
    hit_cap: bool
    mel_postnet: np.ndarray           # [n_mel, mel_length]
    audio: np.ndarray                 # [mel_length · hop] float32
    gate: np.ndarray | None = None    # [frames] float32 logits, stop frame included
    alignment: np.ndarray | None = None   # [frames, tokens] float32, when the decoder outputs alignments


@dataclass
class BatchResult:
    utterances: list[Utterance]
    n_steps: int                      # decoder steps run (batch max, stop frame included)
    seconds: dict[str, float] = field(default_factory=dict)   # per stage


def prepare_lines(lines: Sequence[str], max_text_len: int, frontend: str = DEFAULT_FRONTEND,
                  cleaners: str = DEFAULT_CLEANERS) -> list[TextResult]:
    """``prepare_text`` of each line (what is spoken, what was dropped or rewritten; ``cleaners``: the acoustic
    model's, :func:`~.acoustic.text_cleaners`); a line that is empty, has nothing speakable or is too long is an
    InputError naming the line (1-based).  No character is refused."""
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            raise InputError(f"line {n} is empty; remove it or give text to say")
        result = prepare_text(line, frontend, cleaners)
        if not result.spoken.strip():
            raise InputError(f"line {n} has nothing to say after text normalisation ({result.summary()}): {line!r}")
        if len(result.ids) > max_text_len:
            raise InputError(f"line {n} has {len(result.ids)} tokens; the engines allow at most {max_text_len} "
                             "(rebuild with a larger --max-text-len or split the line)")
        out.append(result)
    return out


def encode_lines(lines: Sequence[str], max_text_len: int, frontend: str = DEFAULT_FRONTEND,
                 cleaners: str = DEFAULT_CLEANERS) -> list[list[int]]:
    """Token ids per line (:func:`prepare_lines`)."""
    return [list(r.ids) for r in prepare_lines(lines, max_text_len, frontend, cleaners)]


class Pipeline:
    def __init__(self, sessions: Mapping[str, SessionLike], *, t2_config: Any, vocoder_config: Any, limits: Limits,
                 settings: Settings, decoder: str = "loop"):
        """``vocoder_config``: the vocoder's model config (its architecture picks the :class:`Vocoder`);
        ``decoder``: "loop" (the in-engine loop network) or "step" (the per-step host loop over ``decoder-step``,
        kept to compare the two designs)."""
        if decoder not in ("loop", "step"):
            raise ValueError(f"decoder must be 'loop' or 'step', got {decoder!r}")
        self.decoder = decoder
        self.acoustic = acoustic_for(t2_config)
        self.text_cleaners = text_cleaners(t2_config)   # the model's: prepare_text's cleaners
        check_pair(t2_config, vocoder_config)
        self.vocoder, self.vocoder_config = vocoder_for(vocoder_config), vocoder_config
        need = self.acoustic.resolve(("encoder", f"decoder-{decoder}", "postnet"))
        missing = [n for n in (*need, self.vocoder.network) if n not in sessions]
        if missing:
            raise ValueError(f"the pipeline needs sessions for {missing}; have {sorted(sessions)}")
        if settings.max_decoder_steps > limits.max_decoder_steps:
            raise InputError(f"max_decoder_steps {settings.max_decoder_steps} exceeds the engines' "
                             f"{limits.max_decoder_steps}")
        self.sessions, self.t2 = dict(sessions), t2_config
        self.limits, self.settings = limits, settings

    # ---- stages ----------------------------------------------------------------------------------------------
    def decode(self, tokens: np.ndarray, lengths: np.ndarray, indices: Sequence[int] | None = None
               ) -> dict[str, np.ndarray]:
        """Encoder + decoder loop: mel [B, n_mel, steps], mel_lengths, gate, n_steps.  ``indices``: the
        utterance index of each row (keys its fed masks; default 0..B−1)."""
        enc = run(self.sessions["encoder"], {"tokens": tokens, "lengths": lengths})
        s = self.settings
        indices = range(len(lengths)) if indices is None else indices
        feeds = {"memory": enc["memory"], "processed_memory": enc["processed_memory"], "lengths": lengths,
                 "max_decoder_steps": np.array(s.max_decoder_steps, np.int32),
                 "gate_threshold": np.array(s.gate_threshold, np.float32)}
        masks = self.prenet_masks(s.max_decoder_steps, indices) if s.dropout == "input" else None
        if self.decoder == "step":
            from .host_loop import decode_per_step
            return decode_per_step(self.sessions["decoder-step"], enc, lengths,
                                   max_decoder_steps=s.max_decoder_steps, gate_threshold=s.gate_threshold,
                                   prenet_masks=masks)
        if masks is not None:
            feeds["prenet_masks"] = masks
        return run(self.sessions["decoder-loop"], feeds)

    def utterance_rng(self, index: int, stream: str) -> np.random.Generator:
        """The generator of utterance ``index``'s fed randomness; a subclass may key it otherwise (a server keys
        each request by its own seed)."""
        return item_rng(self.settings.seed, index, stream)

    def prenet_masks(self, steps: int, indices: Sequence[int]) -> np.ndarray:
        """Keep masks [steps, B, 2, prenet_dim] (``fed.prenet_keep_masks``), row b from utterance indices[b]."""
        return prenet_keep_masks(self.utterance_rng, indices, steps, self.t2.prenet_dim, self.t2.prenet_dropout)

    def vocode(self, mel_postnet: np.ndarray, frames: np.ndarray, indices: Sequence[int] | None = None
               ) -> np.ndarray:
        """The vocoder on mel_postnet [B, n_mel, T] with each item's valid ``frames`` → audio [B, hop·T]."""
        indices = range(len(frames)) if indices is None else indices
        run_ = VocoderRun(self.vocoder_config, self.settings, self.utterance_rng)
        feeds = self.vocoder.feeds(run_, mel_postnet, frames, indices)
        return run(self.sessions[self.vocoder.network], feeds)[self.vocoder.output]

    def denoise(self, audio: np.ndarray, samples: np.ndarray) -> np.ndarray:
        if self.settings.denoiser_strength <= 0 or self.vocoder.denoiser not in self.sessions:
            return audio
        return run(self.sessions[self.vocoder.denoiser], {
            "audio": audio.astype(np.float32), "samples": samples,
            "strength": np.array(self.settings.denoiser_strength, np.float32)})["audio_denoised"]

    # ---- one batch -------------------------------------------------------------------------------------------
    def synthesize_batch(self, texts: Sequence[str], ids: Sequence[Sequence[int]], first_index: int = 0, *,
                         indices: Sequence[int] | None = None, labels: Sequence[str] | None = None) -> BatchResult:
        """One ragged batch; row i is utterance ``indices[i]`` (default first_index + i: keys its fed
        randomness), named ``labels[i]`` in warnings (default "item <index>")."""
        if len(ids) > self.limits.max_batch:
            raise InputError(f"batch of {len(ids)} exceeds the engines' max batch {self.limits.max_batch}")
        clock: dict[str, float] = {}
        tokens, lengths = pad_batch(ids)
        indices = range(first_index, first_index + len(ids)) if indices is None else list(indices)
        labels = [f"item {i}" for i in indices] if labels is None else labels
        hop = self.vocoder_config.upsample_stride
        acoustic = self.acoustic.generate(self, tokens, lengths, indices)
        clock.update(acoustic.seconds)
        n_steps, mel_lengths, frames, post = acoustic.n_steps, acoustic.mel_lengths, acoustic.frames, acoustic.mel
        t = time.perf_counter()
        audio = self.vocode(post, frames, indices)
        clock["vocoder"] = time.perf_counter() - t
        t = time.perf_counter()
        audio = self.denoise(audio, frames * np.int32(hop))
        clock["denoiser"] = time.perf_counter() - t
        out = []
        for i, (text, seq) in enumerate(zip(texts, ids)):
            n = int(mel_lengths[i])
            cap = self.settings.max_decoder_steps     # Tacotron 2: decoder steps; FastPitch: the mel frame bound
            hit = n >= cap
            if hit:
                if self.acoustic.architecture == "tacotron2":
                    warn_step_cap(labels[i], cap, text)
                else:
                    log.warning("%s reached the mel frame cap (%d) before %s: %r", labels[i], cap,
                                self.acoustic.stop_rule, text[:60])
            if n == 0:
                log.warning("%s: no frames (%s ended it at once); its audio is empty", labels[i],
                            self.acoustic.stop_rule)
            f = int(frames[i])
            gate, align = acoustic.gate, acoustic.alignments
            out.append(Utterance(indices[i], text, list(seq), n, hit, post[i, :, :n].astype(np.float32),
                                 audio[i, :n * hop].astype(np.float32),
                                 None if gate is None else np.asarray(gate[i, :f], np.float32),
                                 None if align is None else np.asarray(align[i, :f, :len(seq)], np.float32)))
        return BatchResult(out, n_steps, clock)

    def stream(self, text: str | Sequence[str], *, chunk_frames: int = 32, vocoder_context: int | None = None,
               dtype: str = "float32", first_index: int = 0) -> Any:
        """Streaming synthesis (``runtime.streaming.SynthesisStream``): iterate for audio chunks as they are ready, each
        float32 (not peak-normalised) or int16; equal to :meth:`synthesize_batch`'s audio (README "Streaming").
        ``text``: one line, or a batch of lines (chunks carry their item).  Lines are checked now."""
        lines = [text] if isinstance(text, str) else list(text)
        ids = encode_lines(lines, self.limits.max_text_len, self.settings.text_frontend, self.text_cleaners)
        check_batch_size(len(ids), self.limits.max_batch)
        return self.stream_class()(self, ids, first_index, chunk_frames=chunk_frames, vocoder_context=vocoder_context,
                                   dtype=dtype)

    def stream_class(self) -> Any:
        """The streaming synthesis of this pipeline's acoustic model: Tacotron 2 decodes in chunks
        (``streaming.SynthesisStream``); FastPitch makes its mel at once, then vocodes it in chunks
        (``streaming_fastpitch.MelStream``)."""
        from .streaming import SynthesisStream
        from .streaming_fastpitch import MelStream
        return SynthesisStream if self.acoustic.architecture == "tacotron2" else MelStream

    def synthesize(self, lines: Sequence[str], batch_size: int = 1) -> Iterator[BatchResult]:
        """All lines, ``batch_size`` at a time, in input order: every line and the batch size are checked now,
        before any work; the batches are then synthesized one by one as the iterator is consumed (so a caller
        writes each batch's results while the next one runs)."""
        ids = encode_lines(lines, self.limits.max_text_len, self.settings.text_frontend, self.text_cleaners)
        check_batch_size(batch_size, self.limits.max_batch)
        return (self.synthesize_batch(lines[start:start + batch_size], ids[start:start + batch_size], start)
                for start in range(0, len(ids), batch_size))


def warn_step_cap(label: str, cap: int, text: str) -> None:
    """The warning for an item that reached the step cap without the gate firing."""
    log.warning("%s reached the decoder step cap (%d steps) without the gate firing; its audio may end in noise: "
                "%r", label, cap, text if len(text) <= 80 else text[:77] + "...")


def check_batch_size(batch_size: int, max_batch: int) -> None:
    if not 1 <= batch_size <= max_batch:
        raise InputError(f"--batch-size {batch_size}: the networks take 1..{max_batch} lines per batch")
