"""Client of the ``trtnet_tts`` model over HTTP or gRPC (``tritonclient``), and a load generator in the spirit of
Triton's perf_analyzer: N concurrent clients, each a fixed number of requests, latency percentiles and
throughput in requests/s and audio-seconds/s."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

MODEL = "trtnet_tts"
PROTOCOLS = ("http", "grpc")


class TritonRequestError(RuntimeError):
    """The server answered a request with an error (its message included), or could not be reached."""


def _module(protocol: str):
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol {protocol!r}: choose from {PROTOCOLS}")
    try:
        if protocol == "http":
            import tritonclient.http as mod
        else:
            import tritonclient.grpc as mod
    except ImportError as e:
        raise ImportError(f"the Triton client is not installed ({e}); pip install 'tritonclient[http,grpc]' "
                          "(or the [serve] extra)") from None
    return mod


class TTSClient:
    """One connection to a server's ``trtnet_tts``; not shared between threads."""

    def __init__(self, url: str, protocol: str = "http", *, model: str = MODEL, timeout_s: float = 120.0):
        if "://" in url or ":" not in url:
            raise ValueError(f"Triton URL {url!r}: expected HOST:PORT (e.g. 127.0.0.1:8000 for HTTP, :8001 for gRPC)")
        self.mod, self.protocol, self.model, self.timeout_s = _module(protocol), protocol, model, timeout_s
        from tritonclient.utils import InferenceServerException
        self._error = InferenceServerException
        if protocol == "http":
            self.client = self.mod.InferenceServerClient(url, connection_timeout=timeout_s, network_timeout=timeout_s)
        else:
            self.client = self.mod.InferenceServerClient(url)

    def parameters(self) -> dict[str, str]:
        """The model's config parameters (sampling_rate, hop, audio_dtype, ...)."""
        try:
            cfg = self.client.get_model_config(self.model)
        except self._error as e:
            raise TritonRequestError(f"model {self.model}: {e.message()}") from None
        if self.protocol == "grpc":
            return {k: v.string_value for k, v in cfg.config.parameters.items()}
        return {k: v["string_value"] for k, v in cfg.get("parameters", {}).items()}

    def inputs(self, text: str | bytes, *, gate_threshold: float | None = None, sigma: float | None = None,
               denoiser_strength: float | None = None, seed: int | None = None) -> list:
        data = text.encode("utf-8") if isinstance(text, str) else text
        t = self.mod.InferInput("TEXT", [1, 1], "BYTES")
        t.set_data_from_numpy(np.array([[data]], dtype=np.object_))
        out = [t]
        for name, v in (("GATE_THRESHOLD", gate_threshold), ("SIGMA", sigma), ("DENOISER_STRENGTH", denoiser_strength)):
            if v is not None:
                x = self.mod.InferInput(name, [1, 1], "FP32")
                x.set_data_from_numpy(np.array([[v]], np.float32))
                out.append(x)
        if seed is not None:
            x = self.mod.InferInput("SEED", [1, 1], "INT64")
            x.set_data_from_numpy(np.array([[seed]], np.int64))
            out.append(x)
        return out

    def infer(self, inputs: list, parameters: dict | None = None) -> tuple[np.ndarray, int]:
        """(audio [samples], mel_length) of one request; TritonRequestError with the server's message."""
        try:
            if self.protocol == "http":
                r = self.client.infer(self.model, inputs, parameters=parameters)
            else:
                r = self.client.infer(self.model, inputs, parameters=parameters, client_timeout=self.timeout_s)
        except self._error as e:
            raise TritonRequestError(e.message()) from None
        return r.as_numpy("AUDIO")[0], int(r.as_numpy("MEL_LENGTH").reshape(-1)[0])

    def synthesize(self, text: str, **settings: Any) -> tuple[np.ndarray, int]:
        return self.infer(self.inputs(text, **settings))

    def statistics(self) -> dict[str, int]:
        """{"inference_count", "execution_count"} of the model: more inferences than executions = batches > 1."""
        s = self.client.get_inference_statistics(self.model)
        if self.protocol == "grpc":
            m = s.model_stats[0]
            return {"inference_count": int(m.inference_count), "execution_count": int(m.execution_count)}
        m = s["model_stats"][0]
        return {"inference_count": int(m["inference_count"]), "execution_count": int(m["execution_count"])}

    def close(self) -> None:
        self.client.close()


@dataclass
class LoadResult:
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    audio_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def row(self) -> dict[str, Any]:
        """Latencies in ms (pNN by DLE's rule, as ``trtnet bench``: the max of the lowest NN% of them)."""
        from trtnet.runtime.stats import dle_percentile
        lat = [x * 1e3 for x in self.latencies_s] or [float("nan")]
        ok = len(self.latencies_s)
        return {"concurrency": self.concurrency, "requests": ok + len(self.errors), "errors": len(self.errors),
                "avg_ms": float(np.mean(lat)), **{f"p{p}_ms": dle_percentile(lat, p) for p in (50, 90, 99)},
                "req_per_s": ok / self.wall_s if self.wall_s else 0.0,
                "audio_s_per_s": self.audio_s / self.wall_s if self.wall_s else 0.0}


def run_load(url: str, protocol: str, texts: Sequence[str], concurrency: int, requests_per_client: int, *,
             warmup: int = 1, sampling_rate: int, timeout_s: float = 120.0, **settings: Any) -> LoadResult:
    """``concurrency`` clients, each ``warmup`` untimed then ``requests_per_client`` timed requests (texts in
    turn); bounded in count, and each request in time by ``timeout_s``."""
    result = LoadResult(concurrency)
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker(k: int) -> None:
        client = TTSClient(url, protocol, timeout_s=timeout_s)
        try:
            for i in range(warmup):
                _try(client, texts[(k + i) % len(texts)], settings)
            start.wait()
            for i in range(requests_per_client):
                t = time.perf_counter()
                audio, err = _try(client, texts[(k + i) % len(texts)], settings)
                dt = time.perf_counter() - t
                with lock:
                    if err is None:
                        result.latencies_s.append(dt)
                        result.audio_s += audio.size / sampling_rate
                    else:
                        result.errors.append(err)
        finally:
            client.close()

    result.wall_s = run_clients(worker, concurrency, start, timeout_s * (warmup + 1),
                                timeout_s * (requests_per_client + 1))
    return result


def run_clients(worker: Any, concurrency: int, started: threading.Barrier, warmup_timeout_s: float,
                join_timeout_s: float) -> float:
    """``concurrency`` threads of ``worker(k)``; waits (bounded) at ``started`` until their warm-up is done, then for
    them to finish; returns the measured wall time after the warm-up."""
    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for th in threads:
        th.start()
    started.wait(timeout=warmup_timeout_s)
    t0 = time.perf_counter()
    for th in threads:
        th.join(join_timeout_s)
    return time.perf_counter() - t0


def _try(client: TTSClient, text: str, settings: dict) -> tuple[np.ndarray, str | None]:
    try:
        return client.synthesize(text, **settings)[0], None
    except TritonRequestError as e:
        return np.zeros(0, np.float32), str(e)
