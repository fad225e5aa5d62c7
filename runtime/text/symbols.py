"""DLE's 148-symbol table, in id order.

id 0 ``_`` (pad), id 1 ``-``, ids 2–11 ``! ' ( ) , . : ; ?`` and space, ids 12–37 ``A``–``Z``,
ids 38–63 ``a``–``z``, ids 64–147 the 84 CMUdict ARPAbet phones prefixed with ``@`` (alphabetical).
"""

from __future__ import annotations

PAD = "_"
SPECIAL = "-"
PUNCTUATION = "!'(),.:;? "
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
_CONSONANTS = ("B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
               "TH", "V", "W", "Y", "Z", "ZH")

#: CMUdict phones: each vowel bare and with stress 0/1/2, plus the consonants, sorted (84 entries).
ARPABET: tuple[str, ...] = tuple(sorted([v + s for v in _VOWELS for s in ("", "0", "1", "2")] + list(_CONSONANTS)))

SYMBOLS: tuple[str, ...] = (PAD, SPECIAL, *PUNCTUATION, *LETTERS, *("@" + p for p in ARPABET))
SYMBOL_TO_ID: dict[str, int] = {s: i for i, s in enumerate(SYMBOLS)}


def sequence_to_text(ids) -> str:
    """Inverse mapping for display: ARPAbet back in braces, adjacent brace groups merged; unknown ids skipped."""
    out = []
    for i in ids:
        i = int(i)
        if 0 <= i < len(SYMBOLS):
            s = SYMBOLS[i]
            out.append("{" + s[1:] + "}" if len(s) > 1 and s[0] == "@" else s)
    return "".join(out).replace("}{", " ")
