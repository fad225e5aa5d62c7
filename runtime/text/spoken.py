"""The default front end's additions to DLE's cleaners: what DLE drops or mangles, spelled so it is spoken.

Runs on one line before DLE's cleaners, producing ASCII with digits left for DLE's number expansion:

- whitespace-like characters (``str.isspace``: tab, \\v, \\f, \\r, NBSP, U+2028/2029, ...) → a space;
  other control and format characters dropped;
- non-ASCII: DLE's transliteration where it has one (so DLE's ids are kept), else ``anyascii``; emoji dropped;
  ``≠ ≈ ≤ ≥ ± ÷ ∞`` in words;
- ``€5`` → "5 euros", ``£3.50`` → "3 pounds, 50 pence", ``¥100`` → "100 yen" (prefix or suffix);
- ``3:30 pm`` → "3 30 p m", ``3:05`` → "3 oh 5", ``3:00`` → "3 o'clock";
- ``12/05/2024`` → "December 5th, 2024" (month first; day first when the first field is above 12);
  ``3/4`` → "3 quarters", ``1/2`` → "one half", ``2/3`` → "2 thirds"; any other ``/`` → "slash";
- ``50%`` → "50 percent", ``&`` and, ``@`` at, ``#5`` "number 5", ``+`` plus, ``=`` equals,
  ``30°C`` → "30 degrees Celsius", ``°`` degrees; ``_`` → a space.

Every rewrite and drop is appended to ``changes`` as (original, spoken) pairs.
"""

from __future__ import annotations

import re
import unicodedata

from .dle_ascii import DLE_ASCII
from .numbers import ordinal

# Characters the rules below read before transliteration would mangle them (DLE: € → "E", ¥ → "Y", ° dropped).
_KEEP_FOR_RULES = "€£¥°"
# Symbols whose ASCII spelling would say something else (≠ → "=", ÷ → "/", ∞ → "inf").
_WORDS = {"≠": "not equal to", "≈": "approximately", "≤": "less than or equal to", "≥": "greater than or equal to",
          "±": "plus or minus", "÷": "divided by", "∞": "infinity"}
