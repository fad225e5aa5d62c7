"""The ``trtnet_tts`` Python-backend model: trtnet's pipeline over each dynamic batch of Triton requests.

Triton's Python backend runs ``model.py`` in a stub process with this interpreter; the generated ``model.py``
only does ``TritonPythonModel = make_model(triton_python_backend_utils)``.  Each instance opens the engine
directory (or the eager networks) once, in ``initialize``.  Per request: ``TEXT`` (one line of any length),
optional ``GATE_THRESHOLD``, ``SIGMA``, ``DENOISER_STRENGTH`` (float32) and ``SEED`` (int64, default 0); out:
``AUDIO`` (the request's own samples, float32 or int16) and ``MEL_LENGTH`` (int32, its mel frames).  A long TEXT is
split and joined as ``trtnet synthesize`` splits a line (``runtime.longform``, default pauses): AUDIO is its
pieces' audio (each trimmed to its frames · hop) with the pauses between them, MEL_LENGTH the pieces' frames.
The pieces of requests sharing settings run as ragged pipeline batches; a request's fed randomness (prenet
masks, WaveGlow z) is keyed by (its seed, line 0), so it equals ``trtnet synthesize`` of a one-line file with
that ``--seed``.
A bad request gets an error response naming the problem; the others of its batch are still served.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from trtnet.runtime import ranges
from trtnet.runtime.fed import piece_key, split_key
from trtnet.runtime.longform import LongForm
from trtnet.runtime.pipeline import InputError, Pipeline, encode_lines, item_rng
from trtnet.runtime.acoustic import text_cleaners
from trtnet.runtime.text import DEFAULT_CLEANERS, DEFAULT_FRONTEND
from trtnet.runtime.streaming import to_int16

from .portable import localize

TEXT = "TEXT"
SETTINGS = {"GATE_THRESHOLD": "gate_threshold", "SIGMA": "sigma", "DENOISER_STRENGTH": "denoiser_strength"}
SEED = "SEED"
INPUT_DTYPES = {TEXT: np.object_, **{k: np.float32 for k in SETTINGS}, SEED: np.int64}
RANGES = {"GATE_THRESHOLD": ranges.GATE_THRESHOLD, "SIGMA": ranges.SIGMA, "DENOISER_STRENGTH": ranges.DENOISER_STRENGTH,
          SEED: ranges.SEED, "CHUNK_FRAMES": ranges.CHUNK_FRAMES}


class RequestError(ValueError):
    """A request this model refuses; its message goes back in the error response (Triton INVALID_ARG: HTTP 400,
    gRPC INVALID_ARGUMENT)."""


class Cancelled(Exception):
    """Every request of the work in progress was cancelled by its client (Triton's request cancellation)."""


def check_audio(audio: np.ndarray) -> None:
    """Audio about to be sent must be finite: non-finite samples are an error, never a success."""
    bad = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
    if bad:
        raise FloatingPointError(f"the synthesized audio holds {bad} non-finite sample(s) of {np.size(audio)}; "
                                 "nothing is sent (check SIGMA / DENOISER_STRENGTH and the model weights)")


@dataclasses.dataclass(frozen=True)
class ParsedRequest:
    text: str
    ids: list[int]
    settings: tuple[float, float, float]     # gate_threshold, sigma, denoiser_strength
    seed: int


def _scalar(name: str, value: np.ndarray) -> float | int:
    arr = np.asarray(value)
    if arr.size != 1:
        raise RequestError(f"{name} must hold one value per request, got shape {list(arr.shape)}")
    v = arr.reshape(-1)[0].item()
    if isinstance(v, float) and not math.isfinite(v):
        raise RequestError(f"{name} must be {RANGES[name].describe()}, got {v}")
    return v


def _in_range(name: str, v: float | int) -> float | int:
    """``v`` if inside the shared range of ``name`` (:mod:`trtnet.runtime.ranges`); RequestError naming both."""
    try:
        return RANGES[name].check(name, v)
    except ranges.RangeError as e:
        raise RequestError(str(e)) from None


def parse_request(inputs: Mapping[str, np.ndarray], parameters: Mapping[str, Any], *,
                  defaults: tuple[float, float, float], frontend: str = DEFAULT_FRONTEND,
                  max_text_len: float = math.inf, cleaners: str = DEFAULT_CLEANERS) -> ParsedRequest:
    """Check one request's tensors and parameters; RequestError names what is wrong, expected vs actual.
    ``max_text_len``: the most tokens of TEXT (default: any, it is split into pieces); ``cleaners``: the
    acoustic model's (``runtime.acoustic.text_cleaners``)."""
    if parameters:
        raise RequestError(f"unknown request parameter(s) {sorted(parameters)}; settings are the inputs "
                           f"{', '.join([*SETTINGS, SEED])}")
    if TEXT not in inputs:
        raise RequestError(f"input {TEXT} is missing (one UTF-8 line per request)")
    text_arr = np.asarray(inputs[TEXT]).reshape(-1)
    if text_arr.size != 1:
        raise RequestError(f"{TEXT} must hold one line per request, got {text_arr.size}")
    raw = text_arr[0]
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError as e:
        raise RequestError(f"{TEXT} is not UTF-8: {e}") from None
    if "\n" in text.strip("\n"):
        raise RequestError(f"{TEXT} must be one line, got {text.count(chr(10)) + 1}")
    try:
        ids = encode_lines([text.strip("\n")], max_text_len, frontend, cleaners)[0]
    except InputError as e:
        raise RequestError(f"{TEXT}: {e}".replace("line 1 ", "the line ").replace("line 1: ", "")) from None
    values = list(defaults)     # the server's own settings, checked when it opened its models
    for i, name in enumerate(SETTINGS):
        if name in inputs:
            values[i] = float(_in_range(name, _scalar(name, inputs[name])))
    gate, sigma, strength = values
    seed = int(_in_range(SEED, _scalar(SEED, inputs[SEED]))) if SEED in inputs else 0
    return ParsedRequest(text.strip("\n"), ids, (gate, sigma, strength), seed)


class SeededPipeline(Pipeline):
    """Utterance n's fed randomness keyed by its request's seed ``seeds[n]`` and line 0 (piece k of it: by
    ``fed.piece_key(0, k)``), so it is the same whichever requests share the batch.  ``lines``: the requests
    (indices into ``seeds``) of the batch in progress."""

    seeds: Sequence[int] = ()
    lines: Sequence[int] = ()

    def utterance_rng(self, index: int, stream: str) -> np.random.Generator:
        line, part = split_key(index)
        return item_rng(self.seeds[line], piece_key(0, part), stream)

    def synthesize_batch(self, texts: Sequence[str], ids: Sequence[Sequence[int]], first_index: int = 0, *,
                         indices: Sequence[int] | None = None, labels: Sequence[str] | None = None) -> Any:
        keys = range(first_index, first_index + len(ids)) if indices is None else indices
        self.lines = sorted({split_key(k)[0] for k in keys})
        return super().synthesize_batch(texts, ids, first_index, indices=indices, labels=labels)


class _Guarded:
    """A session that asks ``cancelled()`` before each run (every stage, every streamed decoder chunk) and raises
    :class:`Cancelled` once it is true; everything else is the session's own."""

    def __init__(self, session: Any, cancelled: Callable[[], bool]):
        self._session, self._cancelled = session, cancelled

    def run(self, feeds: Any) -> Any:
        if self._cancelled():
            raise Cancelled()
        return self._session.run(feeds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def guarded(sessions: Mapping[str, Any], cancelled: Callable[[], bool]) -> dict[str, Any]:
    return {name: _Guarded(s, cancelled) for name, s in sessions.items()}


def request_longform(backend: Any, settings: Any, seeds: Sequence[int],
                     cancelled: Callable[[Sequence[int]], bool] = lambda lines: False) -> LongForm:
    """The long-form synthesis of requests with these ``seeds`` (one "line" each) under ``settings``.
    ``cancelled(lines)``: true when every request of ``lines`` (indices into ``seeds``) was cancelled; the next
    network run of a batch of only such requests raises :class:`Cancelled`."""
    pipe = SeededPipeline(guarded(backend.sessions, lambda: cancelled(pipe.lines)), t2_config=backend.t2_config,
                          vocoder_config=backend.vocoder_config, limits=backend.limits, settings=settings)
    pipe.seeds, pipe.lines = list(seeds), list(range(len(seeds)))
    return LongForm(pipe, name=lambda n: f"request {n + 1} of {len(seeds)} in this batch")


def synthesize(backend: Any, base_settings: Any, requests: Sequence[ParsedRequest],
               cancelled: Callable[[Sequence[int]], bool] = lambda rows: False) -> list[tuple[np.ndarray, int] | None]:
    """(audio float32, mel_length) per request, in order: the pieces of the requests of each distinct settings
    in ragged batches.  ``cancelled(rows)``: true when every request of ``rows`` (indices into ``requests``) was
    cancelled; a batch of pieces of only such requests stops at its next network run, they get None, and the
    other requests of their settings are synthesized again from the start (their fed randomness is keyed by their
    seeds, so the audio is the same)."""
    out: list[tuple[np.ndarray, int] | None] = [None] * len(requests)
    groups: dict[tuple[float, float, float], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.settings, []).append(i)
    for (gate, sigma, strength), rows in groups.items():
        settings = dataclasses.replace(base_settings, gate_threshold=gate, sigma=sigma, denoiser_strength=strength)
        pending = list(rows)
        while pending:
            lf = request_longform(backend, settings, [requests[i].seed for i in pending],
                                  lambda lines, p=pending: cancelled([p[n] for n in lines]))
            try:
                for u in lf.synthesize([requests[i].text for i in pending], backend.limits.max_batch):
                    out[pending[u.index]] = (u.audio, u.mel_length)
                pending = []
            except Cancelled:
                pending = [i for i in pending if out[i] is None and not cancelled([i])]
    return out


def to_dtype(audio: np.ndarray, dtype: str) -> np.ndarray:
    """float32 as synthesized (not normalised), or int16 = round(clip(audio, −1, 1) · 32767)."""
    return to_int16(audio) if dtype == "int16" else audio.astype(np.float32)


def open_from_spec(spec: Mapping[str, Any], extra: tuple[str, ...] = ()):
    """The backend (sessions, configs, limits) and settings that ``spec`` (a ``BackendSpec.to_dict()`` written by
    the export) names, with the pipeline's networks and ``extra`` ones (the streaming model's decoder-chunk)."""
    from trtnet.engines.spec import PIPELINE, BackendSpec, open_backend
    backend = open_backend(BackendSpec.from_dict(spec), PIPELINE + tuple(extra))
    return backend, backend.settings


def make_model(pb_utils: Any) -> type:
    """The TritonPythonModel class over the stub's ``triton_python_backend_utils``."""

    class TritonPythonModel:
        def initialize(self, args: dict[str, str]) -> None:
            config = json.loads(args["model_config"])
            params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
            spec = localize(json.loads(params["trtnet_backend"]), args["model_repository"])
            self.audio_dtype = params.get("audio_dtype", "float32")
            if args.get("model_instance_kind") == "GPU":          # engines: one instance per GPU
                _set_cuda_device(int(args["model_instance_device_id"]))
            else:
                count = sum(int(g.get("count", 1)) for g in config.get("instance_group", [])) or 1
                _torch_threads(max(1, (os.cpu_count() or 1) // count))
            self.backend, self.settings = open_from_spec(spec)
            s = self.settings
            self.defaults = (s.gate_threshold, s.sigma, s.denoiser_strength)

        def execute(self, requests: list) -> list:
            parsed: list[ParsedRequest | None] = []
            errors: list[tuple[str, str] | None] = []          # (message, TritonError code name)
            for request in requests:
                try:
                    if is_cancelled(request):
                        raise Cancelled()
                    inputs = {name: _input(pb_utils, request, name) for name in INPUT_DTYPES}
                    inputs = {k: v for k, v in inputs.items() if v is not None}
                    parsed.append(parse_request(inputs, json.loads(request.parameters() or "{}"),
                                                defaults=self.defaults, frontend=self.settings.text_frontend,
                                                cleaners=text_cleaners(getattr(self.backend, "t2_config", None))))
                    errors.append(None)
                except RequestError as e:
                    parsed.append(None)
                    errors.append((str(e), "INVALID_ARG"))
                except Cancelled:
                    parsed.append(None)
                    errors.append(CANCELLED)
            valid = [i for i, p in enumerate(parsed) if p is not None]
            results: dict[int, tuple[np.ndarray, int] | None] = {}
            try:
                results = dict(zip(valid, synthesize(self.backend, self.settings, [parsed[i] for i in valid],
                                                     lambda rows: all(is_cancelled(requests[valid[r]])
                                                                      for r in rows))))
            except Exception as e:  # noqa: BLE001 - every request of the batch learns why
                for i in valid:
                    errors[i] = (f"synthesis failed: {type(e).__name__}: {e}", "INTERNAL")
            responses = []
            for i in range(len(requests)):
                if errors[i] is None and results.get(i) is None:
                    errors[i] = CANCELLED
                if errors[i] is None:
                    audio, mel_length = results[i]
                    try:
                        check_audio(audio)
                    except FloatingPointError as e:
                        errors[i] = (str(e), "INTERNAL")
                if errors[i] is not None:
                    responses.append(pb_utils.InferenceResponse(output_tensors=[],
                                                                error=triton_error(pb_utils, *errors[i])))
                    continue
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    pb_utils.Tensor("AUDIO", to_dtype(audio, self.audio_dtype)[None, :]),
                    pb_utils.Tensor("MEL_LENGTH", np.array([[mel_length]], np.int32))]))
            return responses

        def finalize(self) -> None:
            self.backend.close()

    return TritonPythonModel


CANCELLED = ("cancelled by the client", "CANCELLED")


def triton_error(pb_utils: Any, message: str, code: str) -> Any:
    """``pb_utils.TritonError(message, code)``: INVALID_ARG (HTTP 400, gRPC INVALID_ARGUMENT), CANCELLED or
    INTERNAL (HTTP 500); a stub without error codes gets the message alone."""
    value = getattr(pb_utils.TritonError, code, None)
    return pb_utils.TritonError(message) if value is None else pb_utils.TritonError(message, value)


def is_cancelled(request: Any) -> bool:
    """Whether the client of ``request`` (or its response sender) has gone away; False where the stub's Triton
    predates request cancellation."""
    probe = getattr(request, "is_cancelled", None)
    return bool(probe()) if probe is not None else False


def _input(pb_utils: Any, request: Any, name: str) -> np.ndarray | None:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy()


def _torch_threads(n: int) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


def _set_cuda_device(device_id: int) -> None:
    from cuda.bindings import runtime as cudart
    err, = cudart.cudaSetDevice(device_id)
    if int(err) != 0:
        raise RuntimeError(f"cudaSetDevice({device_id}) failed: {err}")

