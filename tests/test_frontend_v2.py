"""FastPitch's text front end (``english_cleaners_v2`` behind ``prepare_text``): DLE parity against DLE's own
FastPitch ``TextProcessing`` (a fixture made with DLE's code by tests/data/make_dle_fastpitch_text_ids.py), the
model config choosing the cleaners, and ``synthesize`` with a FastPitch speaking v2's ids."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from trtnet.runtime.acoustic import text_cleaners
from trtnet.runtime.text import CLEANERS, prepare_text
from trtnet.weights.config import FastPitchConfig, Tacotron2Config

from test_frontend import dle_handles

FIXTURE = Path(__file__).with_name("data") / "dle_fastpitch_text_ids.json.gz"
V2 = "english_cleaners_v2"


@pytest.fixture(scope="module")
def items() -> list:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    assert len(doc["items"]) >= 3000 and re.fullmatch(r"[0-9a-f]{40}", doc["dle_commit"])
    assert doc["symbol_set"] == "english_basic" and doc["text_cleaners"] == [V2]
    return doc["items"]


def test_dle_v2_equals_dle_fastpitch_ids_on_every_generated_sentence(items):
    wrong = [(t, ids) for t, ids in items if list(prepare_text(t, "dle", V2).ids) != ids]
    assert not wrong, f"{len(wrong)} of {len(items)} differ from DLE's FastPitch front end, first: {wrong[0]}"


def test_the_fixture_tells_v2_from_tacotron2s_cleaners(items):
    differ = [t for t, ids in items if list(prepare_text(t, "dle").ids) != ids]
    assert len(differ) > len(items) // 4, len(differ)    # acronyms, years, times, units, Roman numerals ...


def test_default_equals_dle_v2_wherever_dle_keeps_every_character(items):
    handled = [(t, ids) for t, ids in items
               if dle_handles(t) and "/" not in t and not prepare_text(t, "dle", V2).changes]
    assert len(handled) > 1000
    wrong = [(t, ids) for t, ids in handled if list(prepare_text(t, "default", V2).ids) != ids]
    assert not wrong, f"{len(wrong)} of {len(handled)} differ from DLE, first: {wrong[0]}"


@pytest.mark.parametrize("text,spoken", [
    ("The FBI paid $5m for 3 GPUs at 3pm.", "the f.b.i. paid five million dollars for three g.p.u.'s at three p.m.."),
    ("World War II, Henry VIII, the 1990s", "world war two, henry eight, the nineteen nineties"),
    ("A 5GB card, 2x4 boards, RTX4090", "a five gigabytes card, two by four boards, r.t.x. forty ninety"),
    ("€3.50, ₩1000 and 50 %", "three euros, fifty cents, one thousand wons and fifty percent"),
    ("Email NVIDIA at example.com", "e-mail n.vidia at example dot com"),
])
def test_v2_reads_what_tacotron2s_cleaners_do_not(text, spoken):
    assert prepare_text(text, "dle", V2).spoken == spoken
    assert prepare_text(text, "dle").spoken != spoken


def test_default_v2_speaks_what_dle_drops():
    result = prepare_text("Room #5 is 30°C 🙂", "default", V2)
    assert result.spoken == "room number five is thirty degrees celsius"
    assert [c.original for c in result.changes if c.dropped] == ["🙂"]
    assert prepare_text("Room #5 is 30°C 🙂", "dle", V2).spoken == "room five is thirty c "   # DLE's own


def test_unknown_cleaners_are_refused():
    with pytest.raises(ValueError, match="english_cleaners_v3.*english_cleaners, english_cleaners_v2"):
        prepare_text("x", "dle", "english_cleaners_v3")


def test_the_model_config_chooses_the_cleaners():
    assert text_cleaners(FastPitchConfig.small()) == V2 and text_cleaners(Tacotron2Config.small()) == CLEANERS[0]
    assert text_cleaners(FastPitchConfig.small(text_cleaners="english_cleaners")) == "english_cleaners"
    assert text_cleaners(SimpleNamespace()) == "english_cleaners"     # a stand-in config: Tacotron 2's


def test_fastpitch_with_unknown_cleaners_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from trtnet.weights.demo_fastpitch import fastpitch_checkpoint
    from trtnet.weights.errors import WeightsError
    from trtnet.weights.extract import extract
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    ckpt["train_setup"]["text_cleaners"] = ["german_cleaners"]
    torch.save(ckpt, tmp_path / "fp.pt")
    with pytest.raises(WeightsError, match="german_cleaners"):
        extract(tmp_path / "fp.pt", tmp_path / "fp.h5")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_synthesize_with_fastpitch_speaks_v2s_ids(tmp_path, capsys):
    from trtnet.tools.cli import main
    src = tmp_path / "in.txt"
    src.write_text("The FBI met at 3pm in World War II.\n")
    assert main(["synthesize", "-i", str(src), "-o", str(tmp_path / "out"), "--backend", "eager", "--acoustic",
                 "fastpitch", "--vocoder", "hifigan", "--demo-size", "small", "--work-dir", str(tmp_path / "cache"),
                 "-v"]) == 0
    out = capsys.readouterr().out
    assert "the f.b.i. met at three p.m. in world war two." in out, out


def test_the_cli_checks_text_with_the_models_cleaners_before_loading_it():
    from trtnet.tools.common import text_cleaners as cli_cleaners
    args = SimpleNamespace(fastpitch=None, acoustic=None)
    assert cli_cleaners(args) == "english_cleaners"
    assert cli_cleaners(SimpleNamespace(fastpitch="fp.pt", acoustic=None)) == V2
    engines = {"hparams": {"fastpitch": FastPitchConfig.small(text_cleaners="english_cleaners").to_dict()}}
    assert cli_cleaners(args, engines) == "english_cleaners"
    assert cli_cleaners(args, {"hparams": {"tacotron2": {}}}) == "english_cleaners"
