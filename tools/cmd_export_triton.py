"""trtnet export-triton: a Triton Inference Server model repository serving trtnet (Python-backend model
``trtnet_tts`` with dynamic batching, and the decoupled ``trtnet_tts_stream`` sending audio chunks as they are ready;
a README in the repository says what they expect and return)."""

from __future__ import annotations

import argparse
import logging

from .argtypes import POSITIVE_INT, NON_NEGATIVE_INT
from .common import add_backend_args, add_runtime_args, add_text_args, spec_from_args

log = logging.getLogger("trtnet.export_triton")


def add_export_args(p: argparse.ArgumentParser) -> None:
    """Backend and repository flags, shared with ``trtnet serve``."""
    add_backend_args(p)
    add_runtime_args(p)
    add_text_args(p)
    p.add_argument("--max-queue-delay-us", type=NON_NEGATIVE_INT, default=2000,
                   help="dynamic batching: how long a request may wait for others to join its batch (default 2000)")
    p.add_argument("--preferred-batch-size", type=POSITIVE_INT, action="append", default=None,
                   help="dynamic batching: a preferred batch size (repeatable; default none: Triton batches what "
                        "is queued, up to the max batch)")
    p.add_argument("--instances", type=POSITIVE_INT, default=1,
                   help="model instances: per GPU for --engine-dir, on the CPU for --backend eager (default 1)")
    p.add_argument("--audio-dtype", choices=["float32", "int16"], default="float32",
                   help="AUDIO output: float32 as synthesized, or int16 PCM (default float32; neither is "
                        "peak-normalised)")
    p.add_argument("--no-stream", dest="stream", action="store_false",
                   help="leave out the decoupled streaming model trtnet_tts_stream (default: export it too; it "
                        "loads its own instances of the networks, streams one request at a time per instance)")


def export_options(args: argparse.Namespace):
    from trtnet.serve.export import ExportOptions
    return ExportOptions(max_queue_delay_us=args.max_queue_delay_us,
                         preferred_batch_sizes=tuple(args.preferred_batch_size or ()), instances=args.instances,
                         audio_dtype=args.audio_dtype, stream=args.stream)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, help="model repository directory to write")
    add_export_args(p)
    p.add_argument("--overwrite", action="store_true", help="replace a trtnet_tts model already in --output (default: refuse)")


def run(args: argparse.Namespace) -> int:
    from trtnet.serve.export import MODEL, STREAM_MODEL, backend_spec, write_repository
    spec, facts = backend_spec(spec_from_args(args))
    out = write_repository(args.output, spec, facts, export_options(args), overwrite=args.overwrite)
    print(f"{out / MODEL}: {facts.description}; max batch {facts.max_batch}, {facts.sampling_rate} Hz "
          f"{args.audio_dtype} audio")
    if args.stream:
        print(f"{out / STREAM_MODEL}: decoupled, one response per audio chunk (gRPC streaming)")
    print(serve_hint(out.resolve()))
    return 0


def serve_hint(repo) -> str:
    """How to serve ``repo``: tritonserver when it is on PATH, else how to get it or let ``trtnet serve`` run it."""
    import shutil
    from .hints import TRITONSERVER
    if shutil.which("tritonserver"):
        return f"serve it: tritonserver --model-repository {repo}   (or: trtnet serve with the same flags)"
    return f"serve it: trtnet serve with the same flags; or tritonserver --model-repository {repo} ({TRITONSERVER})"
