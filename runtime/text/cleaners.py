"""DLE ``english_cleaners``: convert_to_ascii → lowercase → expand_numbers → expand_abbreviations
→ collapse_whitespace.  Pure Python (stdlib only).
"""

from __future__ import annotations

import logging
import re
import unicodedata

from .numbers import normalize_numbers

log = logging.getLogger(__name__)

# Characters with no ASCII NFKD decomposition that still have an obvious spelling.
_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE", "\u00f8": "o", "\u00d8": "O",
    "\u0111": "d", "\u0110": "D", "\u0142": "l", "\u0141": "L", "\u00fe": "th", "\u00de": "TH", "\u00f0": "d",
    "\u00d0": "D", "\u0131": "i", "\u00d7": "x",
    # DLE transliterates before expanding numbers, so "£2591" reaches expand_numbers as "ps2591" and its
    # "£N → N pounds" rule never fires; the checkpoints were trained on that, so it is kept (README: text front end)
    "\u00a3": "PS",
}

_ABBREVIATIONS = [(re.compile(rf"\b{short}\.", re.IGNORECASE), full) for short, full in (
    ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"), ("jr", "junior"),
    ("maj", "major"), ("gen", "general"), ("drs", "doctors"), ("rev", "reverend"), ("lt", "lieutenant"),
    ("hon", "honorable"), ("sgt", "sergeant"), ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"),
    ("col", "colonel"), ("ft", "fort"))]
_WHITESPACE = re.compile(r"\s+")


def _ascii_of(char: str) -> str | None:
    """ASCII spelling of one character, or None when it has none."""
    if ord(char) < 127:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 127 for c in base) else None


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
    """Transliterate to ASCII (é → e, ’ → ', — → -); characters without a spelling are dropped with a warning."""
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


def clean(text: str) -> tuple[str, list[str]]:
    """(english_cleaners(text), the non-ASCII characters it dropped), without logging."""
    ascii_text, dropped = to_ascii(text)
    return collapse_whitespace(expand_abbreviations(normalize_numbers(ascii_text.lower()))), dropped


def english_cleaners(text: str) -> str:
    """DLE's cleaner pipeline for English text (dropped characters are logged)."""
    return collapse_whitespace(expand_abbreviations(normalize_numbers(convert_to_ascii(text).lower())))
