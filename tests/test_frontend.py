"""The one text function (runtime.text.prepare_text): DLE parity against DLE's own front end (a fixture made with
DLE's code by tests/data/make_dle_text_ids.py), no refusal for any character, what is spoken, and the reports."""

from __future__ import annotations

import gzip
import json
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from trtnet.runtime.pipeline import InputError, prepare_lines
from trtnet.runtime.text import DEFAULT_FRONTEND, TextError, decode_lines, prepare_text

FIXTURE = Path(__file__).with_name("data") / "dle_text_ids.json.gz"


@pytest.fixture(scope="module")
def dle_items() -> list:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    assert len(doc["items"]) >= 3000 and re.fullmatch(r"[0-9a-f]{40}", doc["dle_commit"])
    return doc["items"]


def test_dle_frontend_equals_dle_ids_on_every_generated_sentence(dle_items):
    wrong = [(text, ids) for text, ids in dle_items if list(prepare_text(text, "dle").ids) != ids]
    assert not wrong, f"{len(wrong)} of {len(dle_items)} differ from DLE, first: {wrong[0]}"


def dle_handles(text: str) -> bool:
    """Text DLE's cleaners already handle: letters (ASCII or accented Latin), digits, whitespace, the table's
    punctuation and $ (times such as 3:30 are read by the default front end, so they are left out)."""
    return not re.search(r"\d:\d", text) and all(
        c.isspace() or c in "!'(),.:;?-${}"
        or c.isalnum() and (c.isascii() or "LATIN" in unicodedata.name(c, "")) for c in text)


def test_default_equals_dle_wherever_dle_keeps_every_character(dle_items):
    handled = [(t, ids) for t, ids in dle_items if dle_handles(t) and not prepare_text(t, "dle").changes]
    assert len(handled) > 1500            # plain words, numbers, money in $, abbreviations, accented names
    wrong = [(t, ids) for t, ids in handled if list(prepare_text(t).ids) != ids]
    assert not wrong, f"{len(wrong)} of {len(handled)} differ from DLE, first: {wrong[0]}"


@pytest.mark.parametrize("text,spoken", [
    ("Dr. Smith paid $3.50 on 12/05/2024.", "doctor smith paid three dollars, fifty cents on december fifth, "
                                            "twenty twenty-four."),
    ("50% & more @ home, #5", "fifty percent and more at home, number five"),
    ("2+2=4", "two plus two equals four"),
    ("1/2 and 3/4 and 2/3 and 1/8", "one half and three quarters and two thirds and one eighth"),
    ("It was 30°C, 86 °F, 5°", "it was thirty degrees celsius, eighty-six degrees fahrenheit, five degrees"),
    ("€5, €3.50, £1, £3.05, ¥100, 20€", "five euros, three euros, fifty cents, one pound, three pounds, five pence, "
                                        "one hundred yen, twenty euros"),
    ("at 3:30 pm, 10:05 a.m., 15:45 and 9:00", "at three thirty p m, ten oh five a m, fifteen forty-five and "
                                              "nine o'clock"),
    ("the 1st, 2nd and 23rd in 1984: 3.14", "the first, second and twenty-third in nineteen eighty-four: three "
                                            "point fourteen"),
    ("and/or", "and slash or"),
    ("José Müller’s “café” — naïve", "jose mueller's cafe - naive"),
    ("snake_case", "snake case"),
    ("привет, 中文", "privet, zhongwen"),
    ("{HH AH0 L OW1} world", "{HH AH0 L OW1} world"),
])
def test_default_speaks_symbols(text, spoken):
    assert prepare_text(text).spoken == spoken


CLASSES = {
    "whitespace-like": "tab\there, vt\vff\fnbsp\u00a0ls\u2028ps\u2029cr\rend",
    "controls": "bell\x07 nul\x00 del\x7f esc\x1b zero-width\u200bjoiner\u200d",
    "quotes and dashes": "‘single’ “double” «guillemets» „low“ – en — em … ellipsis",
    "symbols": "% & @ # + = / ° € £ ¥ $ ¢ © ® ™ § ¶ × ÷ ± ½ ¼ ¾ ² ³ µ • · → ∞ ≈ ≠ ≤",
    "ascii punctuation": "\"#$%&*+/<=>@[\\]^_`{|}~ and words",
    "accented": "Ångström Dvořák Łukasz Wójcik Đorđe Øyvind Björk Guðmundsdóttir São Paulo Zoë",
    "mixed scripts": "Hello мир 世界 مرحبا שלום नमस्ते 안녕하세요 こんにちは Γειά σου",
    "emoji": "Great job 🎉👍🏽 see you ❤️ soon 👨‍👩‍👧",
    "numbers": "1,234,567 -5 007 1e10 0.5 1st 12/31/1999 31/12/1999 3:30pm 25:99 99/99",
    "only symbols": "%",
    "arpabet": "{HH AH0 L OW1} {XX} {",
}


@pytest.mark.parametrize("frontend", ["default", "dle"])
@pytest.mark.parametrize("name", list(CLASSES))
def test_every_character_class_gives_ids_and_no_error(name, frontend):
    result = prepare_text(CLASSES[name], frontend)
    assert all(0 <= i < 148 for i in result.ids)
    if frontend == "default":        # DLE may drop everything ("%" alone); the default always says something
        assert result.ids and 0 not in result.ids        # and never feeds the pad id


