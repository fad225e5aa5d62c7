"""Front-end dispatch behind :func:`prepare_text` (work in progress: every mode is DLE's for now)."""

from __future__ import annotations

from .frontend import TextResult


def prepare(line: str, frontend: str) -> TextResult:
    from . import sequence_to_text, text_to_sequence
    ids = tuple(text_to_sequence(line))
    return TextResult(ids, sequence_to_text(ids), ())
