"""``synthesize --triton-url`` and ``bench --triton-url``: the client side of ``trtnet serve`` / any Triton
serving the exported ``trtnet_tts`` model."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger("trtnet.triton")


def add_triton_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--triton-url", default=None, metavar="HOST:PORT",
                   help="send the requests to a Triton server's trtnet_tts model instead of running the models here "
                        "(default: run here)")
    p.add_argument("--triton-protocol", choices=["http", "grpc"], default="http",
                   help="protocol of --triton-url (default http; Triton's gRPC port is usually HTTP's + 1)")


def synthesize_remote(args: argparse.Namespace) -> int:
    """One request per line, in order; the WAVs are written as by a local run."""
    from types import SimpleNamespace

    import numpy as np

    from trtnet.serve.client import TTSClient
    from .cmd_synthesize import _earlier_outputs, _lines, _save, _writable_dir
    refused = [f for f, on in (("--save-mel", args.save_mel), ("--plot", args.plot), ("--engine-dir", args.engine_dir),
                               ("--backend", args.backend), ("--batch-size", args.batch_size != 1)) if on]
    if refused:
        raise ValueError(f"{', '.join(refused)}: not with --triton-url (the server runs the models and forms "
                         "batches; it returns audio only)")
    out = Path(args.output)
    lines = _lines(args.input)
    earlier = _earlier_outputs(out, args.overwrite)
    client = TTSClient(args.triton_url, args.triton_protocol)
    try:
        params = client.parameters()
        rate = int(params["sampling_rate"])
        _writable_dir(out)
        for p in earlier:
            p.unlink(missing_ok=True)
        for i, line in enumerate(lines):
            audio, mel_length = client.synthesize(line, gate_threshold=args.gate_threshold, sigma=args.sigma,
                                                  denoiser_strength=args.denoiser_strength, seed=args.seed)
            if audio.dtype == np.int16:
                audio = audio.astype(np.float32) / 32767.0
            wav = _save(out, SimpleNamespace(index=i, audio=audio), rate, args)
            print(f"{wav}  {mel_length:5d} mels  {audio.size / rate:6.2f} s  (via {args.triton_url})")
    finally:
        client.close()
    return 0


def concurrency_list(text: str) -> list[int]:
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise ValueError(f"--concurrency {text!r}: expected a comma list of whole numbers >= 1, e.g. 1,4,16")
    return levels


def bench_remote(args: argparse.Namespace) -> int:
    """perf_analyzer-style rows: per concurrency level, latency avg/p50/p90/p99, requests/s, audio-seconds/s."""
    from trtnet.runtime.text import DEFAULT_TEXT
    from trtnet.serve.client import TTSClient, run_load
    levels = concurrency_list(args.concurrency)
    client = TTSClient(args.triton_url, args.triton_protocol)
    try:
        rate = int(client.parameters()["sampling_rate"])
    finally:
        client.close()
    text = args.text or DEFAULT_TEXT
    head = f"{'concurrency':>11} {'requests':>8} {'errors':>6} {'avg ms':>9} {'p50 ms':>9} {'p90 ms':>9} " \
           f"{'p99 ms':>9} {'req/s':>7} {'audio s/s':>9}"
    print(head)
    rows = []
    for c in levels:
        r = run_load(args.triton_url, args.triton_protocol, [text], c, args.iterations, warmup=args.warmup,
                     sampling_rate=rate, sigma=args.sigma, denoiser_strength=args.denoiser_strength).row()
        rows.append(r)
        print(f"{c:>11} {r['requests']:>8} {r['errors']:>6} {r['avg_ms']:>9.1f} {r['p50_ms']:>9.1f} "
              f"{r['p90_ms']:>9.1f} {r['p99_ms']:>9.1f} {r['req_per_s']:>7.2f} {r['audio_s_per_s']:>9.3f}", flush=True)
    print(f"context: triton {args.triton_url} ({args.triton_protocol}), {args.iterations} request(s) per client after "
          f"{args.warmup} warm-up, text {len(text)} characters, sigma {args.sigma}, denoiser {args.denoiser_strength}")
    if args.json:
        from trtnet.files import atomic_write_bytes
        atomic_write_bytes(Path(args.json), (json.dumps({"rows": rows, "triton_url": args.triton_url,
                                                         "protocol": args.triton_protocol, "text": text}, indent=1)
                                             + "\n").encode())
    return 0
