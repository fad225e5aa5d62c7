"""DLE FastPitch's text front end: ``english_cleaners_v2`` and ``TextProcessing.encode_text`` (no ARPAbet
lookup, DLE's inference default).  Pure Python (stdlib only).

:func:`encode_v2` on a line: currency amounts spoken (on the raw line, so ``€``/``£``/``₩`` survive), then the
line is cut into brace groups ``{…}`` and whitespace-free tokens; each token not starting with ``{`` goes
through :func:`english_cleaners_v2` on its own (so no rule sees across a space), and the tokens are joined with
single spaces.  The cleaner, per token: DLE transliteration → times with am/pm ("3pm" → "3 p.m.") → units,
dimensions and letters mixed with digits ("5GB" → "5 gigabytes", "2x4" → "2 by 4", "RTX4090" → "RTX 40 90") →
numbers (:mod:`.numbers_v2`) → abbreviations and symbols (``%``, ``&``, ``@``, ``½``, ``.com``, "Dr.", "etc.")
→ acronyms spelled ("FBI" → "F.B.I.") → lower case → whitespace collapsed → ``/`` runs → a space.
"""

from __future__ import annotations

import re

from .cleaners import collapse_whitespace, to_ascii
from .numbers_v2 import CURRENCY, expand_currency, normalize_numbers_v2

_TOKENS = re.compile(r"{[^}]+}|\S+")

_AMPM = re.compile(r"([0-9]|0[0-9]|1[0-9]|2[0-3]):?([0-5][0-9])?\s*([AaPp][Mm]\b)")

_UNITS = {"tb": "terabyte", "gb": "gigabyte", "mb": "megabyte", "kb": "kilobyte", "ghz": "gigahertz",
          "mhz": "megahertz", "khz": "kilohertz", "hz": "hertz", "mm": "millimeter"}
_UNIT = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s?(" + "|".join(_UNITS) + ")", re.IGNORECASE)
_SIDE = r"\d+(?:[,.]\d+)?"
_DIMENSION = re.compile(rf"\b({_SIDE}\s*[xX]\s*{_SIDE}\s*[xX]\s*{_SIDE}(?:in|inch|m)?)\b"
                        rf"|\b({_SIDE}\s*[xX]\s*{_SIDE}(?:in|inch|m)?)\b")
_LETTERS_DIGITS = re.compile(r"((?:[a-zA-Z]+[0-9]|[0-9]+[a-zA-Z])[a-zA-Z0-9']*)")
_DIGIT_SUFFIXES = ("'s", "s", "th", "nd", "st", "rd")

