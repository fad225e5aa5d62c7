"""Faults and bad input on the engine side of the CLI: nothing lost, nothing stale, every bad input refused early.

Each case makes its own damage: a plan replaced behind its sidecar (what a build killed between the two writes
leaves), a build killed by SIGKILL, a second build while the first holds the directory, partial rebuilds of a
complete directory, leftover temp files, out-of-range and non-finite flags, line breaks in text, outputs
of an earlier run, an interrupted synthesis.  (The weights side has its own suite.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from trtnet.files import locked_dir
from trtnet.runtime.wav import read_wav
from trtnet.sidecar import Sidecar, sidecar_path
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SMALL = ["--demo-size", "small", "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
         "--max-decoder-steps", "120"]


WEIGHTS: list[str] = []   # --tacotron2 H5 --waveglow H5 of the small demo models, set by the ``built`` fixture


def build(out: Path, engines: str, *extra: str) -> int:
    return main(["build-engines", *SMALL, *WEIGHTS, "-o", str(out), "--engines", engines, *extra])


def index(out: Path) -> dict:
    return json.loads((out / "build_config.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory, weights_cache) -> Path:
    """A complete small engine directory (FP32, every pipeline engine) built from the demo .h5 files of the
    weights cache, named explicitly so that every later build in this module uses the same weights."""
    out = tmp_path_factory.mktemp("faults") / "engines"
    assert main(["build-engines", *SMALL, "-o", str(out), "--engines", "postnet,denoiser"]) == 0
    WEIGHTS[:] = ["--tacotron2", str(weights_cache / "demo" / "tacotron2_demo_small.h5"),
                  "--waveglow", str(weights_cache / "demo" / "waveglow_demo_small.h5")]
    assert build(out, "encoder,decoder-loop,postnet,waveglow,denoiser") == 0
    return out


def copy_dir(src: Path, dst: Path) -> Path:
    """The engine directory's plans, sidecars and index, copied."""
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.is_file():
            (dst / p.name).write_bytes(p.read_bytes())
    return dst


def plan_matches_sidecar(plan: Path) -> bool:
    import hashlib
    return hashlib.sha256(plan.read_bytes()).hexdigest() == Sidecar.read(sidecar_path(plan)).plan_sha256


# ---- stale engines -------------------------------------------------------------------------------------------
def test_a_plan_replaced_behind_its_sidecar_is_rebuilt_not_reused(built, tmp_path, caplog):
    d = copy_dir(built, tmp_path / "e")
    (d / "postnet.plan").write_bytes((d / "denoiser.plan").read_bytes())    # new plan, old sidecar
    assert build(d, "postnet") == 0
    assert "differs from its sidecar" in caplog.text and plan_matches_sidecar(d / "postnet.plan")
    assert not index(d)["engines"]["postnet"]["cached"]


def test_a_plan_built_by_other_network_code_is_rebuilt_not_reused(built, tmp_path, monkeypatch):
    """Same trtnet version, same weights and options, but the code that defines the network changed: the cached
    plan is stale and must be rebuilt; unchanged code reuses it."""
    from trtnet import version
    d = copy_dir(built, tmp_path / "e")
    assert build(d, "postnet") == 0 and index(d)["engines"]["postnet"]["cached"]
    recorded = Sidecar.read(d / "postnet.json").extra["code_sha256"]
    assert recorded == version.code_digest() == index(d)["trtnet_code_sha256"]
    monkeypatch.setattr(version, "_default_digest", lambda: "0" * 64)
    assert build(d, "postnet") == 0 and not index(d)["engines"]["postnet"]["cached"]
    assert Sidecar.read(d / "postnet.json").extra["code_sha256"] == "0" * 64


