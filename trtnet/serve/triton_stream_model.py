"""The ``trtnet_tts_stream`` Python-backend model (decoupled): one request's audio sent chunk by chunk as
``Pipeline.stream`` makes it.

Inputs as ``trtnet_tts`` (``TEXT`` of any length, split as there; optional ``GATE_THRESHOLD``, ``SIGMA``, ``DENOISER_STRENGTH``, ``SEED``) plus
optional ``CHUNK_FRAMES`` (int32, decoder steps per chunk, default ``runtime.streaming.DEFAULT_CHUNK_FRAMES``).
Per chunk one response: ``AUDIO`` [1, n] (float32 or int16, as the export's ``audio_dtype``), ``CHUNK_INDEX``
[1, 1] int32 (0, 1, ...), ``FINAL`` [1, 1] bool (true on the request's last chunk); then an empty response with
``TRITONSERVER_RESPONSE_COMPLETE_FINAL``.  A bad request gets one error response (with the final flag) naming the
problem; the instance goes on serving.  No dynamic batching: each instance streams one request at a time.  The
chunks concatenate to what ``trtnet_tts`` returns for the same request (README "Streaming").
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, Mapping

import numpy as np

from trtnet.runtime.acoustic import text_cleaners
from trtnet.runtime.streaming import DEFAULT_CHUNK_FRAMES

from .portable import localize
from .triton_model import (CANCELLED, INPUT_DTYPES, Cancelled, ParsedRequest, RequestError, _in_range, _input,
                           _scalar, _set_cuda_device, _torch_threads, check_audio, is_cancelled, open_from_spec,
                           parse_request, request_longform, triton_error)

CHUNK_FRAMES = "CHUNK_FRAMES"


def chunk_frames_of(inputs: Mapping[str, np.ndarray]) -> int:
    """The request's CHUNK_FRAMES (default DEFAULT_CHUNK_FRAMES); RequestError when out of range."""
    if CHUNK_FRAMES not in inputs:
        return DEFAULT_CHUNK_FRAMES
    return int(_in_range(CHUNK_FRAMES, _scalar(CHUNK_FRAMES, inputs[CHUNK_FRAMES])))


def stream_request(backend: Any, base_settings: Any, request: ParsedRequest, chunk_frames: int, dtype: str,
                   cancelled: Callable[[], bool] = lambda: False):
    """The request's audio chunks in order (``runtime.longform.LongForm.stream``: a long TEXT's pieces one after
    another, pauses included; its fed randomness keyed by its seed); iterating raises :class:`Cancelled` before
    the next network run once ``cancelled()``."""
    gate, sigma, strength = request.settings
    settings = dataclasses.replace(base_settings, gate_threshold=gate, sigma=sigma, denoiser_strength=strength)
    lf = request_longform(backend, settings, [request.seed], lambda lines: cancelled())
    return lf.stream([request.text], 1, chunk_frames=chunk_frames, dtype=dtype)


def make_stream_model(pb_utils: Any) -> type:
    """The decoupled TritonPythonModel class over the stub's ``triton_python_backend_utils``."""
    final_flag = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL

    class TritonPythonModel:
        def initialize(self, args: dict[str, str]) -> None:
            config = json.loads(args["model_config"])
            if not pb_utils.using_decoupled_model_transaction_policy(config):
                raise pb_utils.TritonModelException("trtnet_tts_stream needs model_transaction_policy "
                                                    "{ decoupled: true } in its config.pbtxt")
            params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
            spec = localize(json.loads(params["trtnet_backend"]), args["model_repository"])
            self.audio_dtype = params.get("audio_dtype", "float32")
            if args.get("model_instance_kind") == "GPU":
                _set_cuda_device(int(args["model_instance_device_id"]))
            else:
                count = sum(int(g.get("count", 1)) for g in config.get("instance_group", [])) or 1
                _torch_threads(max(1, (os.cpu_count() or 1) // count))
            from trtnet.runtime.engine_dir import stream_decoder
            self.backend, self.settings = open_from_spec(spec, (stream_decoder(spec.get("engine_dir")),))
            s = self.settings
            self.defaults = (s.gate_threshold, s.sigma, s.denoiser_strength)

        def execute(self, requests: list) -> None:
            for request in requests:
                self._serve(request, request.get_response_sender())
            return None

        def _serve(self, request: Any, sender: Any) -> None:
            def fail(message: str, code: str) -> None:
                sender.send(pb_utils.InferenceResponse(output_tensors=[], error=triton_error(pb_utils, message, code)),
                            flags=final_flag)

            if is_cancelled(request):
                return fail(*CANCELLED)
            try:
                inputs = {name: _input(pb_utils, request, name) for name in (*INPUT_DTYPES, CHUNK_FRAMES)}
                inputs = {k: v for k, v in inputs.items() if v is not None}
                frames = chunk_frames_of(inputs)
                parsed = parse_request({k: v for k, v in inputs.items() if k != CHUNK_FRAMES},
                                       json.loads(request.parameters() or "{}"), defaults=self.defaults,
                                       frontend=self.settings.text_frontend,
                                       cleaners=text_cleaners(getattr(self.backend, "t2_config", None)))
                stream = stream_request(self.backend, self.settings, parsed, frames, self.audio_dtype,
                                        lambda: is_cancelled(request))
            except RequestError as e:
                return fail(str(e), "INVALID_ARG")
            index = 0
            try:
                for chunk in stream:
                    if not chunk.audio.size and not chunk.final:
                        continue
                    check_audio(chunk.audio)
                    sender.send(pb_utils.InferenceResponse(output_tensors=[
                        pb_utils.Tensor("AUDIO", np.ascontiguousarray(chunk.audio)[None, :]),
                        pb_utils.Tensor("CHUNK_INDEX", np.array([[index]], np.int32)),
                        pb_utils.Tensor("FINAL", np.array([[chunk.final]], np.bool_))]))
                    index += 1
            except Cancelled:
                return fail(f"cancelled by the client after {index} chunk(s)", "CANCELLED")
            except Exception as e:  # noqa: BLE001 - the client learns why its stream ended
                return fail(f"synthesis failed after {index} chunk(s): {type(e).__name__}: {e}", "INTERNAL")
            sender.send(flags=final_flag)

        def finalize(self) -> None:
            self.backend.close()

    return TritonPythonModel