_NUMBER_SIGN = re.compile(r"No\.(?=[ ]?[0-9])")
_HALF = re.compile(r"([0-9])½|½")
_WEB = re.compile(r"([a-zA-Z])\.(com|gov|org)")
_ABBREVIATIONS = [(re.compile(rf"\b{short}\.", re.IGNORECASE), full) for short, full in (
    ("mrs", "misess"), ("ms", "miss"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"),
    ("jr", "junior"), ("maj", "major"), ("gen", "general"), ("drs", "doctors"), ("rev", "reverend"),
    ("lt", "lieutenant"), ("hon", "honorable"), ("sgt", "sergeant"), ("capt", "captain"), ("esq", "esquire"),
    ("ltd", "limited"), ("col", "colonel"), ("ft", "fort"), ("sen", "senator"), ("etc", "et cetera"))]

_EMAIL = re.compile(r"\bemail\b", re.IGNORECASE)
_ACRONYM = re.compile(r"([a-z]*[A-Z][A-Z]+)s?\.?")
_ACRONYM_SPELLING = {"NVIDIA": "N.VIDIA"}


def _ampm(m: re.Match) -> str:
    hour, minutes, suffix = m.group(1), m.group(2), m.group(3)
    spoken = hour if minutes is None or int(minutes) == 0 else f"{hour} {minutes}"
    return f"{spoken} {suffix[0].lower()}.m."


def _unit(m: re.Match) -> str:
    amount, unit = m.group(1), _UNITS[m.group(2).lower()]
    plural = not unit.endswith("z") and float(amount.replace(",", "")) > 1
    return f"{amount} {unit}{'s' if plural else ''}"


def _dimension(m: re.Match) -> str:
    text = (m.group(1) or m.group(2)).replace(" x ", " by ").replace("x", " by ")
    for unit, name in (("inch", "inch"), ("in", "inch"), ("m", "meter")):
        if text.endswith(unit):
            if text[-2].isdigit():           # one-letter unit right after a digit
                return f"{text[:-1]} {_DIMENSION_UNIT[text[-1:]]}"
            if text[-3].isdigit():           # two-letter unit right after a digit
                return f"{text[:-2]} {_DIMENSION_UNIT[text[-2:]]}"
            return text
    return text


_DIMENSION_UNIT = {"m": "meter", "in": "inch", "inch": "inch"}


def _digit_run(run: str) -> list[str]:
    """How DLE reads a run of up to 4 digits inside a word: "4090" → 40 90, "305" → 3 0 5, "1000" → 1000."""
    if len(run) > 2 and run[-2] == "0":
        return [run] if run[-1] == "0" else [run[:-2], run[-2], run[-1]]
    if len(run) % 2 == 0:
        return [run[i:i + 2] for i in range(0, len(run), 2)]
    if len(run) > 2:
        return [run[0]] + [run[i:i + 2] for i in range(1, len(run), 2)]
    return [run]


def _letters_digits(m: re.Match) -> str:
    parts = re.split(r"(\d+)", m.group(0))
    if parts[-1] == "":
        parts = parts[:-1]
    elif parts[0] == "":
        parts = parts[1:]
    if parts[-1] in _DIGIT_SUFFIXES and parts[-2].isdigit():   # 1920s, AK47's, 20th
        parts = parts[:-2] + [parts[-2] + parts[-1]]
    out: list[str] = []
    for part in parts:
        out.extend(_digit_run(part) if part.isdigit() and len(part) < 5 else [part])
    return " ".join(out)


def _spell_acronym(m: re.Match) -> str:
    letters = m.group(1)
    text = _ACRONYM_SPELLING.get(letters) or ".".join(letters) + "."
    if "s" in m.group(0):
        text += "'s"
    return text + "." if text[-1] != "." and m.group(0)[-1] == "." else text


def _abbreviations(text: str) -> str:
    text = _NUMBER_SIGN.sub("Number", text)
    text = re.sub(r"[ ]?%", " percent", text)
    text = _HALF.sub(lambda m: f"{m.group(1)} and a half" if m.group(1) else "half", text)
    text = text.replace("&", " and ").replace("@", " at ")
    text = _WEB.sub(r"\1 dot \2", text)
    for pattern, full in _ABBREVIATIONS:
        text = pattern.sub(full, text)
    return text


def english_cleaners_v2(text: str, dropped: list | None = None) -> str:
    """DLE's ``english_cleaners_v2`` on one token; characters with no ASCII spelling go to ``dropped``."""
    text, lost = to_ascii(text)
    if dropped is not None:
        dropped.extend(lost)
    text = _AMPM.sub(_ampm, text)
    text = _UNIT.sub(_unit, text)
    text = _DIMENSION.sub(_dimension, text)
    text = _LETTERS_DIGITS.sub(_letters_digits, text)
    text = normalize_numbers_v2(text)
    text = _abbreviations(text)
    text = _EMAIL.sub("e-mail", text)
    text = _ACRONYM.sub(_spell_acronym, text)
    return re.sub(r"/+", " ", collapse_whitespace(text.lower()))


def encode_v2(line: str, dropped: list | None = None) -> str:
    """DLE ``TextProcessing.encode_text``'s text (before the symbol lookup) with ``p_arpabet=0``."""
    line = CURRENCY.sub(expand_currency, line)
    tokens = [t if t[0] == "{" else english_cleaners_v2(t, dropped) for t in _TOKENS.findall(line)]
    return collapse_whitespace(" ".join(tokens))