def test_the_code_digest_follows_every_python_file_and_its_path(tmp_path):
    from trtnet.version import code_digest
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "sub" / "b.py").write_text("y = 2\n")
    (root / "notes.txt").write_text("not code")
    first = code_digest((root,))
    (root / "notes.txt").write_text("still not code")
    assert code_digest((root,)) == first
    (root / "sub" / "b.py").write_text("y = 3\n")
    assert code_digest((root,)) != first
    (root / "sub" / "b.py").write_text("y = 2\n")
    assert code_digest((root,)) == first
    (root / "sub" / "b.py").rename(root / "b.py")
    assert code_digest((root,)) != first


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_inspect_refuses_a_plan_that_is_not_the_one_its_sidecar_describes(built, tmp_path, capsys, damage):
    d = copy_dir(built, tmp_path / "e")
    plan = d / "postnet.plan"
    plan.write_bytes(b"" if damage == "empty" else plan.read_bytes()[:100])
    assert main(["inspect", str(plan)]) == 2
    err = capsys.readouterr().err
    assert str(plan) in err and ("empty plan" if damage == "empty" else "differs from its sidecar") in err


def test_a_sidecar_edited_to_claim_other_shapes_is_refused(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    side = d / "postnet.json"
    doc = json.loads(side.read_text())
    doc["io"]["dims"]["B"] = [1, 1, 64]          # claims a batch of 64 the plan was not built for
    side.write_text(json.dumps(doc, indent=2))
    assert main(["inspect", str(d / "postnet.plan")]) == 2
    assert f"{side}: differs from the sidecar {d / 'build_config.json'} records for postnet.plan" \
        in capsys.readouterr().err
    assert build(d, "postnet") == 0 and plan_matches_sidecar(d / "postnet.plan")   # the cache rebuilds it
    assert main(["inspect", str(d / "postnet.plan")]) == 0


def test_a_build_killed_midway_leaves_nothing_that_a_rebuild_trusts(built, tmp_path):
    """SIGKILL while the WaveGlow engine is being built, then a rebuild: every indexed plan matches its sidecar,
    no temp file survives, and the lock was released by the kernel."""
    d = copy_dir(built, tmp_path / "e")
    cmd = [sys.executable, "-m", "trtnet.tools.cli", "build-engines", *SMALL, "-o", str(d), "--engines",
           "postnet,waveglow,denoiser", "--force"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    deadline = time.monotonic() + 120
    for line in proc.stderr:                    # kill once the second engine's network is being defined
        if "waveglow" in line and "[2/3]" in line or time.monotonic() > deadline:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    (d / ".waveglow.plan.tmp-999999").write_bytes(b"left by a killed writer")   # and one from another run
    assert build(d, "postnet,waveglow,denoiser") == 0
    cfg = index(d)
    assert set(cfg["engines"]) == {"encoder", "decoder-loop", "postnet", "waveglow", "denoiser"}
    assert all(plan_matches_sidecar(d / e["plan"]) for e in cfg["engines"].values())
    assert not [p.name for p in d.iterdir() if ".tmp-" in p.name]


# ---- the directory index -----------------------------------------------------------------------------------
def test_rebuilding_one_engine_keeps_every_other_valid_engine_and_the_vocoder_hparams(built, tmp_path):
    d = copy_dir(built, tmp_path / "e")
    before = index(d)
    assert build(d, "encoder", "--force") == 0
    after = index(d)
    assert set(after["engines"]) == set(before["engines"])
    assert after["hparams"]["waveglow"] == before["hparams"]["waveglow"]
    assert after["inputs"]["waveglow"] == before["inputs"]["waveglow"]
    assert after["runtime_defaults"]["sigma"] == before["runtime_defaults"]["sigma"]


def test_engines_built_with_other_options_are_left_out_of_the_index(built, tmp_path, caplog):
    d = copy_dir(built, tmp_path / "e")
    assert main(["build-engines", *SMALL[:2], "--precision", "fp16", *SMALL[4:], "-o", str(d), "--engines",
                 "postnet"]) == 0
    assert set(index(d)["engines"]) == {"postnet"} and index(d)["options"]["precision"] == "fp16"
    assert "left out of build_config.json" in caplog.text


def test_an_empty_engine_list_is_refused_and_the_index_kept(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    before = (d / "build_config.json").read_bytes()
    assert build(d, ",") == 2
    assert "names no engine" in capsys.readouterr().err
    assert (d / "build_config.json").read_bytes() == before


def test_a_second_build_into_a_busy_directory_fails_at_once(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    before = (d / "build_config.json").read_bytes()
    with locked_dir(d, "a test holding the lock") as _:
        code = subprocess.run([sys.executable, "-m", "trtnet.tools.cli", "build-engines", *SMALL, "-o", str(d),
                               "--engines", "postnet", "--force"], capture_output=True, text=True, timeout=120)
    assert code.returncode == 2 and "a test holding the lock" in code.stderr and "is writing here" in code.stderr
    assert (d / "build_config.json").read_bytes() == before
    assert build(d, "postnet") == 0                        # released: the next build runs


def test_build_config_is_strict_json(built):
    json.loads((built / "build_config.json").read_text(),
               parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} in build_config.json"))


# ---- flags -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command,flag,value,message", [
    ("build-engines", "--gate-threshold", "2", "> 0 and < 1"), ("build-engines", "--gate-threshold", "nan", "finite"),
    ("build-engines", "--gate-threshold", "-1", "> 0"), ("build-engines", "--sigma", "-1", ">= 0"),
    ("build-engines", "--sigma", "nan", "finite"), ("build-engines", "--denoiser-strength", "inf", "finite"),
    ("build-engines", "--max-decoder-steps", "0", ">= 1"), ("build-engines", "--workspace-mib", "-1", ">= 1"),
    ("build-engines", "--max-batch", "0", ">= 1"), ("synthesize", "--seed", "-1", ">= 0"),
    ("synthesize", "--batch-size", "0", ">= 1"), ("synthesize", "--denoiser-strength", "nan", "finite"),
    ("synthesize", "--max-decoder-steps", "-3", ">= 1"), ("bench", "--iterations", "0", ">= 1"),
    ("bench", "--warmup", "-1", ">= 0"), ("verify", "--sigma", "-0.5", ">= 0"), ("demo-checkpoints", "--seed", "-1",
                                                                                   ">= 0"),
])
def test_out_of_range_flags_are_refused_at_parse_time(tmp_path, capsys, command, flag, value, message):
    required = {"synthesize": ["-i", "x.txt", "-o", str(tmp_path / "o"), "--backend", "eager"],
                "demo-checkpoints": ["-o", str(tmp_path / "o")], "build-engines": ["-o", str(tmp_path / "o")]}
    with pytest.raises(SystemExit) as info:
        main([command, *required.get(command, []), f"{flag}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and repr(value) in err and message in err
    assert not (tmp_path / "o").exists()


def test_an_unknown_compute_capability_is_refused_before_any_work(tmp_path, capsys):
    assert main(["build-engines", *SMALL, "-o", str(tmp_path / "o"), "--compute-capability", "SM90"]) == 2
    err = capsys.readouterr().err
    assert "--compute-capability SM90" in err and "SM89" in err
    assert not (tmp_path / "o").exists()


# ---- text input --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("char", ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\t", "\xa0"])
def test_line_breaks_other_than_newline_are_spaces_inside_their_line(char):
    from trtnet.runtime.text import decode_lines, prepare_text
    lines = decode_lines(f"first line\nsecond{char}line\n".encode())
    assert len(lines) == 2 and prepare_text(lines[1]).spoken == "second line"


def test_control_characters_are_dropped_and_reported():
    from trtnet.runtime.text import prepare_text
    result = prepare_text("nul\x00 and bell\x07[!]")
    assert result.spoken == "nul and bell!" and [c.original for c in result.changes] == ["\x00", "\x07", "[", "]"]


def test_crlf_lines_and_a_final_newline_are_plain_lines(tmp_path):
    from trtnet.runtime.text import split_lines
    assert split_lines("a\r\nb\r\n") == ["a", "b"] and split_lines("a\nb") == ["a", "b"]
    assert split_lines("tab\tinside\n") == ["tab\tinside"]


@pytest.mark.parametrize("case", ["tokens", "batch"])
def test_eager_limits_are_the_real_ones_and_checked_before_work(built, tmp_path, capsys, case):
    """The eager twin takes what the engines' default profile takes: 256 tokens, batch 8."""
    lines = tmp_path / "l.txt"
    text = ("word " * 80 + "\n") if case == "tokens" else "short line\n" * 9
    lines.write_text(text)
    extra = ["--batch-size", "9"] if case == "batch" else ["--split", "none"]   # split lines have no limit
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--backend", "eager", "--demo-size",
                 "small", *extra]) == 2
    err = capsys.readouterr().err
    assert ("line 1 has 400 tokens" in err and "at most 256" in err) if case == "tokens" else "1..8" in err
    assert not (tmp_path / "o").exists()


# ---- outputs -----------------------------------------------------------------------------------------------
def synthesize(built: Path, lines: Path, out: Path, *extra: str) -> int:
    return main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "off", *extra])


