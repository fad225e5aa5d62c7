"""trtnet serve: export a model repository and run NVIDIA Triton Inference Server over it until SIGINT/SIGTERM.

``tritonserver`` comes from PATH, or from the nvidia-pytriton wheel installed apart (--triton-home) or in this
environment.  The server and its Python-backend stubs run in their own process group; on exit none remains."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from .argtypes import PORT, POSITIVE_INT, host
from .cmd_export_triton import add_export_args, export_options
from .common import spec_from_args

log = logging.getLogger("trtnet.serve")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_export_args(p)
    p.add_argument("--host", type=host, default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--http-port", type=PORT, default=8000, help="HTTP/REST port (default 8000)")
    p.add_argument("--grpc-port", type=PORT, default=8001, help="gRPC port (default 8001)")
    p.add_argument("--metrics-port", type=PORT, default=8002, help="Prometheus metrics port (default 8002)")
    p.add_argument("--model-repository", default=None,
                   help="export into (and keep) this directory (default: a temporary one, removed on exit)")
    p.add_argument("--repository", default=None,
                   help="serve this exported model repository as it is (trtnet export-triton -o DIR), no export; "
                        "the backend flags are then unused (default: export one from them)")
    p.add_argument("--triton-home", default=None,
                   help="where nvidia-pytriton is installed apart with numpy<2 (default $TRTNET_TRITON_HOME, else "
                        "~/.cache/trtnet/triton-server); unused when tritonserver is on PATH")
    p.add_argument("--ready-timeout", type=POSITIVE_INT, default=300, help="seconds to wait until ready (default 300)")


def run(args: argparse.Namespace) -> int:
    from trtnet.serve.export import MODEL, STREAM_MODEL, backend_spec, write_repository
    from trtnet.serve.server import Ports, ServerError, check_ports_free, start_server
    from trtnet.serve.workdir import keep_log, remove_leftovers, served_models, work_dir
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    ports = Ports(args.host, args.http_port, args.grpc_port, args.metrics_port)
    try:
        for gone in remove_leftovers():
            log.info("removed %s, left by a trtnet serve that was killed", gone)
        check_ports_free(ports)
        with work_dir() as tmp:
            if args.repository:
                repo = Path(args.repository)
                description = served_models(repo)
            else:
                repo = Path(args.model_repository) if args.model_repository else tmp / "model_repository"
                spec, facts = backend_spec(spec_from_args(args))
                write_repository(repo, spec, facts, export_options(args), overwrite=True)
                streams = f", and {STREAM_MODEL} (decoupled, gRPC streaming)" if args.stream else ""
                description = f"model {MODEL} ({facts.description}, max batch {facts.max_batch}){streams}"
            server = start_server(repo, ports, tmp / "server", home=args.triton_home)
            try:
                log.info("tritonserver (%s) starting over %s (log: %s)", server.install.origin, repo, server.log_path)
                try:
                    if not server.wait_ready(args.ready_timeout, stop.is_set):
                        log.info("interrupted while starting: stopping tritonserver")
                        return 0
                except ServerError as e:
                    raise ServerError(str(e).replace(str(server.log_path), str(keep_log(server.log_path)))) from None
                urls = ports.urls()
                print(f"ready: {description}\n"
                      f"  HTTP     {urls['http']}\n  gRPC     {urls['grpc']}\n  metrics  {urls['metrics']}\n"
                      f"try: trtnet synthesize --triton-url {urls['http']} -i lines.txt -o wavs   (Ctrl-C stops)",
                      flush=True)
                while not stop.wait(0.5):
                    if server.process.poll() is not None:
                        kept = keep_log(server.log_path)
                        raise ServerError(f"tritonserver exited with status {server.process.returncode}"
                                          f"{server.reason()}; its log ({kept}) ends:\n{server.log_tail()}")
                log.info("stopping tritonserver")
            finally:
                server.stop()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print("stopped; no server process left")
    return 0
