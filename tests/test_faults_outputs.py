"""Faults around the directories trtnet writes: one writer per output directory (the engine directories' lock),
files complete or absent (streamed WAVs included), an earlier run replaced wholly or not at all, stale temp files
cleaned, write errors naming the file, and nothing left behind by a refused or failed run."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from trtnet.files import locked_dir
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
EAGER = ["--backend", "eager", "--demo-size", "small", "--dropout", "off", "--max-decoder-steps", "40"]


def synthesize(lines: Path, out: Path, *extra: str) -> int:
    return main(["synthesize", "-i", str(lines), "-o", str(out), *EAGER, *extra])


@pytest.fixture
def lines(tmp_path) -> Path:
    p = tmp_path / "l.txt"
    p.write_text("one line.\ntwo lines.\n")
    return p


def test_a_second_synthesis_into_a_busy_output_directory_fails_at_once(lines, tmp_path, capsys):
    out = tmp_path / "o"
    with locked_dir(out, "trtnet synthesize (a test)"):     # the lock is re-entrant in-process: a subprocess
        run = subprocess.run([sys.executable, "-m", "trtnet.tools.cli", "synthesize", "-i", str(lines), "-o",
                              str(out), *EAGER], capture_output=True, text=True, timeout=300)
        assert run.returncode == 2, run.stderr[-2000:]
        assert f"{out}: trtnet synthesize (a test) (pid {os.getpid()}) is writing here" in run.stderr
        assert not [p for p in out.iterdir() if p.name.startswith("audio_")]
    assert synthesize(lines, out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio_0.wav", "audio_1.wav"]   # no lock file left


def test_stale_temp_files_of_dead_writers_are_removed_from_output_directories(lines, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".audio_0.wav.tmp-{int(dead.stdout)}"
    stale.write_bytes(b"RIFF half a file")
    assert synthesize(lines, out) == 0
    assert not stale.exists() and sorted(p.name for p in out.iterdir()) == ["audio_0.wav", "audio_1.wav"]


def test_a_refused_run_leaves_no_output_directory_and_a_file_is_not_a_directory(lines, tmp_path, capsys):
    out = tmp_path / "new" / "o"
    assert synthesize(lines, out, "--batch-size", "99") == 2
    assert not out.exists()
    target = tmp_path / "a_file"
    target.write_text("x")
    assert synthesize(lines, target) == 2
    err = capsys.readouterr().err
    assert f"-o {target}: exists and is not a directory" in err and target.read_text() == "x"


def test_a_failed_build_leaves_no_directory_holding_only_a_lock(tmp_path, capsys):
    out = tmp_path / "engines"
    assert main(["build-engines", "--tacotron2", str(tmp_path / "missing.h5"), "--demo-size", "small",
                 "--engines", "encoder", "-o", str(out)]) == 2
    assert "missing.h5" in capsys.readouterr().err and not out.exists()


def _earlier_run(lines: Path, out: Path) -> dict[str, bytes]:
    assert synthesize(lines, out, "--save-mel") == 0
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_overwrite_with_an_entry_it_cannot_remove_removes_nothing(lines, tmp_path, capsys):
    out = tmp_path / "o"
    before = _earlier_run(lines, out)
    (out / "audio_5.wav").mkdir()                       # sorts after audio_0*, audio_1*: removed last on main
    (out / "audio_5.wav" / "keep").write_text("user data")
    assert synthesize(lines, out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "audio_5.wav" in err and "nothing was removed" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_overwrite_puts_the_earlier_run_back_when_one_file_cannot_be_moved(lines, tmp_path, capsys, monkeypatch):
    import trtnet.files as files
    out = tmp_path / "o"
    before = _earlier_run(lines, out)
    real = os.rename

    def rename(src, dst):
        if Path(src).name == "audio_1.wav":
            raise PermissionError(1, "Operation not permitted")
        return real(src, dst)
    monkeypatch.setattr(files.os, "rename", rename)
    assert synthesize(lines, out, "--overwrite") == 2
    err = capsys.readouterr().err
    assert f"{out / 'audio_1.wav'}" in err and "cannot be replaced" in err and "nothing was removed" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before      # nothing gone, no temp directory


class _Stream:
    """A long-form stream whose first line yields one chunk and then is interrupted."""
    pipe = SimpleNamespace(vocoder_config=SimpleNamespace(sampling_rate=22050))

    def stream(self, lines, batch_size, **kw):
        yield SimpleNamespace(line=0, audio=np.zeros(4128, np.float32), final=False)
        raise KeyboardInterrupt


def test_an_interrupted_streamed_wav_is_removed_not_left_partial_under_its_name(tmp_path, caplog):
    from trtnet.tools.synth_stream import run_stream
    out = tmp_path / "o"
    out.mkdir()
    args = SimpleNamespace(batch_size=1, chunk_frames=8, context_frames=None, sample_format="pcm16")
    with pytest.raises(KeyboardInterrupt):
        run_stream(args, _Stream(), ["a line"], out)
    assert list(out.iterdir()) == []
    assert f"{out / 'audio_0.wav'}: interrupted before it was complete" in caplog.text


@pytest.mark.parametrize("stream", [False, True])
def test_a_file_size_limit_names_the_file_and_leaves_no_partial_wav(lines, tmp_path, stream):
    assert synthesize(lines, tmp_path / "first") == 0    # the demo weights are in the cache before the limit
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "trtnet.tools.cli", "synthesize", "-i", str(lines), "-o", str(out), *EAGER,
           "--gate-threshold", "0.999999", *(["--stream", "--normalize", "none"] if stream else [])]
    limit = 800                                         # bytes: less than a 40-frame WAV (1.3 KB)

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, preexec_fn=limited,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"File too large: '{out / 'audio_0.wav'}'" in run.stderr, run.stderr[-1500:]
    assert "Traceback" not in run.stderr and not out.exists()      # nothing partial, no empty directory


def test_a_model_repository_being_written_is_not_written_by_a_second_export(tmp_path):
    repo = tmp_path / "repo"
    cmd = [sys.executable, "-m", "trtnet.tools.cli", "export-triton", "-o", str(repo), "--backend", "eager",
           "--demo-size", "small"]
    with locked_dir(repo, "trtnet export-triton (a test)"):
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert run.returncode == 2, run.stderr[-2000:]
        assert f"{repo}: trtnet export-triton (a test) (pid {os.getpid()}) is writing here" in run.stderr
        assert [p.name for p in repo.iterdir()] == [".trtnet.lock"]
    assert subprocess.run([*cmd, "--overwrite"], capture_output=True, timeout=300).returncode == 0
    assert sorted(p.name for p in repo.iterdir()) == [".trtnet-export.json", "README.md", "trtnet_tts",
                                                      "trtnet_tts_stream"]
