"""The front ends behind :func:`~.frontend.prepare_text`: ``dle``, ``default`` (DLE + :mod:`.spoken`) and ``nemo``,
each for one of DLE's cleaner pipelines.

``english_cleaners`` (Tacotron 2): ARPAbet in braces (DLE's reading), the plain segments lower-case → numbers
→ abbreviations → collapse whitespace, then the symbol table.  ``english_cleaners_v2`` (FastPitch): the whole
line through :func:`~.cleaners_v2.encode_v2`, then the same brace reading and table.  ``default`` and ``nemo``
run their own first step (:func:`~.spoken.speak`, NeMo) before either.
"""

from __future__ import annotations

import re

from .cleaners import collapse_whitespace, expand_abbreviations, to_ascii
from .cleaners_v2 import encode_v2
from .result import Change, TextResult
from .numbers import normalize_numbers
from .spoken import speak
from .symbols import SYMBOL_TO_ID, sequence_to_text

_CURLY = re.compile(r"(.*?)\{(.+?)\}(.*)")  # no DOTALL, as in DLE: braces after a newline are not ARPAbet


def _dle_plain(text: str, changes: list) -> str:
    ascii_text, dropped = to_ascii(text)
    changes.extend((c, "") for c in dropped)
    return collapse_whitespace(expand_abbreviations(normalize_numbers(ascii_text.lower())))


def _default_plain(text: str, changes: list) -> str:
    ascii_text = speak(text, changes)
    return collapse_whitespace(expand_abbreviations(normalize_numbers(ascii_text.lower())))


def _symbols(symbols, changes: list, keep_pad: bool, phones: bool = False) -> list[int]:
    ids = []
    for s in symbols:
        if s in SYMBOL_TO_ID and (keep_pad or SYMBOL_TO_ID[s] != 0):
            ids.append(SYMBOL_TO_ID[s])
        else:
            changes.append(("{" + s[1:] + "}" if phones else s, ""))
    return ids


def _sequence(line: str, plain, changes: list, keep_pad: bool) -> list[int]:
    """DLE's text_to_sequence loop: plain segments through ``plain``, brace segments as ARPAbet."""
    ids: list[int] = []
    rest = line
    while rest:
        match = _CURLY.match(rest)
        if match is None:
            ids += _symbols(plain(rest, changes), changes, keep_pad)
            break
        ids += _symbols(plain(match.group(1), changes), changes, keep_pad)
        ids += _symbols(["@" + phone for phone in match.group(2).split()], changes, keep_pad, phones=True)
        rest = match.group(3)
    return ids


def _changes(pairs: list) -> tuple[Change, ...]:
    """Distinct (original, spoken) pairs in first-seen order."""
    return tuple(Change(o, s) for o, s in dict.fromkeys(pairs))


def _as_is(text: str, changes: list) -> str:
    return text


def _speak_first(line: str, changes: list) -> str:
    """:func:`~.spoken.speak` on the text outside brace groups (ARPAbet stays as written)."""
    parts = re.split(r"(\{.+?\})", line)
    return "".join(p if i % 2 else speak(p, changes) if p else p for i, p in enumerate(parts))


def _v2(line: str, changes: list, keep_pad: bool) -> list[int]:
    """``english_cleaners_v2`` + DLE's lookup (characters with no ASCII spelling are listed as dropped)."""
    dropped: list = []
    text = encode_v2(line, dropped)
    changes.extend((c, "") for c in dropped)
    return _sequence(text, _as_is, changes, keep_pad)


def prepare(line: str, frontend: str, cleaners: str = "english_cleaners") -> TextResult:
    pairs: list = []
    if frontend == "dle":
        ids = (_v2(line, pairs, keep_pad=True) if cleaners == "english_cleaners_v2"
               else _sequence(line, _dle_plain, pairs, keep_pad=True))
    else:
        if frontend == "nemo":
            from .nemo import nemo_normalize
            normalized = nemo_normalize(line)
            if normalized != line:
                pairs.append((line, normalized))
            line = normalized
        line = "".join(" " if c.isspace() else c for c in line)   # whitespace-like characters: spaces
        if cleaners == "english_cleaners_v2":
            ids = _v2(_speak_first(line, pairs), pairs, keep_pad=False)
        else:
            ids = _sequence(line, _default_plain, pairs, keep_pad=False)
    return TextResult(tuple(ids), sequence_to_text(ids), _changes(pairs))
