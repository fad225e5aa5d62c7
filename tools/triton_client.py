"""``synthesize --triton-url`` and ``bench --triton-url``: the client side of ``trtnet serve`` / any Triton
serving the exported ``trtnet_tts`` model; with ``--stream``, its decoupled ``trtnet_tts_stream`` over gRPC
streaming (WAVs written progressively; bench adds TTFA)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from pathlib import Path

from .argtypes import host_port

log = logging.getLogger("trtnet.triton")

CONCURRENCY = "1,4,16"          # bench --triton-url: concurrent clients per level


def add_triton_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--triton-url", type=host_port, default=None, metavar="HOST:PORT",
                   help="send the requests to a Triton server's trtnet_tts model instead of running the models here "
                        "(default: run here)")
    p.add_argument("--triton-protocol", choices=["http", "grpc"], default=None,
                   help="protocol of --triton-url (default http, or grpc with --stream: the streaming model "
                        "trtnet_tts_stream is served over gRPC streaming only; Triton's gRPC port is usually "
                        "HTTP's + 1)")


def add_triton_stream_arg(p: argparse.ArgumentParser) -> None:
    """bench's --stream (synthesize has its own, for local streaming too)."""
    p.add_argument("--stream", action="store_true",
                   help="with --triton-url: the decoupled trtnet_tts_stream model over gRPC streaming (--chunk-frames "
                        "per request); rows add TTFA, the time to the first audio chunk (default: trtnet_tts)")


def protocol(args: argparse.Namespace) -> str:
    """--triton-protocol, defaulted: grpc with --stream (which refuses http), else http."""
    stream = getattr(args, "stream", False)
    if stream and args.triton_protocol == "http":
        raise ValueError("--stream with --triton-url: the streaming model trtnet_tts_stream is decoupled, served "
                         "over gRPC streaming only; use --triton-protocol grpc and the gRPC port")
    return args.triton_protocol or ("grpc" if stream else "http")


def server_parameters(client, url: str) -> dict[str, str]:
    """The served model's parameters; a server that cannot be reached is one line naming --triton-url."""
    try:
        return client.parameters()
    except OSError as e:
        raise ConnectionError(f"--triton-url {url}: cannot reach a server there ({e.strerror or e}); start one with "
                              "trtnet serve, or check the address and port") from None


def synthesize_remote(args: argparse.Namespace) -> int:
    """One request per line, in order; the WAVs are written as by a local run."""
    from types import SimpleNamespace

    import numpy as np

    from trtnet.runtime.measures import fmt_seconds
    from trtnet.serve.client import TTSClient
    from trtnet.runtime.longform import DEFAULT_CLAUSE_PAUSE_MS, DEFAULT_SENTENCE_PAUSE_MS
    from .synth_files import _earlier_outputs, _lines, _save, output_dir
    from .flag_checks import refuse_unused
    refused = [f for f, on in (("--save-mel", args.save_mel), ("--plot", args.plot), ("--engine-dir", args.engine_dir),
                               ("--backend", args.backend), ("--batch-size", args.batch_size != 1),
                               ("--limiter", getattr(args, "limiter", "off") != "off"),
                               ("--split none", args.split != "sentence"),
                               ("--max-piece-tokens", args.max_piece_tokens is not None),
                               ("--sentence-pause-ms", args.sentence_pause_ms != DEFAULT_SENTENCE_PAUSE_MS),
                               ("--clause-pause-ms", args.clause_pause_ms != DEFAULT_CLAUSE_PAUSE_MS)) if on]
    if refused:
        raise ValueError(f"{', '.join(refused)}: not with --triton-url (the server runs the models, splits long "
                         "lines with its defaults and forms batches; it returns audio only)")
    args.triton_protocol = protocol(args)
    if args.stream:
        from .synth_stream import check_stream_args
        check_stream_args(args)
        return _synthesize_stream(args)
    refuse_unused(args, "--stream", False, {"--chunk-frames": None, "--context-frames": None})
    out = Path(args.output)
    lines = _lines(args.input)
    _earlier_outputs(out, args.overwrite)             # refused before connecting
    client = TTSClient(args.triton_url, args.triton_protocol)
    try:
        params = server_parameters(client, args.triton_url)
        rate = int(params["sampling_rate"])
        with output_dir(out, args.overwrite):
            for i, line in enumerate(lines):
                audio, mel_length = client.synthesize(line, gate_threshold=args.gate_threshold, sigma=args.sigma,
                                                      denoiser_strength=args.denoiser_strength, seed=args.seed)
                if audio.dtype == np.int16:
                    audio = audio.astype(np.float32) / 32767.0
                wav = _save(out, SimpleNamespace(index=i, audio=audio), rate, args)
                print(f"{wav}  {mel_length:5d} mels  {fmt_seconds(audio.size / rate):>6s} s  (via {args.triton_url})")
    finally:
        client.close()
    return 0