def test_earlier_outputs_are_never_overwritten_silently_nor_left_stale(built, tmp_path, capsys):
    lines, out = tmp_path / "l.txt", tmp_path / "o"
    lines.write_text("one line.\ntwo lines.\nthree lines.\n")
    assert synthesize(built, lines, out, "--save-mel") == 0
    first = (out / "audio_0.wav").read_bytes()
    lines.write_text("a different single line.\n")
    capsys.readouterr()
    assert synthesize(built, lines, out) == 2
    err = capsys.readouterr().err
    assert "already holds 6 audio file(s) of an earlier run" in err and "pass --overwrite" in err
    assert (out / "audio_0.wav").read_bytes() == first and len(list(out.iterdir())) == 6
    assert synthesize(built, lines, out, "--overwrite") == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio_0.wav"]
    assert (out / "audio_0.wav").read_bytes() != first


def test_an_interrupted_synthesis_keeps_the_finished_lines(built, tmp_path):
    """SIGINT once line 0's WAV exists: that WAV is complete and readable, and nothing half-written remains."""
    lines, out = tmp_path / "l.txt", tmp_path / "o"
    lines.write_text("".join(f"Line number {i} of a long file, said slowly.\n" for i in range(40)))
    cmd = [sys.executable, "-m", "trtnet.tools.cli", "synthesize", "-i", str(lines), "-o", str(out), "--backend",
           "eager", "--demo-size", "small", "--dropout", "off"]
    log = tmp_path / "stderr.log"
    with open(log, "w") as err:
        # SIGINT's default action even where this test runs from a background job (which inherits it ignored)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, "PYTHONWARNINGS": "ignore"},
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        first = proc.stdout.readline()              # printed after audio_0.wav is written
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=120)
    assert code in (130, 0), log.read_text()[-2000:]
    assert first.startswith(str(out / "audio_0.wav"))
    audio, rate = read_wav(out / "audio_0.wav")
    assert rate == 22050 and audio.size > 0 and np.isfinite(audio).all()
    written = sorted(p.name for p in out.iterdir())
    assert all(n.startswith("audio_") and n.endswith(".wav") for n in written) and len(written) < 40


@pytest.mark.parametrize("edit,message", [(lambda c: c.pop("options"), "key 'options' missing"),
                                          (lambda c: c["options"].pop("max_batch"), "options lack ['max_batch']"),
                                          (lambda c: c.pop("engines"), "key 'engines' missing")])
def test_a_damaged_index_is_named_before_any_work(built, tmp_path, capsys, edit, message):
    d = copy_dir(built, tmp_path / "e")
    cfg = index(d)
    edit(cfg)
    (d / "build_config.json").write_text(json.dumps(cfg))
    lines = tmp_path / "l.txt"
    lines.write_text("hello\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--engine-dir", str(d)]) == 2
    err = capsys.readouterr().err
    assert f"{d / 'build_config.json'}: {message}" in err and not (tmp_path / "o").exists()
