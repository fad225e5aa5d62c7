"""The ``trtnet`` command: a thin dispatcher over the library.

Each subcommand lives in ``tools/cmd_<name>.py`` with ``add_arguments(parser)`` and ``run(args) -> int``;
modules are imported only when their command runs, so start-up stays fast.  Library errors (exceptions that
carry values) become one clear line on stderr and exit status 2; the CLI is the only place that exits.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

COMMANDS = {
    "extract-weights": ("cmd_extract", "DLE checkpoint -> neutral HDF5 weights file"),
    "build-engines": ("cmd_build", "HDF5/checkpoints -> TensorRT engines + build_config.json"),
    "refit": ("cmd_refit", "new weights into refittable engines (no rebuild); refit vs build time"),
    "synthesize": ("cmd_synthesize", "text lines -> WAV files (engine or eager backend)"),
    "bench": ("cmd_bench", "in-engine loop vs per-step host loop vs PyTorch, DLE table format"),
    "verify": ("cmd_verify", "parity: engine vs eager vs independent PyTorch reference"),
    "inspect": ("cmd_inspect", "I/O spec, sidecar and layers of a plan"),
    "fetch": ("cmd_fetch", "download published checkpoints (or URLs) into the weights cache; --list names them"),
    "demo-checkpoints": ("cmd_demo", "write deterministic random-weight checkpoints in DLE format"),
    "export-triton": ("cmd_export_triton", "model repository for NVIDIA Triton Inference Server (Python backend)"),
    "serve": ("cmd_serve", "export and run tritonserver until SIGINT/SIGTERM (HTTP, gRPC, metrics)"),
}

log = logging.getLogger("trtnet")


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="logging verbosity (default: info)")
    p = argparse.ArgumentParser(prog="trtnet", description=__doc__.splitlines()[0].replace("``", ""))
    p.add_argument("--version", action=_StackVersion, help="show trtnet's version and its stack's (TensorRT flavours, "
                   "cuda-python, torch, numpy, CUDA driver), then exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, parents=[common])
    wanted = next((a for a in argv if a in COMMANDS), None)
    if wanted is not None:
        mod = importlib.import_module(f"trtnet.tools.{COMMANDS[wanted][0]}")
        mod.add_arguments(sub.choices[wanted])
        sub.choices[wanted].set_defaults(_run=mod.run)
    return p


class _StackVersion(argparse.Action):
    """--version: the stack is looked up only when asked (it imports TensorRT)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        from .stack import version_text
        print(version_text())
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(argv).parse_args(argv)
    level = getattr(logging, getattr(args, "log_level", "info").upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI turns every library error into one line and exit 2
        if level <= logging.DEBUG:
            log.exception("failed")
        sys.stderr.write(f"trtnet {args.command}: error: {type(e).__name__}: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