def _synthesize_stream(args: argparse.Namespace) -> int:
    """One streamed request per line, each chunk appended to its WAV (or raw PCM on stdout with -o -)."""
    import sys
    import time

    from trtnet.runtime.measures import fmt_seconds
    from trtnet.runtime.wav_stream import WavStream
    from trtnet.serve.stream_client import StreamClient
    from trtnet.files import StreamedFile
    from .synth_files import _earlier_outputs, _lines, output_dir
    raw = args.output == "-"
    out = None if raw else Path(args.output)
    lines = _lines(args.input)
    if not raw:
        _earlier_outputs(out, args.overwrite)         # refused before connecting
    client = StreamClient(args.triton_url)
    try:
        rate = int(_stream_parameters(client, args.triton_url)["sampling_rate"])
        with contextlib.nullcontext() if raw else output_dir(out, args.overwrite):
            for i, line in enumerate(lines):
                t0, first = time.perf_counter(), None
                target = None if raw else StreamedFile(out / f"audio_{i}.wav")   # renamed when complete
                writer = WavStream(sys.stdout.buffer if raw else target.file, rate,
                                   "pcm16" if raw else args.sample_format, raw=raw)
                try:
                    for c in client.stream(line, chunk_frames=args.chunk_frames, gate_threshold=args.gate_threshold,
                                           sigma=args.sigma, denoiser_strength=args.denoiser_strength,
                                           seed=args.seed):
                        if first is None and c.audio.size:
                            first = time.perf_counter() - t0
                        writer.write(c.audio)
                except BaseException as e:
                    if target is not None:
                        target.abort("interrupted" if isinstance(e, KeyboardInterrupt) else "failed")
                    raise
                if target is not None:
                    target.commit()
                else:
                    sys.stdout.buffer.flush()
                where = "stdout" if raw else out / f"audio_{i}.wav"
                print(f"{where}  line {i}  {fmt_seconds(writer.samples / rate):>6s} s  first audio after "
                      f"{1e3 * (first or 0):.0f} ms, done after {1e3 * (time.perf_counter() - t0):.0f} ms  "
                      f"(streamed via {args.triton_url})", file=sys.stderr if raw else sys.stdout, flush=True)
    finally:
        client.close()
    return 0


def _stream_parameters(client, url: str) -> dict[str, str]:
    """The streaming model's parameters (:func:`server_parameters`); a gRPC stream that cannot connect gets the
    gRPC-port hint (the usual cause: the HTTP port given for a gRPC stream)."""
    from trtnet.serve.client import TritonRequestError
    from .hints import stream_unreachable
    try:
        return server_parameters(client, url)
    except TritonRequestError as e:
        if any(m in str(e) for m in ("UNAVAILABLE", "Socket closed", "failed to connect")):
            raise stream_unreachable(e, url) from e
        raise


def concurrency_list(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise ValueError(f"--concurrency {text!r}: expected a comma list of whole numbers >= 1, e.g. 1,4,16")
    return levels


def bench_remote(args: argparse.Namespace) -> int:
    """perf_analyzer-style rows: per concurrency level, latency avg/p50/p90/p99, requests/s, audio-seconds/s; with
    --stream (trtnet_tts_stream over gRPC) also TTFA avg/p50/p90 and the mean TTFA / latency per request."""
    from trtnet.runtime.text import DEFAULT_TEXT
    from trtnet.serve.client import TTSClient, run_load
    from trtnet.serve.stream_client import STREAM_MODEL, run_stream_load
    levels = concurrency_list(args.concurrency or CONCURRENCY)
    args.triton_protocol = protocol(args)
    client = TTSClient(args.triton_url, args.triton_protocol, model=STREAM_MODEL if args.stream else "trtnet_tts")
    try:
        rate = int((_stream_parameters if args.stream else server_parameters)(client, args.triton_url)
                   ["sampling_rate"])
    finally:
        client.close()
    text = args.text or DEFAULT_TEXT
    from trtnet.runtime.stats import markdown_table
    header = ["concurrency", "requests", "errors", "avg ms", "p50 ms", "p90 ms", "p99 ms", "req/s", "audio s/s"]
    header += ["TTFA avg ms", "TTFA p50 ms", "TTFA p90 ms", "TTFA / total"] if args.stream else []
    rows, cells = [], []
    settings = {"sigma": args.sigma, "denoiser_strength": args.denoiser_strength}
    for c in levels:
        if args.stream:
            r = run_stream_load(args.triton_url, [text], c, args.iterations, warmup=args.warmup, sampling_rate=rate,
                                chunk_frames=args.chunk_frames, **settings).row()
        else:
            r = run_load(args.triton_url, args.triton_protocol, [text], c, args.iterations, warmup=args.warmup,
                         sampling_rate=rate, **settings).row()
        rows.append(r)
        cells.append([str(c), str(r["requests"]), str(r["errors"]), *(f"{r[k]:.1f}" for k in
                      ("avg_ms", "p50_ms", "p90_ms", "p99_ms")), f"{r['req_per_s']:.2f}", f"{r['audio_s_per_s']:.3f}"])
        if args.stream:
            cells[-1] += [*(f"{r[k]:.1f}" for k in ("ttfa_avg_ms", "ttfa_p50_ms", "ttfa_p90_ms")),
                          f"{r['ttfa_fraction']:.3f}"]
        log.info("row: concurrency %d: %d request(s), %d error(s), %.1f ms avg", c, r["requests"], r["errors"],
                 r["avg_ms"])
    print(markdown_table(header, cells), flush=True)
    model = f"{STREAM_MODEL}, {args.chunk_frames} frames per chunk" if args.stream else "trtnet_tts"
    print(f"context: triton {args.triton_url} ({args.triton_protocol}, {model}), {args.iterations} request(s) per "
          f"client after {args.warmup} warm-up, text {len(text)} characters, sigma {args.sigma}, denoiser "
          f"{args.denoiser_strength}; latency = until the last audio")
    if args.json:
        from trtnet.files import atomic_write_bytes
        atomic_write_bytes(Path(args.json), (json.dumps({"rows": rows, "triton_url": args.triton_url,
                                                         "protocol": args.triton_protocol, "stream": args.stream,
                                                         "text": text}, indent=1) + "\n").encode())
    return 0
