"""What the text front end returns and raises (kept apart from :mod:`.frontend` so the front ends it calls
import them without importing it)."""

from __future__ import annotations

from dataclasses import dataclass


class TextError(ValueError):
    """The text cannot be turned into symbols; the message names the offending characters or phones."""


@dataclass(frozen=True)
class Change:
    """One piece of the line that was not spoken as written: ``original`` (as in the line) → ``spoken``
    (the text it became before lower-casing; "" when dropped)."""

    original: str
    spoken: str

    @property
    def dropped(self) -> bool:
        return not self.spoken

    def __str__(self) -> str:
        return f"dropped {self.original!r}" if self.dropped else f"{self.original!r} → {self.spoken!r}"


@dataclass(frozen=True)
class TextResult:
    """``ids``: token ids (no EOS); ``spoken``: the text they spell (``sequence_to_text(ids)``, ARPAbet in
    braces); ``changes``: what was dropped or rewritten, in line order (whitespace-like characters that became
    spaces are not listed)."""

    ids: tuple[int, ...]
    spoken: str
    changes: tuple[Change, ...] = ()

    def summary(self) -> str:
        """One line for logs: "'€5' → '5 euros'; dropped '🙂'" ("" when nothing changed)."""
        return "; ".join(map(str, self.changes))
