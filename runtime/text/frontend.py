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

Cleaners (:data:`CLEANERS`; the model config says which, e.g. FastPitch's ``text_cleaners``): DLE's
``english_cleaners`` (Tacotron 2, :data:`DEFAULT_CLEANERS`) or ``english_cleaners_v2`` (FastPitch: times,
units, letters with numbers, Roman numerals, acronyms spelled, each whitespace-free token cleaned on its own).
Both map onto the same ids: Tacotron 2's table is FastPitch's ``english_basic``.  ``dle`` is DLE's exact
behaviour for the model's cleaners; ``default`` speaks what DLE would drop first, then the model's cleaners.

Nothing is refused for a character: what is still outside the 148-symbol table after normalisation is dropped,
and every drop or rewrite is listed in :attr:`TextResult.changes`.  Lines are the caller's business
(:func:`split_lines`, :func:`decode_lines`); a line handed here may hold any character.
"""

from __future__ import annotations

from .result import Change, TextError, TextResult

__all__ = ["Change", "TextError", "TextResult", "prepare_text", "check_frontend", "check_cleaners"]

FRONTENDS = ("default", "dle", "nemo")
DEFAULT_FRONTEND = "default"
CLEANERS = ("english_cleaners", "english_cleaners_v2")
DEFAULT_CLEANERS = "english_cleaners"


def check_frontend(frontend: str) -> str:
    """``frontend`` if it is one of :data:`FRONTENDS`; a ValueError naming the choices otherwise."""
    if frontend not in FRONTENDS:
        raise ValueError(f"text front end {frontend!r}: expected one of {', '.join(FRONTENDS)}")
    return frontend


def check_cleaners(cleaners: str) -> str:
    """``cleaners`` if it is one of :data:`CLEANERS`; a ValueError naming the choices otherwise."""
    if cleaners not in CLEANERS:
        raise ValueError(f"text cleaners {cleaners!r}: expected one of {', '.join(CLEANERS)}")
    return cleaners


def prepare_text(line: str, frontend: str = DEFAULT_FRONTEND, cleaners: str = DEFAULT_CLEANERS) -> TextResult:
    """Token ids of one line of text, what they spell, and what was dropped or rewritten.

    Never raises for a character: empty ``ids`` means nothing in the line is speakable (the caller decides
    whether that is an error).  ``cleaners``: the model's (one of :data:`CLEANERS`).  Raises ValueError for an
    unknown ``frontend`` or ``cleaners`` and ``MissingExtraError`` (a
    TextError) for ``nemo`` without the ``[tn]`` extra.  Pure Python (no numpy, no torch).
    """
    check_frontend(frontend)
    check_cleaners(cleaners)
    from .normalize import prepare
    return prepare(line, frontend, cleaners)
