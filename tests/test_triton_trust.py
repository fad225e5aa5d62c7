"""Serving that can be deployed and trusted, over a real Triton Inference Server on loopback (eager backend,
small demo models): an exported repository moved elsewhere serves as is (``trtnet serve --repository``); every
bad request field is HTTP 400 / gRPC INVALID_ARGUMENT naming the field, its neighbours in a batch unaffected;
abandoned requests stop; SIGKILL of ``trtnet serve`` leaves no process; a held port fails the start at once.
One server start for the whole module (they are slow)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
client_mod = pytest.importorskip("trtnet.serve.client")
grpcclient = pytest.importorskip("tritonclient.grpc")

from test_triton_serve import EAGER, _require_server, _stray_processes  # noqa: E402
from trtnet.serve.server import free_ports  # noqa: E402

LONG = ("The quick brown fox jumps over the lazy dog, again and again, while the server keeps on talking; and "
        "nobody is listening any more, because every client that asked for this long line has hung up.")


def _serve_cmd(repo: Path, http: int, grpc: int, metrics: int) -> list[str]:
    return [sys.executable, "-m", "trtnet.tools.cli", "serve", "--repository", str(repo), "--http-port", str(http),
            "--grpc-port", str(grpc), "--metrics-port", str(metrics)]


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    """Export, move the repository to another directory, and serve the moved copy with ``serve --repository``."""
    tmp = tmp_path_factory.mktemp("trust")
    _require_server(tmp)
    assert main(["export-triton", "-o", str(tmp / "exported"), *EAGER, "--max-queue-delay-us", "50000"]) == 0
    repo = tmp / "elsewhere" / "repo"
    repo.parent.mkdir()
    shutil.move(str(tmp / "exported"), str(repo))
    http, grpc, metrics = free_ports(3)
    proc = subprocess.Popen(_serve_cmd(repo, http, grpc, metrics), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        while not any(ln.startswith("try:") for ln in lines) and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.2)
        assert any(ln.startswith("try:") for ln in lines), "".join(lines)
        yield SimpleNamespace(proc=proc, repo=repo, http=http, grpc=grpc, lines=lines, tmp=tmp)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _http(port: int, model: str, inputs: list[dict]) -> tuple[int, dict]:
    body = json.dumps({"inputs": inputs}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/{model}/infer", body,
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _tensor(name: str, value) -> dict:
    dtype = {"TEXT": "BYTES", "SEED": "INT64", "CHUNK_FRAMES": "INT32"}.get(name, "FP32")
    return {"name": name, "shape": [1, 1], "datatype": dtype, "data": [value]}


def _grpc_inputs(fields: dict) -> list:
    out = []
    for name, value in fields.items():
        t = _tensor(name, value)
        x = grpcclient.InferInput(name, [1, 1], t["datatype"])
        np_type = {"BYTES": np.object_, "INT64": np.int64, "INT32": np.int32, "FP32": np.float32}[t["datatype"]]
        x.set_data_from_numpy(np.array([[value.encode() if name == "TEXT" else value]], np_type))
        out.append(x)
    return out


def test_the_moved_repository_is_self_contained_and_serves(moved):
    config = (moved.repo / "trtnet_tts" / "config.pbtxt").read_text()
    spec = json.loads(json.loads(config.split('key: "trtnet_backend" value: { string_value: ')[1].split(" } }")[0]))
    assert spec["tacotron2"] == "trtnet_tts/weights/tacotron2.h5" and not Path(spec["waveglow"]).is_absolute()
    assert (moved.repo / spec["tacotron2"]).is_file() and str(moved.tmp / "exported") not in config
    status, out = _http(moved.http, "trtnet_tts", [_tensor("TEXT", "Hello from the moved repository.")])
    assert status == 200 and np.isfinite(out["outputs"][0]["data"]).all()


BAD = [  # model, field, value, what the message must say
    ("trtnet_tts", "SIGMA", 1e30, "SIGMA must be a finite number >= 0 and <= 2"),
    ("trtnet_tts", "DENOISER_STRENGTH", 1e30, "DENOISER_STRENGTH must be a finite number >= 0 and <= 1"),
    ("trtnet_tts", "SIGMA", -0.5, "SIGMA must be a finite number >= 0 and <= 2"),
    ("trtnet_tts", "GATE_THRESHOLD", 1.5, "GATE_THRESHOLD must be a finite number > 0 and < 1"),
    ("trtnet_tts", "SEED", -1, "SEED must be a whole number >= 0"),
    ("trtnet_tts", "TEXT", "", "TEXT: the line is empty"),
    ("trtnet_tts_stream", "CHUNK_FRAMES", 0, "CHUNK_FRAMES must be a whole number >= 1 and <= 4096"),
    ("trtnet_tts_stream", "SIGMA", 1e30, "SIGMA must be a finite number >= 0 and <= 2"),
]


@pytest.mark.parametrize("model,field,value,message", BAD, ids=[f"{m[-6:]}-{f}={v}" for m, f, v, _ in BAD])
def test_a_bad_field_is_http_400_and_grpc_invalid_argument_naming_it(moved, model, field, value, message):
    fields = {"TEXT": "Hello.", field: value}
    if model == "trtnet_tts":
        status, out = _http(moved.http, model, [_tensor(k, v) for k, v in fields.items()])
        assert status == 400 and message in out["error"], (status, out)
        c = grpcclient.InferenceServerClient(f"127.0.0.1:{moved.grpc}")
        with pytest.raises(grpcclient.InferenceServerException) as info:
            c.infer(model, _grpc_inputs(fields))
    else:                                    # the decoupled model answers over a gRPC stream
        import queue
        got: queue.Queue = queue.Queue()
        c = grpcclient.InferenceServerClient(f"127.0.0.1:{moved.grpc}")
        c.start_stream(callback=lambda result, error: got.put(error))
        c.async_stream_infer(model, _grpc_inputs(fields))
        error = got.get(timeout=60)
        c.stop_stream()
        # a gRPC stream carries an error response as a message only (ModelStreamInferResponse.error_message)
        assert error is not None and message in error.message(), error
        c.close()
        return _still_serving(moved)
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT", info.value
    assert message in info.value.message()
    c.close()
    _still_serving(moved)


def _still_serving(moved) -> None:
    status, out = _http(moved.http, "trtnet_tts", [_tensor("TEXT", "Still serving."), _tensor("SEED", 3)])
    assert status == 200 and len(out["outputs"][0]["data"]) > 0


def test_a_bad_request_leaves_its_batch_neighbours_served(moved):
    results: dict[str, tuple[int, dict]] = {}
    jobs = {"bad": [_tensor("TEXT", "Bad one."), _tensor("SIGMA", 1e30)], "good": [_tensor("TEXT", "Good one.")],
            "good2": [_tensor("TEXT", "Another good one."), _tensor("SEED", 1)]}
    threads = [threading.Thread(target=lambda k=k, v=v: results.__setitem__(k, _http(moved.http, "trtnet_tts", v)))
               for k, v in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["bad"][0] == 400 and results["good"][0] == results["good2"][0] == 200, results


PROBE = "Hello world, this is a test."


def _stream_latency(port: int, text: str = PROBE, **fields) -> float:
    """Seconds until the last response of one request to the decoupled model."""
    import queue
    got: queue.Queue = queue.Queue()
    c = grpcclient.InferenceServerClient(f"127.0.0.1:{port}")
    c.start_stream(callback=lambda result, error: got.put((result, error)))
    t = time.perf_counter()
    c.async_stream_infer("trtnet_tts_stream", _grpc_inputs({"TEXT": text, **fields}), enable_empty_final_response=True)
    while True:
        result, error = got.get(timeout=120)
        assert error is None, error
        if result.get_response().parameters["triton_final_response"].bool_param:
            break
    elapsed = time.perf_counter() - t
    c.stop_stream()
    c.close()
    return elapsed


def test_abandoned_requests_stop_costing_the_next_client(moved):
    """Five clients start long streams (gate threshold 0.9999: the decoder runs to its step cap, about a minute
    each here) and hang up; the next client waits about as long as on an idle server."""
    idle = statistics.median(_stream_latency(moved.grpc) for _ in range(5))
    clients, finals = [], []
    for k in range(5):
        c = grpcclient.InferenceServerClient(f"127.0.0.1:{moved.grpc}")
        c.start_stream(callback=lambda result, error: finals.append(
            error is not None or result.get_response().parameters["triton_final_response"].bool_param))
        c.async_stream_infer("trtnet_tts_stream", _grpc_inputs({"TEXT": LONG, "SEED": k, "CHUNK_FRAMES": 8,
                                                                 "GATE_THRESHOLD": 0.9999}),
                             enable_empty_final_response=True)
        clients.append(c)
    time.sleep(1.0)
    assert not any(finals)                                  # still running when their clients go away
    for c in clients:
        c.stop_stream(cancel_requests=True)
        c.close()
    after = _stream_latency(moved.grpc)
    print(f"\nabandoned requests (trtnet_tts_stream): the probe request idle {idle:.3f} s (median of 5), after 5 "
          f"abandoned long requests {after:.3f} s")
    assert after < 2 * idle, (after, idle)


def test_sigkill_of_serve_leaves_no_process_and_the_next_start_cleans_up(moved):
    from trtnet.serve.workdir import remove_leftovers
    work = Path(next(ln for ln in moved.lines if "(log: " in ln).split("(log: ")[1].split("/server/")[0])
    assert work.is_dir() and _stray_processes(str(moved.repo))
    os.kill(moved.proc.pid, signal.SIGKILL)
    moved.proc.wait()
    deadline = time.monotonic() + 5
    while _stray_processes(str(moved.repo)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stray_processes(str(moved.repo)) == []
    assert work.is_dir() and work in remove_leftovers(work.parent) and not work.exists()


def test_a_held_port_fails_the_start_at_once_naming_it(tmp_path):
    _require_server(tmp_path)
    http, grpc, metrics = free_ports(3)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", grpc))
    holder.listen()
    try:
        t = time.monotonic()
        r = subprocess.run(_serve_cmd(tmp_path, http, grpc, metrics), capture_output=True, text=True, timeout=60)
        elapsed = time.monotonic() - t
    finally:
        holder.close()
    assert r.returncode != 0 and f"gRPC port {grpc} on 127.0.0.1 is in use" in r.stderr + r.stdout, r.stderr
    assert elapsed < 15 and "ready" not in r.stdout


def test_a_failed_start_prints_tritons_reason_and_keeps_its_log(tmp_path):
    _require_server(tmp_path)
    repo = tmp_path / "repo"
    assert main(["export-triton", "-o", str(repo), *EAGER, "--no-stream"]) == 0
    (repo / "trtnet_tts" / "weights" / "waveglow.h5").unlink()          # a repository broken after export
    r = subprocess.run(_serve_cmd(repo, *free_ports(3)), capture_output=True, text=True, timeout=300)
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "before it was ready: " in text and "waveglow.h5" in text, text
    kept = Path(text.split("its log (")[1].split(")")[0])
    assert kept.name.startswith("trtnet-serve-failed-") and "waveglow.h5" in kept.read_text()
    kept.unlink()
