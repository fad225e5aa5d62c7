"""Long-form splitting (runtime.text.longform): sentences by pysbd (abbreviations and decimals kept whole), long
sentences cut at clauses then between words, every piece within the token limit, no empty piece, no word cut, and
paragraphs of 10,000 and files of 50,000 characters split in time linear in their length."""

from __future__ import annotations

import re

import numpy as np
import pytest

from trtnet.runtime.longform import FRAMES_PER_TOKEN, piece_budget
from trtnet.runtime.text.longform import encode, sentences, speakable, split_line

WORDS = ("the forms of printed letters should be beautiful and their arrangement on the page reasonable doctor "
         "smith paid three dollars for apples in washington yesterday while the committee met").split()


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def _paragraph(rng, n_chars: int) -> str:
    """Sentences of 3..60 random words with commas, semicolons, dashes, abbreviations and decimals."""
    out, n = [], 0
    while n < n_chars:
        words = list(rng.choice(WORDS, rng.integers(3, 60)))
        for k in rng.choice(len(words), size=min(3, len(words) - 1), replace=False)[1:]:
            words[k] += rng.choice([",", ";", " —", ":"])
        if rng.random() < 0.3:
            words.insert(int(rng.integers(0, len(words))), rng.choice(["Dr. Smith", "3.50", "Mr. Jones", "e.g."]))
        s = " ".join(words)
        s = s[0].upper() + s[1:] + rng.choice([".", "!", "?"])
        out.append(s)
        n += len(s) + 1
    return " ".join(out)


def _check_pieces(line: str, limit: int) -> list:
    pieces = list(split_line(line, limit))
    assert pieces and all(p.text.strip() and p.ids and speakable(p.ids) for p in pieces)      # no empty piece
    assert all(len(p.ids) <= limit and p.ids == encode(p.text) for p in pieces)              # within the limit
    assert _words(" ".join(p.text for p in pieces)) == _words(line)                            # no word cut or lost
    assert [p.sentence for p in pieces] == sorted(p.sentence for p in pieces)
    return pieces


def test_abbreviations_and_decimals_do_not_end_sentences():
    line = "Dr. Smith paid 3.50 dollars at 3 p.m. in the U.S. yesterday. Mr. Jones did not! Did he? Yes."
    assert [s.strip() for s in sentences(line)] == [
        "Dr. Smith paid 3.50 dollars at 3 p.m. in the U.S. yesterday.", "Mr. Jones did not!", "Did he?", "Yes."]
    pieces = _check_pieces(line, 256)
    assert [p.text for p in pieces][0].startswith("Dr. Smith paid 3.50") and len(pieces) == 4
    assert [p.ends_sentence for p in pieces] == [True] * 4


def test_a_long_sentence_is_cut_at_clauses_then_between_words():
    line = ("When the committee met in Washington, the forms of printed letters were discussed at length; "
            "the arrangement on the page — reasonable or not — was the next item: and then lunch.")
    pieces = _check_pieces(line, 40)
    assert len(pieces) > 1 and all(p.sentence == 1 for p in pieces)
    assert [p.ends_sentence for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert pieces[0].text == "When the committee met in Washington,"     # a clause boundary, not a word one
    words = _check_pieces("one two three four five six seven eight nine ten eleven twelve", 12)
    assert [p.text for p in words] == ["one two", "three four", "five six", "seven eight", "nine ten", "eleven",
                                       "twelve"]


def test_only_a_word_longer_than_the_limit_is_cut_and_braces_stay_whole():
    pieces = list(split_line("see " + "x" * 50 + " now", 20))
    assert [p.text for p in pieces] == ["see", "x" * 20, "x" * 20, "x" * 10, "now"]
    pieces = _check_pieces("{HH AH0 L OW1} {W ER1 L D} and more words after the phones", 10)
    assert pieces[0].text == "{HH AH0 L OW1} {W ER1 L D}" and pieces[1].text == "and more"


def test_pieces_with_nothing_to_say_are_dropped_unless_alone():
    assert [p.text for p in split_line("Hello there. ... — ! And more.", 256)] == ["Hello there.", "And more."]
    assert [p.text for p in split_line("...", 256)] == ["..."]


@pytest.mark.parametrize("limit", [256, 60])
def test_a_10000_character_paragraph(rng, limit):
    line = _paragraph(rng, 10_000)
    assert "".join(sentences(line)) == line
    pieces = _check_pieces(line, limit)
    assert len({p.sentence for p in pieces}) > 30


def test_a_50000_character_file_of_many_lines(rng):
    lines = [_paragraph(rng, int(n)) for n in rng.integers(20, 2000, 60)]
    while sum(map(len, lines)) < 50_000:
        lines.append(_paragraph(rng, 1500))
    for line in lines:
        _check_pieces(line, 100)


def test_sentences_of_a_long_line_match_one_pysbd_pass(rng):
    """Windowing changes nothing: the windowed sentences are pysbd's sentences of the whole line."""
    import pysbd
    line = _paragraph(rng, 6000)
    whole = [s.strip() for s in pysbd.Segmenter(language="en", clean=False).segment(line)]
    assert [s.strip() for s in sentences(line, window=700)] == whole


def test_piece_budget_is_the_text_limit_or_the_step_cap_estimate():
    class T2:
        n_frames_per_step = 1
    assert piece_budget(256, 2000, T2) == 2000 // FRAMES_PER_TOKEN == 181
    assert piece_budget(64, 2000, T2) == 64 and piece_budget(256, 120, T2) == 120 // FRAMES_PER_TOKEN
    T2.n_frames_per_step = 3
    assert piece_budget(256, 500, T2) == 500 // int(np.ceil(FRAMES_PER_TOKEN / 3))
    assert piece_budget(256, 3, T2) == 1
