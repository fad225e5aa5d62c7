"""Long-form text: one line of any length → pieces of at most ``max_tokens`` token ids, in order, words whole.

1. Sentences: ``pysbd`` (rule-based, MIT) over windows of :data:`WINDOW` characters.  Each window's sentences
   are kept but its last (it may run on past the window), which starts the next window; a window holding a
   single sentence is doubled.  Cost is linear in the line (pysbd alone grows faster than linearly on one long
   string) and the first sentence is out after one window, whatever the line's length.  Spans are cut from the
   original text, so nothing is lost or rewritten.
2. A sentence with more than ``max_tokens`` ids is cut after clause punctuation (``, ; : … ) ]`` and dashes,
   then before ``(`` / ``[``) into clauses, packed greedily back into pieces of at most ``max_tokens``;
3. a clause still too long is cut between words (a brace group ``{HH AH0 L OW1}`` is one word), packed the same
   way; only a single word longer than ``max_tokens`` (a 300-letter URL) is cut inside, at ``max_tokens``.
4. A piece with nothing to say (no letter or phone: ``"..."``, ``"—"``) is dropped (the pause stands for it),
   unless it is the line's only piece.

Token counts come from :func:`encode`, the one call into the text front end.  Pure Python (plus pysbd).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from .frontend import DEFAULT_CLEANERS, DEFAULT_FRONTEND, TextError, prepare_text
from .symbols import LETTERS, SYMBOL_TO_ID

#: characters per pysbd window (its cost per window is what bounds the time to the first sentence)
WINDOW = 1500
_SPEAKABLE = frozenset(SYMBOL_TO_ID[c] for c in LETTERS) | frozenset(i for s, i in SYMBOL_TO_ID.items()
                                                                      if s.startswith("@"))
# after clause punctuation followed by space; after a dash (spaced or not); before an opening bracket
_CLAUSE = re.compile(r"(?<=[,;:…)\]—–])\s+|(?<=\w[—–])(?=\w)|(?<=\s--)\s+|\s+(?=[(\[])")
_WORD = re.compile(r"\{[^}]*\}\S*|\S+")


def encode(text: str, frontend: str = DEFAULT_FRONTEND, cleaners: str = DEFAULT_CLEANERS) -> list[int]:
    """Token ids of ``text`` as the pipeline encodes a line: the one call into the text front end
    (``prepare_text``).  Each piece is normalised on its own; pieces are cut at spaces, so what the front end
    reads as one unit ("3:30 pm", "12/05/2024") stays in one piece unless a sentence must be cut between its
    words."""
    return list(prepare_text(text, frontend, cleaners).ids)


@dataclass(frozen=True)
class TextPiece:
    text: str
    ids: list[int]
    sentence: int          # 1-based sentence of the line this piece is from
    ends_sentence: bool    # the piece is the last of its sentence (else a clause or word boundary follows)


def speakable(ids: list[int]) -> bool:
    """Whether ``ids`` hold a letter or an ARPAbet phone (not punctuation and spaces only)."""
    return any(i in _SPEAKABLE for i in ids)


def sentences(line: str, window: int = WINDOW) -> Iterator[str]:
    """The sentences of ``line`` in order (pysbd, windowed; see the module docstring); they concatenate to
    ``line``."""
    import pysbd
    seg = pysbd.Segmenter(language="en", clean=False)
    pos, width = 0, window
    while pos < len(line):
        chunk = line[pos:pos + width]
        starts = _starts(chunk, seg.segment(chunk))
        if pos + width >= len(line):
            starts.append(len(chunk))
            yield from (chunk[a:b] for a, b in zip(starts, starts[1:]))
            return
        if len(starts) < 2:
            width *= 2                                 # one sentence longer than the window: look further
            continue
        yield from (chunk[a:b] for a, b in zip(starts[:-1], starts[1:]))
        pos, width = pos + starts[-1], window


def _starts(text: str, parts: list[str]) -> list[int]:
    """Where each of pysbd's sentences starts in ``text`` (found in order; the first at 0)."""
    starts, at = [0], 0
    for part in parts:
        k = text.find(part.strip(), at)
        if k < 0:
            continue                                   # pysbd rewrote it: it stays with the sentence before
        if k > starts[-1]:
            starts.append(k)
        at = k + len(part.strip())
    return starts


