"""``trtnet demo-checkpoints -o DIR [--size full|small] [--seed N]``: write the deterministic demo checkpoints."""

from __future__ import annotations

import argparse

from .argtypes import SEED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the .pt files")
    parser.add_argument("--size", choices=("full", "small"), default="full",
                        help="full: DLE sizes (WaveGlow 256 channels); small: tiny test models (default: full)")
    parser.add_argument("--seed", type=SEED, default=0, help="weight seed (default: 0)")


def run(args: argparse.Namespace) -> int:
    from trtnet.weights.demo import write_demo_checkpoints

    paths = write_demo_checkpoints(args.output, size=args.size, seed=args.seed)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
