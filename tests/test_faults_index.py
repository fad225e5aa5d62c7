"""Faults in an engine directory's index and sidecars, and flags that pass parsing but cannot work: every command
that opens an engine directory checks build_config.json against its schema and every plan against its sidecar
before any work, naming the file and key; numbers are range-checked at parse time; flag combinations that would
be ignored are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from test_faults import copy_dir
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SMALL = ["--demo-size", "small", "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
         "--max-decoder-steps", "60"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("index") / "engines"
    assert main(["build-engines", *SMALL, "-o", str(out),
                 "--engines", "encoder,decoder-loop,postnet,waveglow,denoiser"]) == 0
    return out


def edit_index(d: Path, edit) -> Path:
    f = d / "build_config.json"
    cfg = json.loads(f.read_text())
    edit(cfg)
    f.write_text(json.dumps(cfg))
    return f


def edit_sidecar(d: Path, name: str, edit) -> None:
    """Edit a sidecar and record its new hash in the index (a consistent but wrong directory)."""
    side = d / f"{name}.json"
    data = json.loads(side.read_text())
    edit(data)
    side.write_text(json.dumps(data))
    edit_index(d, lambda c: c["engines"][name].update(sidecar_sha256=hashlib.sha256(side.read_bytes()).hexdigest()))


def synthesize(d: Path, tmp_path: Path, *extra: str) -> int:
    lines = tmp_path / "l.txt"
    lines.write_text("hello there.\n")
    return main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--engine-dir", str(d),
                 "--emulate-engines", *extra])


def nan(c):
    c["runtime_defaults"]["gate_threshold"] = float("nan")


@pytest.mark.parametrize("edit,message", [
    (nan, "runtime_defaults.gate_threshold is NaN"),
    (lambda c: c["runtime_defaults"].update(gate_threshold=5.0), "runtime_defaults.gate_threshold must be a finite "
                                                                 "number > 0 and < 1, found 5.0"),
    (lambda c: c["runtime_defaults"].update(max_decoder_steps=-3), "runtime_defaults.max_decoder_steps must be a "
                                                                   "whole number in [1, 2147483647], found -3"),
    (lambda c: c["runtime_defaults"].update(denoiser_strength="x"), "runtime_defaults.denoiser_strength must be a "
                                                                    "finite number >= 0"),
    (lambda c: c["runtime_defaults"].update(pace=0.0), "runtime_defaults.pace must be a finite number >= 0.1 and "
                                                       "<= 10, found 0.0"),
    (lambda c: c["options"].update(max_batch=2**40), "options.max_batch must be a whole number in [1, 2147483647]"),
    (lambda c: c["engines"]["encoder"].update(plan="../other/encoder.plan"), "engines.encoder.plan must be a file "
                                                                             "name in the engine directory"),
    (lambda c: c["options"].update(precision="fp16"), "encoder.plan: built with other options than"),
    (lambda c: c.update(format=2), "format 2; this trtnet reads format 1"),
])
def test_a_bad_value_in_the_index_is_named_before_any_work(built, tmp_path, capsys, edit, message):
    d = copy_dir(built, tmp_path / "e")
    f = edit_index(d, edit)
    assert synthesize(d, tmp_path) == 2
    err = capsys.readouterr().err
    assert message in err and (str(f) in err or str(d / "encoder.plan") in err), err
    assert not (tmp_path / "o").exists() and "Traceback" not in err


@pytest.mark.parametrize("command", ["bench", "verify", "export-triton", "serve"])
def test_every_command_that_opens_an_engine_directory_checks_its_index(built, tmp_path, capsys, command):
    d = copy_dir(built, tmp_path / "e")
    f = edit_index(d, lambda c: c["runtime_defaults"].update(gate_threshold=5.0))
    extra = {"bench": ["--demo-size", "small", "--backends", "engine-loop", "--iterations", "1", "--warmup", "0"],
             "verify": ["--demo-size", "small", "--emulate-engines"],
             "export-triton": ["-o", str(tmp_path / "repo")], "serve": ["--model-repository", str(tmp_path / "repo")]}
    assert main([command, "--engine-dir", str(d), *extra[command]]) == 2
    err = capsys.readouterr().err
    assert f"{f}: runtime_defaults.gate_threshold must be a finite number > 0 and < 1" in err, err
    assert not (tmp_path / "repo").exists()


def test_a_plan_in_another_engines_slot_is_refused_naming_the_file(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    for ext in ("plan", "json"):
        (d / f"encoder.{ext}").write_bytes((d / f"postnet.{ext}").read_bytes())
    assert synthesize(d, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{d / 'encoder.json'}: differs from the sidecar" in err          # the index's record of it
    edit_index(d, lambda c: c["engines"]["encoder"].update(
        sidecar_sha256=hashlib.sha256((d / "encoder.json").read_bytes()).hexdigest()))
    assert synthesize(d, tmp_path) == 2
    assert f"{d / 'encoder.plan'}: holds the postnet network" in capsys.readouterr().err


def test_a_sidecar_holding_nan_is_refused(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    edit_sidecar(d, "postnet", lambda s: s.update(build_seconds=float("nan")))
    assert synthesize(d, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{d / 'postnet.json'}: unreadable sidecar: NaN is not JSON" in err


def test_a_plan_built_by_other_network_code_is_not_emulated(built, tmp_path, capsys):
    d = copy_dir(built, tmp_path / "e")
    edit_sidecar(d, "postnet", lambda s: s["extra"].update(code_sha256="0" * 64))
    assert synthesize(d, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"cannot emulate {d / 'postnet.plan'}: built by other network code" in err and "rebuild it" in err


def test_inspect_of_a_directory_or_a_text_file_says_what_it_takes(built, tmp_path, capsys):
    assert main(["inspect", str(built)]) == 2
    assert f"{built}: not a .plan file; inspect takes a plan" in capsys.readouterr().err
    text = tmp_path / "lines.txt"
    text.write_text("hello\n")
    assert main(["inspect", str(text)]) == 2
    assert "no sidecar" not in capsys.readouterr().err


# ---- flags ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command,flag,value,message", [
    ("synthesize", "--max-decoder-steps", "99999999999", "<= 2147483647"),
    ("synthesize", "--seed", str(2**64), "<= 9223372036854775807"),
    ("synthesize", "--sigma", "1e300", "<= 2"), ("synthesize", "--denoiser-strength", "1e30", "<= 1"),
    ("synthesize", "--pace", "0", ">= 0.1"), ("synthesize", "--pace", "1e9", "<= 10"),
    ("build-engines", "--pitch-scale", "-1", ">= 0"), ("synthesize", "--pitch-shift", "-5000", ">= -1000"),
    ("synthesize", "--pitch-shift", "nan", "finite"),
    ("synthesize", "--batch-size", str(2**31), "<= 2147483647"), ("build-engines", "--max-batch", str(2**31), "<="),
    ("serve", "--http-port", "0", ">= 1"),
    ("synthesize", "--device", "tpu", "use cpu, cuda or cuda:N"), ("bench", "--device", "tpu", "use cpu"),
])
def test_numbers_and_devices_that_cannot_work_are_refused_at_parse_time(tmp_path, capsys, command, flag, value,
                                                                        message):
    required = {"synthesize": ["-i", "x.txt", "-o", str(tmp_path / "o"), "--backend", "eager"],
                "build-engines": ["-o", str(tmp_path / "o")], "serve": ["--model-repository", str(tmp_path / "o")]}
    with pytest.raises(SystemExit) as info:
        main([command, *required.get(command, []), f"{flag}={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and message in err, err
    assert not (tmp_path / "o").exists()


def test_cuda_without_a_gpu_is_refused_saying_what_to_use(tmp_path, capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip("PyTorch sees a CUDA GPU here")
    with pytest.raises(SystemExit):
        main(["synthesize", "-i", "x.txt", "-o", str(tmp_path / "o"), "--device", "cuda"])
    err = capsys.readouterr().err
    assert "'cuda': PyTorch sees no CUDA GPUs here; use --device cpu" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("extra,message", [
    (["--chunk-frames", "8"], "--chunk-frames only acts with --stream"),
    (["--context-frames", "4"], "--context-frames only acts with --stream"),
    (["--tacotron2", "other.h5"], "--tacotron2 other.h5: the engines in"),
    (["--vocoder", "hifigan"], "--vocoder hifigan: the engines in"),
    (["--fastpitch", "other.h5"], "--fastpitch other.h5: the engines in"),
    (["--acoustic", "fastpitch"], "--acoustic fastpitch: the engines in"),
    (["--demo-size", "small"], "--demo-size small: not with --engine-dir"),
    (["--precision", "fp16"], "--precision fp16: not with --engine-dir (the engines run the precision they were"),
])
def test_synthesize_flags_that_would_be_ignored_are_refused(built, tmp_path, capsys, extra, message):
    assert synthesize(built, tmp_path, *extra) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_bench_concurrency_without_a_server_is_refused(capsys):
    assert main(["bench", "--demo-size", "small", "--concurrency", "1,2"]) == 2
    assert "--concurrency only acts with --triton-url" in capsys.readouterr().err
