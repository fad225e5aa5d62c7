"""Text front end, pure Python: :func:`prepare_text` (every entry point's one text function, see
:mod:`.frontend`), DLE's symbol table, ``english_cleaners`` and ``text_to_sequence``, and line splitting.

ARPAbet goes in braces: ``"{HH AH0 L OW1} world"``.
"""

from __future__ import annotations

import codecs
import logging

from .cleaners import english_cleaners
from .frontend import (CLEANERS, DEFAULT_CLEANERS, DEFAULT_FRONTEND, FRONTENDS, Change, TextError, TextResult,
                       prepare_text)
from .symbols import ARPABET, SYMBOL_TO_ID, SYMBOLS, sequence_to_text

__all__ = ["ARPABET", "CLEANERS", "DEFAULT_CLEANERS", "DEFAULT_FRONTEND", "DEFAULT_TEXT", "FRONTENDS", "SYMBOLS",
           "SYMBOL_TO_ID", "Change", "TextError", "TextResult", "decode_lines", "english_cleaners", "prepare_text", "sequence_to_text",
           "split_lines", "text_to_sequence"]

#: DLE ``test_infer.py``'s benchmark sentence truncated to its default input length of 128 characters.
DEFAULT_TEXT = ("The forms of printed letters should be beautiful, and that their arrangement on the page should be "
                "reasonable and a help to the shapeliness of the letters themselves.")[:128]

log = logging.getLogger(__name__)


def text_to_sequence(text: str) -> list[int]:
    """DLE's ``text_to_sequence(text, ['english_cleaners'])``: symbol ids, brace segments read as ARPAbet, symbols
    outside the table dropped (characters with no ASCII spelling logged as a warning, as DLE warns); no EOS.
    The ``dle`` front end of :func:`prepare_text`."""
    result = prepare_text(text, "dle")
    dropped = [c.original for c in result.changes if len(c.original) == 1 and ord(c.original) >= 127]
    if dropped:
        log.warning("dropped characters with no ASCII spelling: %s", ", ".join(map(repr, dropped)))
    return list(result.ids)


def split_lines(text: str) -> list[str]:
    """One utterance per line: split on "\n" only ("\r\n" accepted; a final newline ends the last line), so
    utterance n is always line n of the file.  Nothing is refused here: other line breaks, tabs and control
    characters stay in their line for :func:`prepare_text` (whitespace-like ones become spaces, others drop)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def decode_lines(data: bytes, source: str = "input") -> list[str]:
    """:func:`split_lines` of UTF-8 ``data`` (a leading BOM skipped).  Invalid UTF-8 is the one refusal: a
    TextError naming ``source``, the line (1-based) and the byte offset in the file and in the line."""
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = bom + e.start
        line = data.count(b"\n", 0, at) + 1
        column = at - (data.rfind(b"\n", 0, at) + 1)
        raise TextError(f"{source} line {line}: invalid UTF-8 at byte offset {at} (byte {column} of the line): "
                        f"{data[at:at + 1]!r}, {e.reason}; save the file as UTF-8") from None
    return split_lines(text)
