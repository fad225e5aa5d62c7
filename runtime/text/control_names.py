"""Names of the control characters (``unicodedata.name`` has none for category Cc): their Unicode name aliases."""

from __future__ import annotations

import unicodedata

_C0 = ("NULL", "START OF HEADING", "START OF TEXT", "END OF TEXT", "END OF TRANSMISSION", "ENQUIRY", "ACKNOWLEDGE",
       "ALERT", "BACKSPACE", "CHARACTER TABULATION", "LINE FEED", "LINE TABULATION", "FORM FEED", "CARRIAGE RETURN",
       "SHIFT OUT", "SHIFT IN", "DATA LINK ESCAPE", "DEVICE CONTROL ONE", "DEVICE CONTROL TWO", "DEVICE CONTROL THREE",
       "DEVICE CONTROL FOUR", "NEGATIVE ACKNOWLEDGE", "SYNCHRONOUS IDLE", "END OF TRANSMISSION BLOCK", "CANCEL",
       "END OF MEDIUM", "SUBSTITUTE", "ESCAPE", "INFORMATION SEPARATOR FOUR", "INFORMATION SEPARATOR THREE",
       "INFORMATION SEPARATOR TWO", "INFORMATION SEPARATOR ONE")
_OTHER = {0x7F: "DELETE", 0x85: "NEXT LINE"}


def char_name(c: str) -> str:
    """The character's Unicode name, or its name alias for a control character (U+000B: LINE TABULATION)."""
    code = ord(c)
    if code < len(_C0):
        return _C0[code]
    return _OTHER.get(code) or unicodedata.name(c, "a C1 control character" if 0x80 <= code <= 0x9F else "unnamed")
