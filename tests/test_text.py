"""Text front end: DLE's symbol table, english_cleaners (numbers, abbreviations, ASCII), text_to_sequence."""

from __future__ import annotations

import logging
import random
import subprocess
import sys

import pytest

from trtnet.runtime.text import ARPABET, DEFAULT_TEXT, SYMBOLS, english_cleaners, sequence_to_text, text_to_sequence
from trtnet.runtime.text.numbers import cardinal, ordinal


def letter(c: str) -> int:
    """Ids by the table layout: 'a'..'z' → 38..63, 'A'..'Z' → 12..37."""
    return 38 + ord(c) - ord("a") if c.islower() else 12 + ord(c) - ord("A")


PUNCT = {"-": 1, "!": 2, "'": 3, "(": 4, ")": 5, ",": 6, ".": 7, ":": 8, ";": 9, "?": 10, " ": 11}


def ids_of(cleaned: str) -> list[int]:
    return [PUNCT[c] if c in PUNCT else letter(c) for c in cleaned]


def test_symbol_table_layout():
    assert len(SYMBOLS) == 148 and len(ARPABET) == 84 and len(set(SYMBOLS)) == 148
    assert SYMBOLS[:12] == ("_", "-", "!", "'", "(", ")", ",", ".", ":", ";", "?", " ")
    assert SYMBOLS[12] == "A" and SYMBOLS[37] == "Z" and SYMBOLS[38] == "a" and SYMBOLS[63] == "z"
    assert SYMBOLS[64:68] == ("@AA", "@AA0", "@AA1", "@AA2") and SYMBOLS[147] == "@ZH"
    assert SYMBOLS[64 + 42] == "@HH" and SYMBOLS[64 + 24] == "@B" and list(ARPABET) == sorted(ARPABET)


def test_hello_world_ids():
    assert text_to_sequence("Hello, World!") == [45, 42, 49, 49, 52, 6, 11, 60, 52, 55, 49, 41, 2]


def test_arpabet_in_braces():
    ids = text_to_sequence("{HH AH0 L OW1} world.")
    assert ids == [106, 73, 117, 123, 11, 60, 52, 55, 49, 41, 7]
    assert sequence_to_text(ids) == "{HH AH0 L OW1} world."
    assert text_to_sequence("a {B}{CH} b") == [38, 11, 64 + 24, 64 + 25, 11, 39]
    assert text_to_sequence("x {HH  XX AH0}") == [61, 11, 106, 73]  # unknown phones dropped, like DLE


def test_braces_after_a_newline_are_plain_text_as_in_dle():
    assert text_to_sequence("a\n{HH}") == [38, 11, 45, 45]


@pytest.mark.parametrize("text,cleaned", [
    ("$3.50", "three dollars, fifty cents"),
    ("$1", "one dollar"),
    ("$0.01", "one cent"),
    ("$1.01", "one dollar, one cent"),
    ("$0", "zero dollars"),
    ("$2,500", "twenty-five hundred dollars"),
    ("1984", "nineteen eighty-four"),
    ("2005", "two thousand five"),
    ("2000", "two thousand"),
    ("1900", "nineteen hundred"),
    ("1905", "nineteen oh five"),
    ("1001", "ten oh one"),
    ("2010", "twenty ten"),
    ("1000", "one thousand"),
    ("3000", "three thousand"),
    ("101", "one hundred one"),
    ("007", "seven"),
    ("0", "zero"),
    ("1,234,567", "one million, two hundred thirty-four thousand, five hundred sixty-seven"),
    ("1000001", "one million one"),
    ("3.14", "three point fourteen"),
    ("1st", "first"),
    ("2nd", "second"),
    ("23rd", "twenty-third"),
    ("12th", "twelfth"),
    ("40th", "fortieth"),
    ("101st", "one hundred and first"),
    ("£10", "ten"),                    # DLE: ASCII first (£ dropped), so its "£N → N pounds" rule never fires
    ("£1,000", "one thousand"),
    ("Dr. Smith", "doctor smith"),
    ("Mr. and Mrs. Jones of St. Louis, Jr.", "mister and misess jones of saint louis, junior"),
    ("Capt. Hook at Ft. Worth, Sgt. Lt. Col. Gen. Maj.",
     "captain hook at fort worth, sergeant lieutenant colonel general major"),
    ("  A \t B\n", " a b "),
    ("Café “naïve” – déjà vu", 'cafe "naive" - deja vu'),
])
def test_english_cleaners_golden(text, cleaned):
    assert english_cleaners(text) == cleaned


def test_numbers_reach_the_ids():
    assert text_to_sequence("In 1984, $3.50.") == ids_of("in nineteen eighty-four, three dollars, fifty cents.")


def test_out_of_range_numbers_read_digit_by_digit():
    assert cardinal(10 ** 36) == "one " + "zero " * 35 + "zero"
    assert english_cleaners("1" * 37).startswith("one one one")


def test_default_text():
    assert len(DEFAULT_TEXT) == 128 and DEFAULT_TEXT.startswith("The forms of printed letters")
    assert DEFAULT_TEXT.endswith("a help to the ")
    assert text_to_sequence(DEFAULT_TEXT) == ids_of(DEFAULT_TEXT.lower())


def test_unknown_symbols_dropped():
    assert text_to_sequence('a "b" & c_~') == [38, 11, 39, 11, 11, 40, 0]   # DLE keeps "_" as the pad id
    assert text_to_sequence("x {HH XX}") == [61, 11, 106]


def test_empty_text():
    assert text_to_sequence("") == [] and text_to_sequence("{ }") == []


def test_non_ascii_dropped_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert text_to_sequence("a中b") == [38, 39]
    assert "中" in caplog.text


def test_sequence_to_text_round_trip():
    text = "it's (almost) done: yes; no? -ok"
    assert sequence_to_text(text_to_sequence(text)) == text
    assert sequence_to_text([12, 999, -1, 38]) == "Aa"


def test_runtime_text_needs_no_torch_or_numpy():
    code = "import sys, trtnet.runtime.text as t; t.text_to_sequence('1984 $3'); " \
           "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_numbers_match_inflect():
    inflect = pytest.importorskip("inflect", reason="inflect not installed (optional cross-check of numbers.py)")
    engine = inflect.engine()
    rng = random.Random(0)
    numbers = list(range(0, 1200)) + [rng.randrange(10 ** rng.randrange(1, 36)) for _ in range(600)]
    numbers += [10 ** k + d for k in range(3, 36, 2) for d in (0, 1, 7, 99, 100, 1000, 51000)]
    for n in numbers:
        assert cardinal(n, andword="") == engine.number_to_words(n, andword=""), n
        assert cardinal(n) == engine.number_to_words(n), n
        assert ordinal(n) == engine.number_to_words(f"{n}th"), n
    for n in range(1001, 3000):
        if n == 2000 or 2000 < n < 2010 or n % 100 == 0:
            continue
        want = engine.number_to_words(n, andword="", zero="oh", group=2).replace(", ", " ")
        assert english_cleaners(str(n)) == want, n
