"""Long-form synthesis: lines of any length → one audio per line, from pieces synthesized as ragged batches.

Each line is split (``runtime.text.longform.split_line``: sentences, then clauses, then words) into pieces of at
most :func:`piece_budget` tokens; the pieces of all lines, in order, are synthesized ``batch_size`` at a time
(``Pipeline.synthesize_batch``: every item equals its own single run) and each line's pieces are joined with
``Pauses.sentence_ms`` of silence after a sentence and ``Pauses.clause_ms`` after a clause or word boundary (none
after the last).  Piece k of line n draws its fed randomness as utterance ``fed.piece_key(n, k)``: a line that
needs no split is synthesized exactly as before.  ``split="none"`` keeps one piece per line and the text limit's
errors.  :meth:`LongForm.stream` yields each line's audio in order as the pieces decode (``runtime.streaming``),
pauses included, so the first audio waits for one batch of pieces, not the line.  Numpy only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .fed import piece_key
from .pipeline import InputError, Utterance, check_batch_size, encode_lines, warn_step_cap
from .text.longform import split_line

SPLITS = ("sentence", "none")
DEFAULT_SENTENCE_PAUSE_MS = 300.0
DEFAULT_CLAUSE_PAUSE_MS = 150.0
#: decoder frames per token assumed when judging whether a piece may reach the step cap: DLE's LJSpeech
#: Tacotron 2 speaks ~5.5 mel frames per token (≈15 tokens/s at 22050/256 ≈ 86 frames/s); twice that covers slow
#: passages and pauses at punctuation
FRAMES_PER_TOKEN = 11


def piece_budget(max_text_len: int, max_decoder_steps: int, t2_config: Any) -> int:
    """Most tokens per piece: the text limit, and few enough that ``FRAMES_PER_TOKEN`` frames per token
    (``n_frames_per_step`` frames per decoder step) stay within the step cap."""
    steps_per_token = math.ceil(FRAMES_PER_TOKEN / getattr(t2_config, "n_frames_per_step", 1))
    return max(1, min(max_text_len, max_decoder_steps // steps_per_token))


@dataclass(frozen=True)
class Pauses:
    sentence_ms: float = DEFAULT_SENTENCE_PAUSE_MS
    clause_ms: float = DEFAULT_CLAUSE_PAUSE_MS

    def __post_init__(self) -> None:
        for name in ("sentence_ms", "clause_ms"):
            if not 0 <= getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Piece:
    line: int              # 0-based line (utterance) of the input
    part: int              # 0-based piece of the line
    sentence: int          # 1-based sentence of the line
    text: str
    ids: list[int]
    pause_ms: float        # silence after the piece (0 after the line's last)
    last: bool             # the line's last piece

    @property
    def key(self) -> int:
        return piece_key(self.line, self.part)


@dataclass
class LineUtterance(Utterance):
    """A line joined from its pieces: ``audio`` = piece audio and pauses; ``mel_postnet``, ``gate`` and ids the
    pieces' concatenated (no pause frames); ``mel_length`` the pieces' summed (``runtime.measures``: kept frames,
    stop frames excluded); ``alignment`` block-diagonal (piece frames × piece tokens)."""

    pieces: list[Utterance] = field(default_factory=list)


@dataclass
class LineChunk:
    """A piece of one line's streamed audio, in order; ``final`` on the line's last chunk."""

    line: int
    audio: np.ndarray      # float32 or int16
    final: bool


class LongForm:
    """Lines of any length through ``pipe`` (a :class:`runtime.pipeline.Pipeline`)."""

    def __init__(self, pipe: Any, *, split: str = "sentence", pauses: Pauses = Pauses(),
                 max_piece_tokens: int | None = None, name: Callable[[int], str] = lambda n: f"line {n + 1}"):
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        limit = pipe.limits.max_text_len
        if max_piece_tokens is not None and not 1 <= max_piece_tokens <= limit:
            raise InputError(f"--max-piece-tokens {max_piece_tokens}: pieces take 1..{limit} tokens (the text "
                             "limit)")
        self.pipe, self.split, self.pauses, self.name = pipe, split, pauses, name
        self.max_tokens = max_piece_tokens or piece_budget(limit, pipe.settings.max_decoder_steps, pipe.t2)
        self.frontend, self.cleaners = pipe.settings.text_frontend, pipe.text_cleaners
        self.rate = pipe.vocoder_config.sampling_rate

    # ---- text → pieces ---------------------------------------------------------------------------------------
    def check(self, lines: Sequence[str]) -> list[list[int]]:
        """Every line checked before any work (InputError naming the line): with ``split="none"`` also against
        the text limit."""
        return encode_lines(lines, self.pipe.limits.max_text_len if self.split == "none" else math.inf,
                            self.frontend, self.cleaners)

    def pieces(self, lines: Sequence[str]) -> Iterator[Piece]:
        """The pieces of every line in order, lazily (split as they are consumed)."""
        for n, line in enumerate(lines):
            if self.split == "none":
                yield Piece(n, 0, 1, line, encode_lines([line], self.pipe.limits.max_text_len, self.frontend, self.cleaners)[0],
                            0.0, True)
                continue
            it = split_line(line, self.max_tokens, self.frontend, self.cleaners)
            cur, k = next(it), 0
            for nxt in it:
                pause = self.pauses.sentence_ms if cur.ends_sentence else self.pauses.clause_ms
                yield Piece(n, k, cur.sentence, cur.text, cur.ids, pause, False)
                cur, k = nxt, k + 1
            if k == 0 and cur.text == line.strip():          # not split: the line as given (spaces are tokens)
                cur = dataclasses.replace(cur, text=line, ids=encode_lines([line], math.inf, self.frontend, self.cleaners)[0])
            yield Piece(n, k, cur.sentence, cur.text, cur.ids, 0.0, True)

    def label(self, p: Piece) -> str:
        return self.name(p.line) + ("" if p.last and p.part == 0 else f", sentence {p.sentence} (piece {p.part + 1})")

    def pause(self, p: Piece, dtype: Any = np.float32) -> np.ndarray:
        return np.zeros(int(round(p.pause_ms * 1e-3 * self.rate)), dtype)

    # ---- whole lines -----------------------------------------------------------------------------------------
    def synthesize(self, lines: Sequence[str], batch_size: int = 1) -> Iterator[LineUtterance | Utterance]:
        """One joined utterance per line (index = line), in order, each as soon as its last piece is done.
        Lines and the batch size are checked now, before any work."""
        self.check(lines)
        check_batch_size(batch_size, self.pipe.limits.max_batch)
        return self._synthesize(lines, batch_size)

    def _synthesize(self, lines: Sequence[str], batch_size: int) -> Iterator[LineUtterance | Utterance]:
        it = self.pieces(lines)
        done: list[tuple[Piece, Utterance]] = []
        while batch := list(islice(it, batch_size)):
            res = self.pipe.synthesize_batch([p.text for p in batch], [p.ids for p in batch],
                                             indices=[p.key for p in batch], labels=[self.label(p) for p in batch])
            for p, u in zip(batch, res.utterances):
                done.append((p, u))
                if p.last:
                    yield self.join(lines[p.line], done)
                    done = []

    def join(self, line: str, parts: list[tuple[Piece, Utterance]]) -> LineUtterance | Utterance:
        """The line's utterance: its one piece as synthesized (index = line), or the pieces joined."""
        p0, u0 = parts[0]
        if len(parts) == 1:
            u0.index, u0.text = p0.line, line
            return u0
        audio = np.concatenate([a for p, u in parts for a in (u.audio, self.pause(p))])
        us = [u for _, u in parts]
        align = None
        if all(u.alignment is not None for u in us):
            align = np.zeros((sum(u.alignment.shape[0] for u in us), sum(u.alignment.shape[1] for u in us)),
                             np.float32)
            r = c = 0
            for u in us:
                align[r:r + u.alignment.shape[0], c:c + u.alignment.shape[1]] = u.alignment
                r, c = r + u.alignment.shape[0], c + u.alignment.shape[1]
        gate = None if any(u.gate is None for u in us) else np.concatenate([u.gate for u in us])
        return LineUtterance(p0.line, line, [i for u in us for i in u.ids], sum(u.mel_length for u in us),
                             any(u.hit_cap for u in us), np.concatenate([u.mel_postnet for u in us], axis=1),
                             audio.astype(np.float32), gate, align, us)

    # ---- streaming -------------------------------------------------------------------------------------------
    def stream(self, lines: Sequence[str], batch_size: int = 1, **stream_args: Any) -> Iterator[LineChunk]:
        """Each line's audio in order as its pieces decode (``stream_args``: ``chunk_frames``,
        ``vocoder_context``, ``dtype`` of :class:`runtime.streaming.SynthesisStream`), pauses as zero chunks.  A batch of
        pieces streams together; a later piece's chunks are held until the pieces before it are out."""
        self.check(lines)
        check_batch_size(batch_size, self.pipe.limits.max_batch)
        return self._stream(lines, batch_size, stream_args)

    def _stream(self, lines: Sequence[str], batch_size: int, stream_args: dict) -> Iterator[LineChunk]:
        SynthesisStream = self.pipe.stream_class()     # noqa: N806 (the acoustic model's stream class)
        dtype = np.int16 if stream_args.get("dtype") == "int16" else np.float32
        it = self.pieces(lines)
        while batch := list(islice(it, batch_size)):
            stream = SynthesisStream(self.pipe, [p.ids for p in batch], indices=[p.key for p in batch], **stream_args)
            held: list[list[Any]] = [[] for _ in batch]
            head = 0
            for c in stream:
                held[c.item].append(c)
                if c.final and c.hit_cap:
                    warn_step_cap(self.label(batch[c.item]), self.pipe.settings.max_decoder_steps, batch[c.item].text)
                while head < len(batch) and held[head]:
                    p, ended = batch[head], held[head][-1].final
                    for h in held[head]:
                        yield LineChunk(p.line, h.audio, h.final and p.last)
                    held[head] = []
                    if not ended:
                        break
                    if not p.last:
                        yield LineChunk(p.line, self.pause(p, dtype), False)
                    head += 1