def _cut(text: str, pattern: re.Pattern) -> list[str]:
    return [p for p in pattern.split(text) if p.strip()]


def _pack(parts: list[str], sizes: list[int], max_tokens: int) -> list[str]:
    """Consecutive parts joined by a space while the estimate Σ sizes + spaces stays within ``max_tokens``."""
    out, cur, n = [], [], 0
    for part, size in zip(parts, sizes):
        if cur and n + 1 + size > max_tokens:
            out.append(" ".join(cur))
            cur, n = [], 0
        n = size if not cur else n + 1 + size
        cur.append(part)
    if cur:
        out.append(" ".join(cur))
    return out


def _attach(parts: list[str]) -> list[str]:
    """Parts without a letter or digit (a lone dash, an ellipsis) joined to the part before (the first: after)."""
    out: list[str] = []
    for part in parts:
        if out and not any(c.isalnum() for c in part):
            out[-1] += " " + part
        elif out and not any(c.isalnum() for c in out[-1]):
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def _cut_word(word: str, max_tokens: int, frontend: tuple[str, str]) -> list[str]:
    """One word longer than ``max_tokens`` ids, cut inside: the longest prefix that fits, repeatedly."""
    out, rest = [], word.strip()
    while rest:
        k = min(len(rest), max_tokens)
        while k > 1 and len(encode(rest[:k], *frontend)) > max_tokens:   # a character may give several ids
            k -= 1
        out.append(rest[:k])
        rest = rest[k:]
    return out


def _fit(text: str, max_tokens: int, frontend: tuple[str, str], level: int = 0) -> list[str]:
    """``text`` cut into pieces of at most ``max_tokens`` ids each: between clauses (level 0), else between
    words (level 1), else inside the one word."""
    if len(encode(text, *frontend)) <= max_tokens:
        return [text.strip()]
    parts = _attach([p.strip() for p in (_cut(text, _CLAUSE) if level == 0 else _WORD.findall(text))])
    if len(parts) < 2:
        return _fit(text, max_tokens, frontend, 1) if level == 0 else _cut_word(text, max_tokens, frontend)
    packed = _pack(parts, [len(encode(p, *frontend)) for p in parts], max_tokens)
    if len(packed) == 1:                  # the estimate fit, the joined text did not (the front end joined
        mid = len(parts) // 2             # across a space): halve
        packed = [" ".join(parts[:mid]), " ".join(parts[mid:])]
    return [q for p in packed for q in _fit(p, max_tokens, frontend, level)]


def split_line(line: str, max_tokens: int, frontend: str = DEFAULT_FRONTEND,
               cleaners: str = DEFAULT_CLEANERS) -> Iterator[TextPiece]:
    """The pieces of ``line`` (module docstring), lazily: the first comes after one pysbd window.  ``frontend``,
    ``cleaners``:
    ``prepare_text``'s."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    emitted = False
    held: TextPiece | None = None        # a piece with nothing to say, kept in case the line has nothing else
    for s, sentence in enumerate(sentences(line), 1):
        texts = _fit(sentence, max_tokens, (frontend, cleaners)) if sentence.strip() else []
        for k, text in enumerate(texts):
            piece = TextPiece(text, encode(text, frontend, cleaners), s, k == len(texts) - 1)
            if speakable(piece.ids):
                emitted = True
                yield piece
            elif held is None and piece.ids:
                held = piece
    if not emitted:
        if held is None:
            raise TextError(f"text {line[:80]!r} gives no symbols")
        yield held