_EMOJI_NAME = re.compile(r"^:[a-z0-9_+-]+:$")
_MONTHS = ("January February March April May June July August September October November December").split()
_CURRENCY = {"€": ("euro", "euros", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "¥": ("yen", "yen", "", "")}
_AMOUNT = r"(\d+(?:,\d{3})*(?:\.\d+)?)"


def _ascii_char(char: str) -> str:
    """ASCII for one character of the line ("" to drop it)."""
    if ord(char) < 127 or char in _KEEP_FOR_RULES:
        return char
    if char.isspace():
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return ""
    if char in _WORDS:
        return f" {_WORDS[char]} "
    if char in DLE_ASCII:
        return DLE_ASCII[char]
    from anyascii import anyascii
    spelled = anyascii(char)
    return "" if _EMOJI_NAME.match(spelled) else spelled


def transliterate(line: str, changes: list) -> str:
    """The line in ASCII (and the symbols the rules read); each run of rewritten characters is one change."""
    out, run = [], ["", ""]
    for char in line + "\x00":   # a sentinel flushes the last run
        spelled = "" if char == "\x7f" else _ascii_char(char)
        if spelled == char or char.isspace() or char == "\x00":
            if run[0]:
                changes.append((run[0], run[1].strip() or run[1]))
            run = ["", ""]
        else:
            run = [run[0] + char, run[1] + spelled]
        out.append(spelled)
    return "".join(out[:-1])


def _money(symbol: str, amount: str) -> str:
    one, many, sub_one, sub_many = _CURRENCY[symbol]
    whole, _, frac = amount.replace(",", "").partition(".")
    units, cents = int(whole), int((frac + "00")[:2]) if frac else 0
    words = [f"{amount.partition('.')[0]} {one if units == 1 else many}"] if units or not cents else []
    if cents and sub_one:
        words.append(f"{cents} {sub_one if cents == 1 else sub_many}")
    elif frac:
        words = [f"{amount} {many}"]
    return ", ".join(words)


def _time(m: re.Match) -> str:
    hours, minutes, ampm = int(m.group(1)), m.group(2), m.group(3)
    suffix = f" {ampm[0].lower()} m" if ampm else ""
    if minutes == "00":
        return f"{hours}{suffix}" if suffix else f"{hours} o'clock"
    return f"{hours} {'oh ' + minutes[1] if minutes[0] == '0' else minutes}{suffix}"


def _date(m: re.Match) -> str:
    a, b, year = int(m.group(1)), int(m.group(2)), m.group(3)
    month, day = (a, b) if a <= 12 else (b, a)
    return f"{_MONTHS[month - 1]} {ordinal_digits(day)}, {year}"


def ordinal_digits(n: int) -> str:
    """5 → "5th" (DLE's number rules then say "fifth")."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _fraction(m: re.Match) -> str:
    num, den = int(m.group(1)), int(m.group(2))
    if den == 2:
        name = "half" if num == 1 else "halves"
    elif den == 4:
        name = "quarter" if num == 1 else "quarters"
    else:
        name = ordinal(den) + ("" if num == 1 else "s")
    return f"{'one' if num == 1 else num} {name}"


def _valid_date(m: re.Match) -> bool:
    a, b = int(m.group(1)), int(m.group(2))
    return 1 <= min(a, b) and ((a <= 12 and b <= 31) or (b <= 12 and a <= 31))


def _valid_time(m: re.Match) -> bool:
    return int(m.group(1)) < 24 and int(m.group(2)) < 60


_RULES = (  # (pattern, replacement or function, validity check or None)
    (re.compile(rf"([€£¥])\s?{_AMOUNT}"), lambda m: _money(m.group(1), m.group(2)), None),
    (re.compile(rf"{_AMOUNT}\s?([€£¥])"), lambda m: _money(m.group(2), m.group(1)), None),
    (re.compile(r"£"), " pounds ", None), (re.compile(r"€"), " euros ", None), (re.compile(r"¥"), " yen ", None),
    (re.compile(r"\b(\d{1,2}):(\d\d)(?:\s?([AaPp])\.?\s?[Mm]\b\.?)?"), _time, _valid_time),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b"), _date, _valid_date),
    (re.compile(r"\b(\d+)/(\d+)\b"), _fraction, lambda m: int(m.group(2)) > 1),
    (re.compile(r"\s*/\s*"), " slash ", None),
    (re.compile(r"(?<=\d)\s?°\s?([CF])\b"), lambda m: " degrees " + ("Celsius" if m.group(1) == "C" else "Fahrenheit"),
     None),
    (re.compile(r"\s*°\s*"), " degrees ", None),
    (re.compile(r"\s*%"), " percent", None),
    (re.compile(r"\s*&\s*"), " and ", None),
    (re.compile(r"\s*@\s*"), " at ", None),
    (re.compile(r"#\s?(?=\d)"), "number ", None),
    (re.compile(r"\s*\+\s*"), " plus ", None),
    (re.compile(r"\s*=\s*"), " equals ", None),
    (re.compile(r"_+"), " ", None),
)


def speak_symbols(text: str, changes: list) -> str:
    """Apply the rules in order; each match that changes the text is recorded."""
    for pattern, replacement, valid in _RULES:
        def sub(m: re.Match, replacement=replacement, valid=valid) -> str:
            if valid is not None and not valid(m):
                return m.group(0)
            out = replacement(m) if callable(replacement) else replacement
            if out != m.group(0):
                changes.append((m.group(0).strip() or m.group(0), out.strip()))
            return out
        text = pattern.sub(sub, text)
    return text


def speak(text: str, changes: list) -> str:
    """:func:`transliterate` then :func:`speak_symbols`; spaces they add at either end of the text are removed
    (DLE keeps the text's own)."""
    out = speak_symbols(transliterate(text, changes), changes)
    if out != text:
        out = out if text[-1:].isspace() else out.rstrip()
        out = out if text[:1].isspace() else out.lstrip()
    return out
