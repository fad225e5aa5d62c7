"""DLE ``english_cleaners``: convert_to_ascii → lowercase → expand_numbers → expand_abbreviations
→ collapse_whitespace.  Pure Python (stdlib only).
"""

from __future__ import annotations

import logging
import re

from .dle_ascii import DLE_ASCII
from .numbers import normalize_numbers

log = logging.getLogger(__name__)

_ABBREVIATIONS = [(re.compile(rf"\b{short}\.", re.IGNORECASE), full) for short, full in (
    ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"), ("jr", "junior"),
    ("maj", "major"), ("gen", "general"), ("drs", "doctors"), ("rev", "reverend"), ("lt", "lieutenant"),
    ("hon", "honorable"), ("sgt", "sergeant"), ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"),
    ("col", "colonel"), ("ft", "fort"))]
_WHITESPACE = re.compile(r"\s+")


def _ascii_of(char: str) -> str | None:
    """DLE's ASCII spelling of one character, or None when DLE drops it."""
    return char if ord(char) < 127 else DLE_ASCII.get(char)


def to_ascii(text: str) -> tuple[str, list[str]]:
    """(ASCII transliteration, the characters that had none and were dropped)."""
    out, dropped = [], []
    for char in text:
        spelled = _ascii_of(char)
        if spelled is None:
            dropped.append(char)
        else:
            out.append(spelled)
    return "".join(out), dropped


def convert_to_ascii(text: str) -> str:
    """Transliterate to ASCII as DLE does (é → e, ä → ae, ’ → '; — and … dropped); characters without a
    spelling are dropped with a warning."""
    ascii_text, dropped = to_ascii(text)
    if dropped:
        shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in dropped)
        log.warning("dropped characters with no ASCII spelling: %s", shown)
    return ascii_text


def expand_abbreviations(text: str) -> str:
    """"dr." → "doctor", "mrs." → "misess", … (word-initial, case-insensitive, the period consumed)."""
    for pattern, full in _ABBREVIATIONS:
        text = pattern.sub(full, text)
    return text


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace → one space (leading/trailing space kept, as in DLE)."""
    return _WHITESPACE.sub(" ", text)


def english_cleaners(text: str) -> str:
    """DLE's cleaner pipeline for English text (dropped characters are logged)."""
    return collapse_whitespace(expand_abbreviations(normalize_numbers(convert_to_ascii(text).lower())))
