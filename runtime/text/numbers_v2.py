"""Number reading of DLE FastPitch's ``english_cleaners_v2`` (its ``numerical.py``), without ``inflect``.

Steps, in order, on one whitespace-free token (after transliteration, letters-with-numbers and times):
commas inside numbers removed → currency (``$ € £ ₩`` amounts, with an optional magnitude word or
``m``/``b``/``t``) → decimals ("3 point 14") → ordinals (inflect's "twenty-first") → Roman numerals (``II`` … to
digits, a lone ``I`` or ``V`` left alone) → ``2x4`` → "2 by 4" → integers, where DLE differs from Tacotron 2's
reading: inflect's "and" inside hundreds, hyphens and commas removed, round hundreds above 1000 as
"twenty-three hundred", years as digit pairs ("nineteen oh five"), and a plural ``s``/``'s`` ("nineteen nineties").
"""

from __future__ import annotations

import re

from .numbers import _ONES, cardinal, ordinal

_MAGNITUDES = ("trillion", "billion", "million", "thousand", "hundred", "m", "b", "t")
_SHORT_MAGNITUDE = {"m": "million", "b": "billion", "t": "trillion"}
CURRENCY_NAMES = {"$": "dollar", "£": "pound", "€": "euro", "₩": "won"}
#: an amount after a currency sign, then optionally a magnitude not followed by a letter
CURRENCY = re.compile(r"([$€£₩])([0-9.,]*[0-9]+)(?:[ ]?(" + "|".join(_MAGNITUDES) + r")(?=[^a-zA-Z]|$))?",
                      re.IGNORECASE)
_COMMA_NUMBER = re.compile(r"([0-9][0-9,]+[0-9])")
_DECIMAL = re.compile(r"([0-9]+\.[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_ROMAN = re.compile(r"\b(?=[MDCLXVI]+\b)M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{2,3})\b")
_ROMAN_VALUE = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_TIMES = re.compile(r"(\b[0-9]+)x([0-9]+)")
_NUMBER = re.compile(r"[0-9]+'s|[0-9]+s|[0-9]+")


def words(amount: str | int) -> str:
    """inflect ``number_to_words(amount)``: the integer part as :func:`cardinal` (with "and"), the digits after a
    point one by one ("1.25" → "one point two five"; "1." → "one point"; ".5" → "point five")."""
    whole, point, frac = str(amount).partition(".")
    head = cardinal(int(whole)) if whole else ""
    tail = ["point", *(_ONES[int(d)] for d in frac)] if point else []
    return " ".join(w for w in (head, *tail) if w)


def _hundreds(amount: str | int) -> str:
    """DLE ``_expand_hundreds``: 1000 < x < 10000 in whole hundreds → "fifteen hundred", else :func:`words`."""
    x = float(amount)
    if 1000 < x < 10000 and x % 100 == 0 and x % 1000 != 0:
        return cardinal(int(x / 100)) + " hundred"
    return words(amount)


def _plural(n: int, unit: str) -> str:
    return unit if n == 1 else unit + "s"


def expand_currency(m: re.Match) -> str:
    """"$5" → "five dollars", "€3.50" → "three euros, fifty cents", "$5m" → "five million dollars"."""
    unit, amount, magnitude = CURRENCY_NAMES[m.group(1)], m.group(2).replace(",", ""), m.group(3)
    if magnitude is not None:
        return f"{_hundreds(amount)} {_SHORT_MAGNITUDE.get(magnitude.lower(), magnitude)} {unit}s"
    parts = amount.split(".")
    if len(parts) > 2:
        return f"{amount} {unit}s"
    whole = int(parts[0]) if parts[0] else 0
    cents = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    spoken = [f"{_hundreds(whole)} {_plural(whole, unit)}"] if whole else []
    if cents:
        spoken.append(f"{cardinal(cents)} {_plural(cents, 'cent')}")
    return ", ".join(spoken) or f"zero {unit}s"


def _roman(m: re.Match) -> str:
    values = [_ROMAN_VALUE[c] for c in m.group(0)]
    return str(sum(-v if v < nxt else v for v, nxt in zip(values, values[1:] + [0])))


def _year_pairs(n: int) -> str:
    """1000 < n < 3000, not a round hundred: "two thousand (five)" for 2000–2009, else two digit pairs."""
    if n < 2000 or n >= 2010:
        high, low = divmod(n, 100)
        return f"{cardinal(high)} {'oh ' + _ONES[low] if low < 10 else cardinal(low)}".replace("-", " ")
    return "two thousand" + (f" {_ONES[n % 100]}" if n % 100 else "")


def _integer(m: re.Match) -> str:
    token = m.group(0)
    digits = re.match(r"[0-9]+", token).group(0)
    suffix, n = token[len(digits):], int(digits)
    if n > 1000 and n % 100 == 0 and n % 1000 != 0:
        text = cardinal(n // 100) + " hundred"
    elif 1000 < n < 3000:
        text = _year_pairs(n)
    else:
        text = cardinal(n).replace("-", " ").replace(",", "")
    if suffix:
        text = text[:-1] + "ies" if text.endswith("y") else text + suffix
    return text


def normalize_numbers_v2(text: str) -> str:
    """The number steps of ``english_cleaners_v2`` on one token (see the module docstring)."""
    text = _COMMA_NUMBER.sub(lambda m: m.group(1).replace(",", ""), text)
    text = CURRENCY.sub(expand_currency, text)
    text = _DECIMAL.sub(lambda m: m.group(1).replace(".", " point "), text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group(0)[:-2])), text)
    text = _ROMAN.sub(_roman, text)
    text = _TIMES.sub(r"\1 by \2", text)
    return _NUMBER.sub(_integer, text)
