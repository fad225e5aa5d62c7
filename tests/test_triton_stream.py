"""The decoupled ``trtnet_tts_stream`` model through a real Triton Inference Server on this CPU (eager backend,
small demo models, loopback only): over gRPC streaming a request's chunks concatenate to direct synthesis, come
in order with the final flag last and the first before the end; a bad request gets an error naming the problem
and the same stream serves the next; the CLI clients stream; no process is left after shutdown."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from trtnet.runtime.text import DEFAULT_TEXT
from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
pytest.importorskip("trtnet.serve.client")
pytest.importorskip("tritonclient.grpc")

from test_triton_serve import EAGER, _stray_processes, serving  # noqa: E402
from trtnet.serve.stream_client import StreamClient  # noqa: E402
from trtnet.serve.client import TritonRequestError  # noqa: E402

LONG = DEFAULT_TEXT          # 127 decoded frames at gate threshold 0.9 with the small demos (47 frames of lookahead)
GATE = 0.9


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    yield from serving(tmp_path_factory.mktemp("triton_stream"))


def _direct(tmp: Path, text: str, seed: int, gate: float) -> np.ndarray:
    d = tmp / f"direct_{abs(hash((text, seed, gate)))}"
    d.mkdir(exist_ok=True)
    (d / "l.txt").write_text(text + "\n")
    assert main(["synthesize", "-i", str(d / "l.txt"), "-o", str(d / "o"), *EAGER, "--seed", str(seed),
                 "--gate-threshold", str(gate), "--sample-format", "float32", "--normalize", "none",
                 "--overwrite"]) == 0
    return read_wav(d / "o" / "audio_0.wav")[0]


def test_repository_has_the_decoupled_model(served):
    _, tmp = served
    config = (tmp / "model_repository" / "trtnet_tts_stream" / "config.pbtxt").read_text()
    assert "model_transaction_policy { decoupled: true }" in config and "dynamic_batching" not in config
    assert all(f'name: "{n}"' in config for n in ("CHUNK_FRAMES", "AUDIO", "CHUNK_INDEX", "FINAL"))


def test_streamed_chunks_equal_direct_synthesis_and_come_before_the_end(served):
    server, tmp = served
    c = StreamClient(f"127.0.0.1:{server.ports.grpc}", timeout_s=120)
    try:
        t0 = time.perf_counter()
        chunks = list(c.stream(LONG, chunk_frames=16, seed=1, gate_threshold=GATE))
        total = time.perf_counter() - t0
        short = list(c.stream("Short one.", seed=2))
    finally:
        c.close()
    ref = _direct(tmp, LONG, 1, GATE)
    audio = np.concatenate([x.audio for x in chunks])
    n_frames = ref.size // 16
    assert n_frames > 47 + 16                                   # long enough for several chunks
    assert len(chunks) >= (n_frames - 47) // 16 + 1 > 1
    assert [x.index for x in chunks] == list(range(len(chunks)))
    assert [x.final for x in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[0].audio.size > 0 and chunks[0].arrived_s < chunks[-1].arrived_s <= total   # TTFA < latency
    assert audio.dtype == np.float32 and audio.shape == ref.shape
    np.testing.assert_allclose(np.clip(audio, -1, 1), ref, rtol=0, atol=1e-4 * np.abs(ref).max())
    ref_short = _direct(tmp, "Short one.", 2, 0.5)
    assert len(short) == 1 and short[0].final                  # shorter than the lookahead: one chunk
    np.testing.assert_allclose(np.clip(short[0].audio, -1, 1), ref_short, rtol=0, atol=1e-4 * np.abs(ref_short).max())


def test_bad_requests_get_errors_and_the_stream_goes_on(served):
    server, _ = served
    c = StreamClient(f"127.0.0.1:{server.ports.grpc}", timeout_s=60)
    try:
        for text, kw, fragment in [("", {}, "TEXT: the line is empty"),
                                   ("Hello.", {"chunk_frames": 0}, "CHUNK_FRAMES must be a whole number >= 1 and <= 4096, got 0"),
                                   ("Hello.", {"gate_threshold": 1.5}, "GATE_THRESHOLD must be a finite number > 0 and < 1, got 1.5")]:
            with pytest.raises(TritonRequestError) as info:
                list(c.stream(text, **kw))
            assert fragment in str(info.value), str(info.value)
        chunks = list(c.stream("Still here.", seed=3))          # the same stream serves the next request
        assert chunks[-1].final and sum(x.audio.size for x in chunks) > 0
    finally:
        c.close()


def test_cli_streams_wavs_and_benches_ttfa(served, tmp_path, capsys):
    server, _ = served
    grpc = f"127.0.0.1:{server.ports.grpc}"
    lines = tmp_path / "l.txt"
    lines.write_text("Hello world, this is a test.\nShort one.\n")
    out = tmp_path / "wavs"
    assert main(["synthesize", "--triton-url", grpc, "--stream", "-i", str(lines), "-o", str(out), "--seed", "1",
                 "--sample-format", "float32"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio_0.wav", "audio_1.wav"]
    c = StreamClient(grpc)
    try:
        want = np.concatenate([x.audio for x in c.stream("Short one.", seed=1)])
    finally:
        c.close()
    np.testing.assert_array_equal(read_wav(out / "audio_1.wav")[0], np.clip(want, -1, 1))
    assert "first audio after" in capsys.readouterr().out
    assert main(["synthesize", "--triton-url", grpc, "--triton-protocol", "http", "--stream", "-i", str(lines),
                 "-o", str(tmp_path / "x")]) == 2
    assert "served over gRPC streaming only" in capsys.readouterr().err
    assert main(["bench", "--triton-url", grpc, "--stream", "--concurrency", "1", "--iterations", "1",
                 "--warmup", "0", "--chunk-frames", "8", "--text", "Hello world."]) == 0
    text = capsys.readouterr().out
    assert "TTFA avg" in text.splitlines()[0]
    row = next(r for r in ([c.strip() for c in line.strip("|").split("|")] for line in text.splitlines())
               if r[:1] == ["1"])
    assert row[1:3] == ["1", "0"] and 0 < float(row[9]) <= float(row[3])   # TTFA ≤ latency


def test_abandoned_request_does_not_disturb_the_next(served):
    server, _ = served
    c = StreamClient(f"127.0.0.1:{server.ports.grpc}", timeout_s=60)
    try:
        first = next(iter(c.stream(LONG, chunk_frames=8, seed=1, gate_threshold=GATE)))   # left after one chunk
        assert first.index == 0 and not first.final
        chunks = list(c.stream("Short one.", seed=2))
        assert [x.index for x in chunks] == [0] and chunks[0].final and chunks[0].audio.size > 0
    finally:
        c.close()


def test_no_stream_export_leaves_the_model_out(tmp_path):
    from trtnet.serve.export import BackendFacts, ExportOptions, write_repository
    facts = BackendFacts("eager", 4, 128, 22050, 256, "eager")
    for name in ("t2.h5", "wg.h5"):
        (tmp_path / name).write_bytes(b"weights")
    spec = {"tacotron2": str(tmp_path / "t2.h5"), "waveglow": str(tmp_path / "wg.h5")}
    repo = tmp_path / "repo"
    write_repository(repo, spec, facts, ExportOptions())
    assert (repo / "trtnet_tts_stream" / "1" / "model.py").is_file()
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        write_repository(repo, spec, facts, ExportOptions())
    write_repository(repo, spec, facts, ExportOptions(stream=False), overwrite=True)
    assert sorted(p.name for p in repo.iterdir()) == [".trtnet-export.json", "README.md", "trtnet_tts"]
    assert "not exported (--no-stream)" in (repo / "README.md").read_text()


def test_shutdown_leaves_no_process(served):
    server, tmp = served
    assert len(server.processes()) >= 3                          # tritonserver + one stub per model instance
    server.stop()
    assert server.processes() == [] and _stray_processes(str(tmp)) == []
