"""trtnet synthesize --stream: the WAVs equal the unstreamed run's (--normalize none), ``-o -`` writes the same
samples as raw 16-bit PCM to stdout (messages on stderr), a WAV is valid after every chunk, and flag combinations
streaming cannot honour are errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

from trtnet.runtime.wav import read_wav
from trtnet.runtime.wav_stream import WavStream
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
COMMON = ["--backend", "eager", "--demo-size", "small", "--vocoder", "hifigan", "--dropout", "input",
          "--max-decoder-steps", "120", "--denoiser-strength", "0.05", "--gate-threshold", "0.9999"]


@pytest.fixture
def lines(tmp_path):
    f = tmp_path / "l.txt"
    f.write_text("A short line for streaming out loud.\nAnd a second one, a little longer than the first.\n")
    return f


def test_streamed_wavs_and_raw_stdout_equal_the_unstreamed_run(lines, tmp_path, capsysbinary):
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "a"), *COMMON, "--sample-format", "float32",
                 "--normalize", "none"]) == 0
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "s"), *COMMON, "--sample-format", "float32",
                 "--stream", "--chunk-frames", "3"]) == 0
    capsysbinary.readouterr()
    assert main(["synthesize", "-i", str(lines), "-o", "-", *COMMON, "--stream", "--chunk-frames", "5"]) == 0
    out = capsysbinary.readouterr()
    raw = np.frombuffer(out.out, "<i2")
    assert b"stdout  line 1" in out.err
    want = []
    for i in range(2):
        a, _ = read_wav(tmp_path / "a" / f"audio_{i}.wav")
        s, _ = read_wav(tmp_path / "s" / f"audio_{i}.wav")
        assert a.shape == s.shape and a.size > 20 * 16
        np.testing.assert_allclose(s, a, atol=1e-4 * np.abs(a).max())
        want.append(np.round(np.clip(a, -1, 1) * 32767).astype(np.int16))
    assert np.abs(raw.astype(int) - np.concatenate(want)).max() <= 1


def test_a_streamed_wav_is_valid_after_every_chunk(tmp_path):
    path = tmp_path / "x.wav"
    a = (np.sin(np.arange(900) * 0.05) * 0.5).astype(np.float32)
    for fmt in ("pcm16", "float32"):
        with open(path, "wb") as f:
            w = WavStream(f, 16000, fmt)
            assert read_wav(path)[0].size == 0
            for start in range(0, 900, 250):
                w.write(a[start:start + 250])
                got, rate = read_wav(path)
                assert rate == 16000 and got.size == min(900, start + 250)
        np.testing.assert_allclose(read_wav(path)[0], a, atol=1 / 32767)
    buf = io.BytesIO()
    WavStream(buf, 16000, raw=True).write(a[:10])
    assert buf.getvalue() == np.round(a[:10] * 32767).astype("<i2").tobytes()


@pytest.mark.parametrize("flags,message", [
    (["--stream", "--normalize", "peak"], "cannot peak-normalise"),
    (["-o", "-"], "-o - (raw PCM on stdout) needs --stream"),
    (["-o", "-", "--stream", "--batch-size", "2"], "use --batch-size 1"),
    (["-o", "-", "--stream", "--sample-format", "float32"], "raw 16-bit PCM only"),
    (["--stream", "--save-mel"], "audio only"),
])
def test_flags_streaming_cannot_honour(flags, message, lines, tmp_path, capsys):
    out = [] if "-o" in flags else ["-o", str(tmp_path / "o")]
    assert main(["synthesize", "-i", str(lines), *out, *COMMON, *flags]) == 2
    assert message in capsys.readouterr().err


def test_emulated_engines_stream_the_chunk_state_on_the_device(lines, tmp_path, monkeypatch):
    """An engine directory with decoder-chunk, run on the TensorRT emulator: the chunk loop goes through
    Session.swap (state in device buffers, masks uploaded per chunk) and gives the eager twin's stream."""
    from trtnet.runtime.session import Session
    eng = tmp_path / "eng"
    assert main(["build-engines", "--demo-size", "small", "--precision", "fp32", "--optimization-level", "0",
                 "--max-text-len", "64", "--max-decoder-steps", "120", "--vocoder", "hifigan", "--dropout", "input",
                 "-o", str(eng), "--engines", "encoder,decoder-loop,decoder-chunk,postnet,hifigan"]) == 0
    swaps = []
    original = Session.swap
    monkeypatch.setattr(Session, "swap", lambda self, pairs: (swaps.append(sorted(pairs)), original(self, pairs)))
    common = ["--split", "none", "--sample-format", "float32", "--max-decoder-steps", "120", "--gate-threshold", "0.9999",
              "--denoiser-strength", "0", "--stream", "--chunk-frames", "8"]
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "emu"), "--engine-dir", str(eng),
                 "--emulate-engines", *common]) == 0
    assert len(swaps) == 2 * (120 // 8 - 1) and "finished" in swaps[0]
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "eager"), *COMMON[:8], *common]) == 0
    for i in range(2):
        a, _ = read_wav(tmp_path / "emu" / f"audio_{i}.wav")
        b, _ = read_wav(tmp_path / "eager" / f"audio_{i}.wav")
        assert a.shape == b.shape == (120 * 16,)
        np.testing.assert_allclose(a, b, atol=1e-4 * np.abs(b).max())   # 120 interpreted FP32 steps


def test_bench_stream_rows_report_ttfa_and_the_real_time_margin(tmp_path, capsys):
    import json
    out = tmp_path / "b.json"
    assert main(["bench", "--demo-size", "small", "--vocoder", "hifigan", "--backends", "eager-stream,eager-loop",
                 "--iterations", "2", "--warmup", "1", "--chunk-frames", "8", "--json", str(out)]) == 0
    assert "TTFA ms" in capsys.readouterr().out
    rows = {r["framework"]: r for r in json.loads(out.read_text())["rows"]}
    stream, loop = rows["trtnet eager-stream"], rows["trtnet eager-loop"]
    assert stream["mels"] == loop["mels"] > 1 + 30
    assert 0 < stream["ttfa_ms"] < 1e3 * stream["latency_avg_s"] and 0 < stream["ttfa_fraction"] < 1
    assert stream["rt_margin_min"] > 0 and "ttfa_ms" not in loop
