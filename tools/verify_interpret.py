"""``trtnet verify --interpret``: every registry network's TensorRT definition interpreted on the CPU
(``trtnet.interpret``; no engine build) and compared with its eager twin, one table row per network and output,
plus each loop's layers per iteration by layer type."""

from __future__ import annotations

import argparse


def add_interpret_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interpret", action="store_true",
                   help="also interpret each network's TensorRT definition on the CPU (no engine build) and compare "
                        "it with the eager twin (default: off)")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                   help="precision of the interpreted networks (default fp32)")


def interpret_checks(args: argparse.Namespace, sources: dict) -> list:
    """Run the comparisons, print their rows; the checks (``passed``, ``row()``, ``name``/``value``/``threshold``)."""
    from trtnet.interpret.suite import BATCH, STEPS, TEXT, run_registry
    from trtnet.weights.store import WeightStore
    stores = {arch: WeightStore.open(src.h5_path) for arch, src in sources.items()}
    try:
        results = run_registry(stores, args.precision, seed=args.seed)
    finally:
        for s in stores.values():
            s.close()
    print(f"interpreted TensorRT networks ({args.precision}) vs eager (batch {BATCH} ragged, text {TEXT}, "
          f"step cap {STEPS}):")
    for r in results:
        for c in r.checks:
            print("  " + c.row())
        if r.first_difference:
            print(f"    first difference: {r.first_difference}")
        for loop, counts in r.loop_layers.items():
            print(f"    {r.network}: loop {loop} runs {sum(counts.values())} layers per iteration: "
                  + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    return [c for r in results for c in r.checks]
