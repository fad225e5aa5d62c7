"""trtnet bench: the in-engine loop vs the per-step host loop (one engine call per frame) vs PyTorch, in DLE's table.

Percentiles follow DLE's rule (the max of the lowest p % of the sorted latencies, not interpolated), so with
few iterations p90 can be below the average; use --iterations ≥ 10 for a meaningful p90.

Rows: engine-loop / engine-step (with --engine-dir, on a GPU that runs the engines), eager-loop / eager-step
(the trtnet eager twin, same networks), *-stream (streaming synthesis over decoder-chunk, or decoder-step in an
engine directory without it: adds TTFA and the per-chunk real-time margin), and the PyTorch reference: eager
(pytorch), its decoder step replayed as a CUDA graph (pytorch-graph), or compiled by Inductor and replayed
(pytorch-compile); the last two need a CUDA GPU.
Whatever can't run here is listed as
skipped with the reason.  Warm-up iterations are excluded."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .argtypes import DENOISER_STRENGTH, NON_NEGATIVE_INT, POSITIVE_INT, SIGMA, device
from .common import add_emulate_arg, add_model_args, add_text_args, check_emulate, resolve_sources, vocoder_arch
from .flag_checks import refuse_unused
from .triton_client import CONCURRENCY, add_triton_args, add_triton_stream_arg, bench_remote

log = logging.getLogger("trtnet.bench")
BACKENDS = ("engine-loop", "engine-step", "engine-stream", "eager-loop", "eager-step", "eager-stream", "pytorch",
            "pytorch-graph", "pytorch-compile")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--engine-dir", default=None, help="engines built by build-engines (enables engine rows; default: none)")
    add_emulate_arg(p)
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help=f"comma list from {','.join(BACKENDS)} (default: all; rows that cannot run say why)")
    p.add_argument("-bs", "--batch-size", type=POSITIVE_INT, action="append", default=None,
                   help="batch size, repeatable (default: 1)")
    p.add_argument("--iterations", type=POSITIVE_INT, default=10,
                   help="measured iterations (default 10); pNN = the max of the lowest NN%% of the latencies "
                        "(DLE's rule, not interpolated), so fewer than 10 iterations make p90 meaningless")
    p.add_argument("--warmup", type=NON_NEGATIVE_INT, default=2, help="warm-up iterations, excluded (default 2)")
    p.add_argument("--device", type=device, default="cpu", help="torch device for eager and PyTorch rows: cpu, cuda (default cpu)")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                   help="eager / PyTorch precision (default fp32; engines run the precision they were built with)")
    p.add_argument("--text", default=None, help="input text (default: DLE's 128-character benchmark sentence)")
    add_text_args(p)
    p.add_argument("--sigma", type=SIGMA, default=0.6, help="WaveGlow sigma (default 0.6, DLE test_infer)")
    p.add_argument("--denoiser-strength", type=DENOISER_STRENGTH, default=0.01,
                   help="denoiser strength (default 0.01; 0 = off)")
    p.add_argument("--chunk-frames", type=POSITIVE_INT, default=32,
                   help="*-stream rows: decoder steps per chunk (default 32); those rows add TTFA (time to the first "
                        "audio chunk), TTFA / total latency and the least per-chunk real-time margin (chunk audio "
                        "seconds ÷ its compute seconds)")
    p.add_argument("--readback-every", type=POSITIVE_INT, default=16,
                   help="pytorch-graph / pytorch-compile: read the decoder's stop flag back every N steps (default 16; "
                        "each read synchronises the device, and up to N-1 steps run past the stop, reported as "
                        "overrun_steps; 1 = DLE's loop exactly)")
    p.add_argument("--json", default=None, help="also write the rows and context to this JSON file (default: none)")
    add_triton_args(p)
    p.add_argument("--concurrency", default=None,
                   help=f"with --triton-url: concurrent clients per level, a comma list (default {CONCURRENCY}); each "
                        "sends "
                        "--warmup then --iterations requests")
    add_triton_stream_arg(p)


def run(args: argparse.Namespace) -> int:
    from trtnet.runtime.stats import format_table, to_json
    from trtnet.runtime.text import DEFAULT_TEXT
    from .bench_rows import collect_rows
    refuse_unused(args, "--triton-url", bool(args.triton_url), {"--concurrency": None})
    if args.json:
        from trtnet.files import check_writable
        check_writable(Path(args.json))          # where the rows go, before they are measured
    if args.triton_url:
        return bench_remote(args)
    if args.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        read_build_config(Path(args.engine_dir))     # index and sidecars: an error before any work, never a skip
    if args.stream:
        raise ValueError("--stream is for --triton-url (the trtnet_tts_stream model); local streaming rows are "
                         "--backends eager-stream / engine-stream")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"unknown backends {unknown}; choose from {BACKENDS}")
    log.info("bench: rows %s; batch size(s) %s; per row and batch size: %d measured iteration(s) after %d warm-up; "
             "eager/PyTorch rows on %s in %s%s; vocoder %s", ",".join(backends),
             " and ".join(map(str, args.batch_size or [1])), args.iterations,
             args.warmup, args.device, args.precision, f"; engines in {args.engine_dir}" if args.engine_dir else "",
             vocoder_arch(args))
    sources = resolve_sources(args)
    from .progress import network_progress
    with network_progress("bench") as hook:
        rows, skipped, context = collect_rows(args, backends, sources, args.text or DEFAULT_TEXT, hook)
    print(format_table(rows) if rows else "(no rows ran)")
    for reason in skipped:
        print(f"skipped: {reason}")
    if check_emulate(args):
        print("note: '(emulated)' rows time the TensorRT emulator (the interpreter on this CPU), not engine speed")
    print("context: " + ", ".join(f"{k}={v}" for k, v in context.items()))
    if args.json:
        from trtnet.files import atomic_write_bytes
        atomic_write_bytes(Path(args.json), (to_json(rows, skipped=skipped, **context) + "\n").encode())
    return 0
