"""One text function for every entry point: :func:`prepare_text` (a line → token ids, what is spoken, and what
was dropped or rewritten on the way).

Front ends (``--text-frontend``; :data:`DEFAULT_FRONTEND` is the one definition of the default):

- ``default``: DLE's ``english_cleaners`` + ``text_to_sequence``, with extra normalisation only where DLE would
  drop or mangle characters: whitespace-like characters become spaces, other non-ASCII characters are
  transliterated with ``anyascii``, and symbols are spoken (``%`` percent, ``&`` and, ``@`` at, ``#5`` number
  five, ``+`` plus, ``=`` equals, dates and fractions with ``/``, ``°`` degrees, ``€``/``£``/``¥`` amounts,
  times such as 3:30 pm).  On text DLE's cleaners already handle (plain words, numbers, ``$``, the table's
  punctuation) the ids are DLE's.
- ``dle``: DLE's ``english_cleaners`` + ``text_to_sequence`` as the checkpoints were trained (transliterate,
  expand numbers and abbreviations, drop symbols outside the table) — for parity checks.
- ``nemo``: NVIDIA's ``nemo_text_processing`` English normaliser (the ``[tn]`` extra), then ``dle``.

Nothing is refused for a character: what is still outside the 148-symbol table after normalisation is dropped,
and every drop or rewrite is listed in :attr:`TextResult.changes`.  Lines are the caller's business
(:func:`split_lines`, :func:`decode_lines`); a line handed here may hold any character.
"""

from __future__ import annotations

from .result import Change, TextError, TextResult

__all__ = ["Change", "TextError", "TextResult", "prepare_text", "check_frontend"]

FRONTENDS = ("default", "dle", "nemo")
DEFAULT_FRONTEND = "default"


def check_frontend(frontend: str) -> str:
    """``frontend`` if it is one of :data:`FRONTENDS`; a ValueError naming the choices otherwise."""
    if frontend not in FRONTENDS:
        raise ValueError(f"text front end {frontend!r}: expected one of {', '.join(FRONTENDS)}")
    return frontend


def prepare_text(line: str, frontend: str = DEFAULT_FRONTEND) -> TextResult:
    """Token ids of one line of text, what they spell, and what was dropped or rewritten.

    Never raises for a character: empty ``ids`` means nothing in the line is speakable (the caller decides
    whether that is an error).  Raises ValueError for an unknown ``frontend`` and ``MissingExtraError`` (a
    TextError) for ``nemo`` without the ``[tn]`` extra.  Pure Python (no numpy, no torch).
    """
    check_frontend(frontend)
    from .normalize import prepare
    return prepare(line, frontend)
