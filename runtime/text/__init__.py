"""Text front end: DLE's symbol table, ``english_cleaners`` and ``text_to_sequence``, pure Python.

ARPAbet goes in braces: ``"{HH AH0 L OW1} world"``.  Characters outside the table are dropped like DLE does,
or, with ``strict=True``, reported in a :class:`TextError`.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from .cleaners import clean, english_cleaners
from .control_names import char_name
from .symbols import ARPABET, PAD, SYMBOL_TO_ID, SYMBOLS

__all__ = ["ARPABET", "DEFAULT_TEXT", "SYMBOLS", "SYMBOL_TO_ID", "TextError", "english_cleaners",
           "sequence_to_text", "split_lines", "text_to_sequence"]

#: DLE ``test_infer.py``'s benchmark sentence truncated to its default input length of 128 characters.
DEFAULT_TEXT = ("The forms of printed letters should be beautiful, and that their arrangement on the page should be "
                "reasonable and a help to the shapeliness of the letters themselves.")[:128]

log = logging.getLogger(__name__)

_CURLY = re.compile(r"(.*?)\{(.+?)\}(.*)")  # no DOTALL, as in DLE: braces after a newline are not ARPAbet


class TextError(ValueError):
    """The text cannot be turned into symbols; the message names the offending characters or phones."""


def _keep(symbol: str) -> bool:
    return symbol in SYMBOL_TO_ID and symbol not in (PAD, "~")


def _symbols(symbols: list[str], unknown: list[str]) -> list[int]:
    unknown.extend(s for s in symbols if not _keep(s))
    return [SYMBOL_TO_ID[s] for s in symbols if _keep(s)]


def _plain(text: str, unknown: list[str], dropped: list[str]) -> list[int]:
    cleaned, no_ascii = clean(text)
    dropped.extend(no_ascii)
    return _symbols(list(cleaned), unknown)


def text_to_sequence(text: str, strict: bool = False) -> list[int]:
    """Symbol ids of ``english_cleaners(text)``, brace segments read as ARPAbet; no EOS is appended.

    strict=False drops unknown characters and phones silently (DLE); strict=True raises TextError for them
    and for text that yields no symbol at all.
    """
    ids: list[int] = []
    unknown: list[str] = []  # symbols outside the table (DLE drops them silently)
    dropped: list[str] = []  # characters without an ASCII spelling (DLE drops them with a warning)
    rest = text
    while rest:
        match = _CURLY.match(rest)
        if match is None:
            ids += _plain(rest, unknown, dropped)
            break
        ids += _plain(match.group(1), unknown, dropped)
        ids += _symbols(["@" + phone for phone in match.group(2).split()], unknown)
        rest = match.group(3)
    if dropped and not strict:
        log.warning("dropped characters with no ASCII spelling: %s", ", ".join(map(repr, dict.fromkeys(dropped))))
    unknown = dropped + unknown
    if strict and unknown:
        shown = ", ".join(f"{u[1:]!r} (ARPAbet)" if len(u) > 1 and u[0] == "@" else repr(u)
                          for u in dict.fromkeys(unknown))
        raise TextError(f"text {text!r} has symbols outside the {len(SYMBOLS)}-symbol table: {shown}")
    if strict and not ids:
        raise TextError(f"text {text!r} gives no symbols")
    return ids


def split_lines(text: str, source: str = "input") -> list[str]:
    """One utterance per line: split on "\n" only ("\r\n" accepted; a final newline ends the last line).
    Other line and page breaks (\v \f \x1c-\x1e \x85 U+2028 U+2029) and control characters (tab excepted)
    are refused with the line number, so utterance n is always line n of the file."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = []
    for n, line in enumerate(lines, 1):
        line = line[:-1] if line.endswith("\r") else line
        bad = next((c for c in line if c != "\t" and unicodedata.category(c) in ("Cc", "Zl", "Zp")), None)
        if bad is not None:
            raise TextError(f"{source} line {n}: control character U+{ord(bad):04X} "
                            f"({char_name(bad)}); one utterance per line, plain text only")
        out.append(line)
    return out


def sequence_to_text(ids) -> str:
    """Inverse mapping for display: ARPAbet back in braces, adjacent brace groups merged; unknown ids skipped."""
    out = []
    for i in ids:
        i = int(i)
        if 0 <= i < len(SYMBOLS):
            s = SYMBOLS[i]
            out.append("{" + s[1:] + "}" if len(s) > 1 and s[0] == "@" else s)
    return "".join(out).replace("}{", " ")
