"""The README written at the top of an exported model repository: what each model expects and returns."""

from __future__ import annotations

from typing import Any


def repository_readme(facts: Any, options: Any) -> str:
    from trtnet.runtime.longform import DEFAULT_CLAUSE_PAUSE_MS as CLAUSE_MS, DEFAULT_SENTENCE_PAUSE_MS as SENTENCE_MS
    kind = ("one instance per GPU (`KIND_GPU`)" if facts.kind == "engine"
            else f"{options.instances} CPU instance(s) (`KIND_CPU`)")
    pcm = ("float32, as synthesized (not peak-normalised; roughly in [-1, 1])" if options.audio_dtype == "float32"
           else "int16 PCM: round(clip(audio, -1, 1) * 32767), not peak-normalised")
    return f"""# trtnet model repository

Written by `trtnet export-triton`; serve it with `trtnet serve` or any Triton Inference Server
(`tritonserver --model-repository <this directory>`) whose Python can `import trtnet`.

## `trtnet_tts` (Python backend, dynamic batching)

Runs trtnet's Tacotron 2 + WaveGlow pipeline ({facts.description}) on each dynamic batch;
{kind}; `max_batch_size` {facts.max_batch}; queue delay {options.max_queue_delay_us} µs.

| input | type | shape per request | |
|---|---|---|---|
| `TEXT` | TYPE_STRING (UTF-8) | [1, 1] | one line of any length: split into sentences (then clauses, words) within the text limit ({facts.max_text_len} tokens) and the step cap, as `trtnet synthesize` splits a line |
| `GATE_THRESHOLD` | TYPE_FP32 | [1, 1], optional | stop when sigmoid(gate) > this, in (0, 1) |
| `SIGMA` | TYPE_FP32 | [1, 1], optional | WaveGlow noise scale, ≥ 0 |
| `DENOISER_STRENGTH` | TYPE_FP32 | [1, 1], optional | ≥ 0; 0 = off |
| `SEED` | TYPE_INT64 | [1, 1], optional (default 0) | keys the request's fed randomness (prenet masks, WaveGlow z) |

Omitted settings take the engines' build defaults (or the model configs').

| output | type | shape | |
|---|---|---|---|
| `AUDIO` | {'TYPE_FP32' if options.audio_dtype == 'float32' else 'TYPE_INT16'} | [1, samples] | this request's audio only: each piece trimmed to its frames · {facts.hop} samples, pieces joined with pauses ({SENTENCE_MS:g} ms after a sentence, {CLAUSE_MS:g} ms after a clause), {facts.sampling_rate} Hz mono, {pcm} |
| `MEL_LENGTH` | TYPE_INT32 | [1, 1] | mel frames before the stop frame (summed over the pieces; = samples / {facts.hop} for a one-piece TEXT) |

The pieces of requests with the same settings share ragged batches; every item equals its own single run. With fed
randomness (engines built with `--dropout input --noise input`, or eager with those flags), a request equals
`trtnet synthesize` of a one-line file with `--seed SEED --normalize none --sample-format float32`.

A bad request (empty text, more than one line, a wrong data type, a missing `TEXT`, a setting out
of range, an unknown request parameter) gets an error response naming the problem; the rest of its batch is
served.

## `trtnet_tts_stream` (Python backend, decoupled){"" if options.stream else " — not exported (--no-stream)"}

{"Sends" if options.stream else "Would send"} one request's audio chunk by chunk as trtnet's streaming synthesis makes it
(`model_transaction_policy {{ decoupled: true }}`): one response per chunk, then an empty response flagged
`TRITONSERVER_RESPONSE_COMPLETE_FINAL`. Clients use gRPC streaming (`tritonclient.grpc`: `start_stream(callback)`,
`async_stream_infer`); `trtnet synthesize --triton-url HOST:GRPC_PORT --stream` writes each WAV as its chunks
arrive. No dynamic batching (`max_batch_size` 1, request tensors [1, 1] as above): each of its
{options.instances} instance(s) streams one request at a time, so concurrent streams beyond that queue.

Inputs: those of `trtnet_tts`, plus

| input | type | shape per request | |
|---|---|---|---|
| `CHUNK_FRAMES` | TYPE_INT32 | [1, 1], optional (default 32) | decoder steps per chunk, 1..4096 |

| output | type | shape | |
|---|---|---|---|
| `AUDIO` | {'TYPE_FP32' if options.audio_dtype == 'float32' else 'TYPE_INT16'} | [1, samples] | the chunk's samples, {pcm} |
| `CHUNK_INDEX` | TYPE_INT32 | [1, 1] | 0, 1, ... within the request |
| `FINAL` | TYPE_BOOL | [1, 1] | true on the request's last chunk (its audio may be empty) |

The chunks concatenate to `trtnet_tts`'s `AUDIO` for the same request (within 1e-4 of its peak with fed
randomness). First audio waits for 1 + the postnet, vocoder and denoiser contexts of decoded frames (47 with
WaveGlow, 31 with HiFi-GAN), so a line shorter than that comes as one chunk. A bad request gets one error
response (flagged final) naming the problem; the stream goes on serving the next request.
"""
