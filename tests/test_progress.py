"""Progress: the library reports every engine load and network run through a hook (it never prints); the CLI
shows them on a terminal (tqdm on stderr) and stays quiet when stderr is a pipe.  Checked under a real
pseudo-terminal (``pty``) against the same command with pipes, for emulated engines, eager streaming and bench."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

from trtnet.tools.cli import main

CLI = [sys.executable, "-m", "trtnet.tools.cli"]


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress") / "engines"
    assert main(["build-engines", "--demo-size", "small", "-o", str(d), "--precision", "fp32",
                 "--optimization-level", "0", "--max-text-len", "64", "--max-decoder-steps", "60",
                 "--dropout", "off", "--engines", "encoder,decoder-loop,postnet,waveglow,denoiser"]) == 0
    return d


def _stderr(args: list[str], tty: bool, tmp_path, level: str = "warning") -> str:
    """Run the CLI; its stderr through a pseudo-terminal (``tty``) or a pipe; returns what stderr got."""
    env = {**os.environ, "COLUMNS": "200"}
    args = [args[0], "--log-level", level, *args[1:]]
    if not tty:
        done = subprocess.run(CLI + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env, timeout=600)
        assert done.returncode == 0, done.stderr.decode()
        return done.stderr.decode()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))   # a terminal has a size
    with open(tmp_path / "stdout", "wb") as out:
        proc = subprocess.Popen(CLI + args, stdin=subprocess.DEVNULL, stdout=out, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:                       # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def _lines(tmp_path):
    p = tmp_path / "l.txt"
    p.write_text("Hello world.\n")
    return p


def test_emulated_synthesize_shows_each_network_on_a_terminal_and_nothing_in_a_pipe(engines, tmp_path):
    args = ["synthesize", "-i", str(_lines(tmp_path)), "--engine-dir", str(engines), "--emulate-engines"]
    shown = _stderr(args + ["-o", str(tmp_path / "a")], True, tmp_path)
    for network in ("encoder", "decoder-loop", "postnet", "waveglow", "denoiser"):
        assert f"loaded {network} in" in shown, shown
    assert "line 1/1: running decoder-loop" in shown and "line 1/1: " in shown
    piped = _stderr(args + ["-o", str(tmp_path / "b")], False, tmp_path)
    assert "loaded" not in piped and "running" not in piped and "\r" not in piped, piped


def test_eager_stream_shows_chunks_on_a_terminal_and_nothing_in_a_pipe(tmp_path):
    args = ["synthesize", "-i", str(_lines(tmp_path)), "--backend", "eager", "--demo-size", "small", "--stream",
            "--chunk-frames", "4"]
    shown = _stderr(args + ["-o", str(tmp_path / "a")], True, tmp_path)
    assert "line 1/1 chunk 2" in shown and "running decoder-chunk" in shown, shown
    piped = _stderr(args + ["-o", str(tmp_path / "b")], False, tmp_path)
    assert "chunk" not in piped and "running" not in piped, piped


def test_emulated_bench_shows_its_rows_and_logs_a_row_line_for_each(engines, tmp_path, capsys):
    from trtnet.runtime.measures import fmt_seconds
    args = ["bench", "--demo-size", "small", "--engine-dir", str(engines), "--emulate-engines", "--backends",
            "engine-loop", "--iterations", "1", "--warmup", "0", "--text", "Hello world."]
    shown = _stderr(args, True, tmp_path)
    assert "trtnet engine-loop (emulated) bs 1: running decoder-loop" in shown, shown
    assert "loaded waveglow in" in shown
    piped = _stderr(args + ["--json", str(tmp_path / "bench.json")], False, tmp_path, level="info")
    assert "row: trtnet engine-loop (emulated) bs 1 fp32" in piped, "emulated rows get their row: log line too"
    assert "batch size(s) 1; per row and batch size: 1 measured iteration(s) after 0 warm-up" in piped
    assert ": running decoder-loop" not in piped and "loaded waveglow in" not in piped
    # the same line on the same engines: synthesize prints the mels and seconds the bench row reports (--split
    # none: these engines' 60-step cap would have synthesize split the line into words, joined with pauses)
    row = json.loads((tmp_path / "bench.json").read_text())["rows"][0]
    assert main(["synthesize", "-i", str(_lines(tmp_path)), "-o", str(tmp_path / "w"), "--engine-dir", str(engines),
                 "--emulate-engines", "--split", "none"]) == 0
    said = capsys.readouterr().out.split()
    mels, seconds = int(said[said.index("mels") - 1]), said[said.index("mels") + 1]
    assert (mels, seconds) == (round(row["mels"]), fmt_seconds(row["audio_seconds"])), (said, row)


def test_plain_lines_without_tqdm_and_silence_when_quiet(capsys):
    from trtnet.runtime.progress import ProgressEvent
    from trtnet.tools.progress import NetworkProgress
    plain = NetworkProgress(None, plain=True)
    plain.set_phase("line 1/2")
    plain(ProgressEvent("load", "encoder", 0.01))
    plain(ProgressEvent("start", "decoder-loop"))
    plain(ProgressEvent("end", "decoder-loop", 2.5, 1))
    plain(ProgressEvent("end", "postnet", 0.01, 1))          # short runs print no line
    err = capsys.readouterr().err.splitlines()
    assert [line.split("] ", 1)[1] for line in err] == [
        "line 1/2", "line 1/2: loaded encoder in 0.0 s", "line 1/2: decoder-loop run 1 took 2.5 s"]
    quiet = NetworkProgress(None, plain=False)
    quiet.set_phase("x")
    quiet(ProgressEvent("end", "decoder-loop", 9.0, 1))
    assert capsys.readouterr().err == "" and not quiet.active


def test_the_library_reports_runs_through_the_hook(tmp_path):
    from trtnet.engines.spec import BackendSpec, open_backend
    from trtnet.runtime.pipeline import Pipeline
    events = []
    with open_backend(BackendSpec(demo_size="small", dropout="off"), ("encoder", "decoder-loop", "postnet",
                                                                      "vocoder"), progress=events.append) as b:
        pipe = Pipeline(b.sessions, t2_config=b.t2_config, vocoder_config=b.vocoder_config, limits=b.limits,
                        settings=b.settings)
        audio = next(iter(pipe.synthesize(["Hello."]))).utterances[0].audio
    assert np.isfinite(audio).all()
    runs = [(e.kind, e.network) for e in events]
    assert runs == [(k, n) for n in ("encoder", "decoder-loop", "postnet", "waveglow") for k in ("start", "end")]
    assert all(e.seconds > 0 and e.count == 1 for e in events if e.kind == "end")
