"""Client of the decoupled ``trtnet_tts_stream`` model over gRPC streaming (``tritonclient.grpc``): audio chunks
of one request as the server sends them; and a streaming load generator reporting TTFA (time to the first audio
chunk) beside the total latency of each request."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

from .client import LoadResult, TritonRequestError, TTSClient, run_clients

STREAM_MODEL = "trtnet_tts_stream"


@dataclass
class Chunk:
    index: int                # 0, 1, ... within the request
    audio: np.ndarray         # float32 or int16 (the export's audio dtype)
    final: bool
    arrived_s: float          # seconds since the request was sent


class StreamClient:
    """One gRPC stream to ``trtnet_tts_stream``, reused request after request (one in flight at a time); not
    shared between threads.  Each wait for a response is bounded by ``timeout_s``."""

    def __init__(self, url: str, *, model: str = STREAM_MODEL, timeout_s: float = 120.0):
        self.base = TTSClient(url, "grpc", model=model, timeout_s=timeout_s)
        self.model, self.timeout_s = model, timeout_s
        self._responses: queue.Queue = queue.Queue()
        self._next_id = 0
        self.base.client.start_stream(callback=lambda result, error: self._responses.put((result, error)))

    def parameters(self) -> dict[str, str]:
        return self.base.parameters()

    def stream(self, text: str, *, chunk_frames: int | None = None, **settings: Any) -> Iterator[Chunk]:
        """The request's chunks in order, as they arrive; TritonRequestError with the server's message (the stream
        stays usable for the next request)."""
        inputs = self.base.inputs(text, **settings)
        if chunk_frames is not None:
            x = self.base.mod.InferInput("CHUNK_FRAMES", [1, 1], "INT32")
            x.set_data_from_numpy(np.array([[chunk_frames]], np.int32))
            inputs.append(x)
        return self.send(inputs)

    def send(self, inputs: list) -> Iterator[Chunk]:
        self._drain()
        self._next_id += 1
        request_id = str(self._next_id)
        t0 = time.perf_counter()
        try:
            self.base.client.async_stream_infer(self.model, inputs, request_id=request_id)
        except self.base._error as e:
            raise TritonRequestError(e.message()) from None
        return self._chunks(request_id, t0)

    def _chunks(self, request_id: str, t0: float) -> Iterator[Chunk]:
        expected = 0
        while True:
            try:
                result, error = self._responses.get(timeout=self.timeout_s)
            except queue.Empty:
                raise TritonRequestError(f"no response from {self.model} within {self.timeout_s:g} s "
                                         f"(request {request_id}, after {expected} chunk(s))") from None
            if error is not None:
                raise TritonRequestError(error.message() if hasattr(error, "message") else str(error))
            got = result.get_response().id
            if got.isdigit() and int(got) < int(request_id):
                continue                  # a late chunk of an abandoned earlier request on this stream
            if got != request_id:
                raise TritonRequestError(f"response for request {got!r} while waiting for {request_id!r}")
            index = int(result.as_numpy("CHUNK_INDEX").reshape(-1)[0])
            if index != expected:
                raise TritonRequestError(f"chunk {index} arrived where chunk {expected} was due")
            final = bool(result.as_numpy("FINAL").reshape(-1)[0])
            yield Chunk(index, result.as_numpy("AUDIO")[0], final, time.perf_counter() - t0)
            expected += 1
            if final:
                return

    def _drain(self) -> None:
        """Responses already queued for an abandoned request (its iterator not run to the end) are dropped; later
        ones are skipped by their request id."""
        while True:
            try:
                self._responses.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        try:
            self.base.client.stop_stream()
        finally:
            self.base.close()


@dataclass
class StreamLoadResult(LoadResult):
    ttfa_s: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        """LoadResult's row plus TTFA avg / p50 / p90 (ms) and the mean TTFA / total latency."""
        from trtnet.runtime.stats import dle_percentile
        ttfa = [x * 1e3 for x in self.ttfa_s] or [float("nan")]
        frac = [a / b for a, b in zip(self.ttfa_s, self.latencies_s) if b > 0] or [float("nan")]
        return {**super().row(), "ttfa_avg_ms": float(np.mean(ttfa)),
                **{f"ttfa_p{p}_ms": dle_percentile(ttfa, p) for p in (50, 90)}, "ttfa_fraction": float(np.mean(frac))}


def run_stream_load(url: str, texts: Sequence[str], concurrency: int, requests_per_client: int, *, warmup: int = 1,
                    sampling_rate: int, chunk_frames: int | None = None, timeout_s: float = 120.0,
                    **settings: Any) -> StreamLoadResult:
    """``concurrency`` streaming clients, each ``warmup`` untimed then ``requests_per_client`` timed requests;
    per request: TTFA (first chunk with audio) and total latency (final chunk)."""
    result = StreamLoadResult(concurrency)
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def one(client: StreamClient, text: str) -> tuple[float, float, int] | str:
        t = time.perf_counter()
        first, n = None, 0
        try:
            for c in client.stream(text, chunk_frames=chunk_frames, **settings):
                if first is None and c.audio.size:
                    first = time.perf_counter() - t
                n += c.audio.size
        except TritonRequestError as e:
            return str(e)
        total = time.perf_counter() - t
        return (total if first is None else first), total, n

    def worker(k: int) -> None:
        client = StreamClient(url, timeout_s=timeout_s)
        try:
            for i in range(warmup):
                one(client, texts[(k + i) % len(texts)])
            start.wait()
            for i in range(requests_per_client):
                r = one(client, texts[(k + i) % len(texts)])
                with lock:
                    if isinstance(r, str):
                        result.errors.append(r)
                    else:
                        result.ttfa_s.append(r[0])
                        result.latencies_s.append(r[1])
                        result.audio_s += r[2] / sampling_rate
        finally:
            client.close()

    result.wall_s = run_clients(worker, concurrency, start, timeout_s * (warmup + 1),
                                timeout_s * (requests_per_client + 1))
    return result
