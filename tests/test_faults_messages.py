"""Messages that say what is wrong, and failures that leave nothing behind and come before the expensive work:
paths of the wrong kind (directories, FIFOs, files where directories go), a directory without a vocoder, no GPU,
addresses, a report that cannot be written, emulated engines whose weights changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SMALL = ["--demo-size", "small", "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
         "--max-decoder-steps", "60"]


@pytest.fixture(scope="module")
def h5(tmp_path_factory, weights_cache) -> dict[str, Path]:
    """Copies of the small demo .h5 files (this module edits one)."""
    d = tmp_path_factory.mktemp("h5")
    lines = d / "l.txt"
    lines.write_text("hello.\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(d / "o"), "--backend", "eager", "--demo-size", "small"]) == 0
    out = {}
    for arch in ("tacotron2", "waveglow"):
        out[arch] = d / f"{arch}.h5"
        shutil.copy(weights_cache / "demo" / f"{arch}_demo_small.h5", out[arch])
    return out


@pytest.fixture(scope="module")
def encoder_only(tmp_path_factory, h5) -> Path:
    out = tmp_path_factory.mktemp("enc") / "engines"
    assert main(["build-engines", *SMALL, "--tacotron2", str(h5["tacotron2"]), "--engines", "encoder",
                 "-o", str(out)]) == 0
    return out


def test_a_weights_path_that_is_a_directory_or_a_fifo_is_named_as_such(tmp_path, capsys):
    (tmp_path / "dir.h5").mkdir()
    os.mkfifo(tmp_path / "fifo.h5")
    for name, what in (("dir.h5", "is a directory, not the tacotron2 weights file"),
                       ("fifo.h5", "is not a regular file")):
        assert main(["build-engines", "--tacotron2", str(tmp_path / name), "--engines", "encoder",
                     "-o", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert f"{tmp_path / name}: {what}" in err and "no such file" not in err
    assert not (tmp_path / "o").exists()


def test_a_cache_that_is_a_file_is_not_needed_for_h5_inputs_and_named_otherwise(h5, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    cache.write_text("not a directory")
    monkeypatch.setenv("TRTNET_CACHE", str(cache))
    lines = tmp_path / "l.txt"
    lines.write_text("hello.\n")
    base = ["synthesize", "-i", str(lines), "--backend", "eager", "--demo-size", "small"]
    assert main([*base, "-o", str(tmp_path / "a"), "--tacotron2", str(h5["tacotron2"]),
                 "--waveglow", str(h5["waveglow"])]) == 0
    assert main([*base, "-o", str(tmp_path / "b")]) == 2                   # the demo needs the cache
    assert f"{cache}: the weights cache is not a directory" in capsys.readouterr().err


def test_a_fifo_plan_is_not_an_empty_plan(encoder_only, tmp_path, capsys):
    d = tmp_path / "e"
    shutil.copytree(encoder_only, d)
    (d / "encoder.plan").unlink()
    os.mkfifo(d / "encoder.plan")
    assert main(["inspect", str(d / "encoder.plan")]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err and "empty plan" not in err


def test_a_directory_without_a_vocoder_says_so(encoder_only, tmp_path, capsys):
    lines = tmp_path / "l.txt"
    lines.write_text("hello.\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--engine-dir", str(encoder_only),
                 "--emulate-engines"]) == 2
    err = capsys.readouterr().err
    assert f"{encoder_only} holds no vocoder" in err and "exactly one" not in err
    assert not (tmp_path / "o").exists()


def test_verify_without_a_gpu_gives_the_reason_not_a_driver_version(encoder_only, capsys):
    from trtnet.runtime.gpu import engine_runtime_status
    if engine_runtime_status()[0]:
        pytest.skip("this machine runs TensorRT engines")
    assert main(["verify", "--demo-size", "small", "--engine-dir", str(encoder_only)]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU found" in err and "driver version" not in err and "--emulate-engines" in err


def test_an_unknown_compute_capability_has_no_hopper_hint_unless_it_is_hopper(tmp_path, capsys):
    assert main(["build-engines", "-o", str(tmp_path / "o"), "--compute-capability", "foo"]) == 2
    err = capsys.readouterr().err
    assert "--compute-capability foo" in err and "Hopper" not in err


@pytest.mark.parametrize("argv,message", [
    (["serve", "--host", "999.1.1.1"], "argument --host: '999.1.1.1' is not an IP address or host name"),
    (["synthesize", "-i", "x", "-o", "o", "--triton-url", "localhost:http"], "'localhost:http': 'http' is not"),
    (["bench", "--triton-url", "http://localhost:8000"], "is not HOST:PORT"),
])
def test_addresses_are_checked_at_parse_time(capsys, argv, message):
    with pytest.raises(SystemExit):
        main(argv)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "already in use" not in err


def test_verify_json_that_cannot_be_written_fails_before_any_check(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    report = blocker / "report.json"
    assert main(["verify", "--demo-size", "small", "--json", str(report)]) == 2
    out, err = capsys.readouterr()
    assert f"'{report}'" in err and "tmp-" not in err and "checks:" not in out


def test_emulated_engines_with_changed_weights_fail_before_the_eager_checks(h5, tmp_path, capsys):
    weights = tmp_path / "t2.h5"
    shutil.copy(h5["tacotron2"], weights)
    d = tmp_path / "e"
    assert main(["build-engines", *SMALL, "--tacotron2", str(weights), "--engines", "encoder", "-o", str(d)]) == 0
    with open(weights, "ab") as f:
        f.write(b"\0")                                     # the weights the sidecar records changed
    capsys.readouterr()
    assert main(["verify", "--demo-size", "small", "--engine-dir", str(d), "--emulate-engines"]) == 2
    out, err = capsys.readouterr()
    assert f"cannot emulate {d / 'encoder.plan'}" in err and "differs" in err and "eager (FP32)" not in out


def test_a_server_that_cannot_be_reached_is_named_by_its_flag(tmp_path, capsys):
    lines = tmp_path / "l.txt"
    lines.write_text("hello.\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--triton-url", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--triton-url 127.0.0.1:1: cannot reach a server there (Connection refused)" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [["bench", "--backends", "eager-loop", "--json"], ["verify", "--plot"]])
def test_a_report_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    target = blocker / "out.json"
    assert main([command[0], "--demo-size", "small", *command[1:], str(target)]) == 2
    out, err = capsys.readouterr()
    assert f"'{target}'" in err and "| framework |" not in out and "checks:" not in out
