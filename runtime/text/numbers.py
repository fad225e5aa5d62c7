"""Number normalisation of DLE's ``english_cleaners``, without the ``inflect`` dependency.

``cardinal`` and ``ordinal`` reproduce ``inflect.engine().number_to_words`` for 0 ≤ n < 10³⁶: groups of three
digits separated by ", ", "hundred <andword> <tens>" inside a group, and a last group below 100 joined with
" <andword> " instead of a comma (DLE passes ``andword=''``, ordinals keep inflect's default "and").
Out of inflect's range (≥ 10³⁶, where DLE raises) numbers are read digit by digit.
"""

from __future__ import annotations

import re

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion", " sextillion",
           " septillion", " octillion", " nonillion", " decillion")
_LIMIT = 1000 ** len(_SCALES)
_ORDINAL_ENDINGS = (("ty", "tieth"), ("one", "first"), ("two", "second"), ("three", "third"), ("five", "fifth"),
                    ("eight", "eighth"), ("nine", "ninth"), ("twelve", "twelfth"))

_COMMA_NUMBER = re.compile(r"([0-9][0-9,]+[0-9])")
_DECIMAL_NUMBER = re.compile(r"([0-9]+\.[0-9]+)")
_POUNDS = re.compile(r"£([0-9,]*[0-9]+)")
_DOLLARS = re.compile(r"\$([0-9.,]*[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_NUMBER = re.compile(r"[0-9]+")


def _tens(n: int) -> str:
    """0 ≤ n < 100 → "seven", "forty-two"."""
    if n < 20:
        return _ONES[n]
    return _TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else "")


def _group(n: int, andword: str) -> str:
    """0 < n < 1000 → "one hundred <andword> five" (single spaces when andword is empty)."""
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _tens(rest)
    head = f"{_ONES[hundreds]} hundred"
    if not rest:
        return head
    return " ".join(w for w in (head, andword, _tens(rest)) if w)


def digits(n: int | str) -> str:
    """Digit-by-digit reading: 1234 → "one two three four"."""
    return " ".join(_ONES[int(d)] for d in str(n))


def cardinal(n: int, andword: str = "and") -> str:
    """inflect ``number_to_words(n, andword=andword)`` for 0 ≤ n < 10³⁶ (digit reading above)."""
    if n < 0:
        raise ValueError(f"cardinal() takes n >= 0, got {n}")
    if n >= _LIMIT:
        return digits(n)
    if n == 0:
        return "zero"
    units = n % 1000
    parts = []  # group words, least significant first, zero groups skipped
    for scale in range(len(_SCALES)):
        n, value = divmod(n, 1000)
        if value:
            parts.append(_group(value, andword) + _SCALES[scale])
    text = ", ".join(reversed(parts[1:]))
    if not text:
        return parts[0]
    if 0 < units < 100:  # a units group without hundreds joins with the andword, not a comma
        return " ".join(w for w in (text, andword, parts[0]) if w)
    return f"{text}, {parts[0]}"


def ordinal(n: int) -> str:
    """inflect ``number_to_words('<n>th')``: 1 → "first", 101 → "one hundred and first", 40 → "fortieth"."""
    words = cardinal(n)
    for ending, replacement in _ORDINAL_ENDINGS:
        if words.endswith(ending):
            return words[: -len(ending)] + replacement
    return words + "th"


def _year_like(n: int) -> str:
    """DLE's reading of 1000 < n < 3000: "two thousand (N)", "N hundred", else pairs ("nineteen oh five")."""
    if n == 2000:
        return "two thousand"
    if 2000 < n < 2010:
        return "two thousand " + _ONES[n % 100]
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{_tens(high)} {'oh ' + _ONES[low] if low < 10 else _tens(low)}"


def _number(match: re.Match) -> str:
    n = int(match.group(0))
    return _year_like(n) if 1000 < n < 3000 else cardinal(n, andword="")


def _dollars(match: re.Match) -> str:
    amount = match.group(1)
    parts = amount.split(".")
    if len(parts) > 2:
        return amount + " dollars"  # unexpected format, left to the later rules
    dollars = int(parts[0]) if parts[0] else 0
    cents = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    words = []
    if dollars:
        words.append(f"{dollars} dollar{'' if dollars == 1 else 's'}")
    if cents:
        words.append(f"{cents} cent{'' if cents == 1 else 's'}")
    return ", ".join(words) if words else "zero dollars"


def _ordinal(match: re.Match) -> str:
    return ordinal(int(match.group(0)[:-2]))


def normalize_numbers(text: str) -> str:
    """Commas in numbers removed, £N → "N pounds", $ amounts, decimals ("point"), ordinals, then integers."""
    text = _COMMA_NUMBER.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _POUNDS.sub(r"\1 pounds", text)
    text = _DOLLARS.sub(_dollars, text)
    text = _DECIMAL_NUMBER.sub(lambda m: m.group(1).replace(".", " point "), text)
    text = _ORDINAL.sub(_ordinal, text)
    return _NUMBER.sub(_number, text)