def test_a_10000_character_paragraph_is_prepared_in_one_piece():
    sentence = "On 12/05/2024 Dr. Smith paid €3.50 (50% off) at 3:30 pm — naïve “quotes” 🙂 & more. "
    paragraph = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    result = prepare_text(paragraph)
    assert len(result.ids) > 10_000 and result.spoken.count("three euros, fifty cents") >= 100
    assert {c.original for c in result.changes} >= {"€3.50", "%", "3:30 pm", "—", "🙂", "&"}


def test_changes_say_what_was_dropped_and_rewritten():
    result = prepare_text("Pay €5 now 🙂 [ok]")
    assert result.summary() == "dropped '🙂'; '€5' → '5 euros'; dropped '['; dropped ']'"
    assert [c.dropped for c in result.changes] == [True, False, True, True]
    assert prepare_text("Plain words, 12 of them.").changes == ()


def test_unknown_front_end_is_refused():
    with pytest.raises(ValueError, match="'bogus': expected one of default, dle, nemo"):
        prepare_text("x", "bogus")
    assert DEFAULT_FRONTEND == "default"


def test_invalid_utf8_is_the_one_refusal_naming_line_and_byte_offset():
    data = "first\nsecond é\nthird ".encode() + b"\xff\xfe tail\n"
    with pytest.raises(TextError) as e:
        decode_lines(data, "input file x.txt")
    assert str(e.value) == ("input file x.txt line 3: invalid UTF-8 at byte offset 22 (byte 6 of the line): "
                            "b'\\xff', invalid start byte; save the file as UTF-8")
    assert decode_lines(b"\xef\xbb\xbfbom\r\nline\n") == ["bom", "line"]


def test_pipeline_lines_go_through_prepare_text():
    results = prepare_lines(["50% off", "x\u2028y"], 256)
    assert [r.spoken for r in results] == ["fifty percent off", "x y"]
    assert prepare_lines(["50% off"], 256, "dle")[0].spoken == "fifty off"
    with pytest.raises(InputError, match=r"line 2 has nothing to say after text normalisation \(dropped '🙂'\)"):
        prepare_lines(["ok", "🙂"], 256)
    with pytest.raises(InputError, match="line 1 has 20 tokens; the engines allow at most 10"):
        prepare_lines(["fifty % of it."], 10)


def test_triton_request_with_symbols_is_accepted():
    from trtnet.serve.triton_model import parse_request
    text = "Dr. Smith paid $3.50 on 12/05/2024."
    parsed = parse_request({"TEXT": np.array([[text.encode()]], object)}, {}, max_text_len=256,
                           defaults=(0.5, 0.6, 0.01))
    assert parsed.ids == list(prepare_text(text).ids)


def test_nemo_without_the_extra_names_it(monkeypatch):
    from trtnet.runtime.text import nemo
    nemo._normalizer.cache_clear()
    for name in ("nemo_text_processing", "nemo_text_processing.text_normalization.normalize"):
        monkeypatch.setitem(sys.modules, name, None)                    # import fails as when not installed
    with pytest.raises(nemo.MissingExtraError, match=r"pip install 'trtnet\[tn\]'"):
        prepare_text("It costs $5.", "nemo")
    nemo._normalizer.cache_clear()


def test_nemo_normaliser_writes_out_numbers():
    pytest.importorskip("nemo_text_processing", reason="the [tn] extra (nemo_text_processing, pynini) is not "
                                                       "installed; its missing-extra error is tested above")
    from trtnet.runtime.text import nemo
    from trtnet.weights.cache import cache_dir
    nemo._normalizer.cache_clear()      # grammars compiled on first use (minutes), then loaded from the cache
    result = prepare_text("It is 12 kg, on 12/05/2024.", "nemo")
    assert result.spoken == "it is twelve kilograms, on december fifth twenty twenty four."
    assert result.changes[0].original == "It is 12 kg, on 12/05/2024."
    assert list((cache_dir() / "nemo-tn").glob("*/*.far"))


def test_synthesize_speaks_a_file_of_every_character_class(tmp_path, capsys, caplog):
    from trtnet.runtime.wav import read_wav
    from trtnet.tools.cli import main
    texts = [t for name, t in CLASSES.items() if name != "numbers"] + ["1,234,567 -5 007 0.5 1st 12/31/1999 3:30pm"]
    lines, out = tmp_path / "lines.txt", tmp_path / "wavs"
    lines.write_bytes("\r\n".join(texts).encode() + b"\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "off", "--batch-size", "8", "--max-decoder-steps", "40", "-v"]) == 0
    printed = capsys.readouterr().out
    emoji = texts.index(CLASSES["emoji"]) + 1
    assert f"line {emoji}: dropped '🎉👍🏽'; dropped '❤️'" in printed        # -v: per line, what changed
    changed = len(texts) - 1                                                # whitespace-like: spaces, unreported
    assert f"text: {changed} of {len(texts)} line(s) changed by the front end" in caplog.text
    for n in range(len(texts)):
        assert read_wav(out / f"audio_{n}.wav")[0].size > 0


def test_synthesize_refuses_invalid_utf8_naming_line_and_offset(tmp_path, capsys):
    from trtnet.tools.cli import main
    lines = tmp_path / "lines.txt"
    lines.write_bytes(b"fine\nnot \xc3( utf-8\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--backend", "eager",
                 "--demo-size", "small"]) == 2
    err = capsys.readouterr().err
    assert f"input file {lines} line 2: invalid UTF-8 at byte offset 9 (byte 4 of the line)" in err
    assert not (tmp_path / "o").exists()
