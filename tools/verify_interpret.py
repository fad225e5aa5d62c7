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
    from trtnet.verify.interpret_suite import BATCH, STEPS, TEXT, run_registry
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


ENGINE_BOUND = {"fp32": 1e-3, "fp16": 1e-2}    # GPU kernels vs the interpreter: another accumulation, fast math


def engine_checks(d, seed: int, *, emulated: bool = False) -> tuple[list, list[str]]:
    """Each engine of the open engine directory ``d`` (emulated ones where ``emulated``) on the suite's feeds vs
    the interpreter on the same network definition (rebuilt from the sidecar); engines that draw random numbers in
    the engine are skipped."""
    import numpy as np
    from trtnet.interpret import interpret_network
    from trtnet.verify.interpret_compare import OutputCheck, _error
    from trtnet.verify.interpret_feeds import make_feeds
    from trtnet.verify.interpret_suite import dims_for
    from .inspect_loops import define_from_sidecar
    checks, skipped = [], []
    kind = "emulated engine" if emulated else "engine"
    for name, session in d.sessions.items():
        g, config, opts, reason = define_from_sidecar(d.sidecars[name])
        if reason is None and "in-engine" in (opts.dropout if "decoder" in name or name == "fused" else "",
                                               opts.noise if name == "waveglow" else ""):
            reason = "it draws random numbers in the engine (build with --dropout input/off, --noise input)"
        if reason:
            skipped.append(f"{kind} {name} vs interpreter: {reason}")
            continue
        feeds = make_feeds(g.inputs, dims_for(config), config, np.random.default_rng(seed))
        want = interpret_network(g.backend.network, feeds, seed=seed)
        got = session.run(feeds)
        bound = ENGINE_BOUND[opts.precision]
        for out, w in want.items():
            v = np.asarray(got[out])
            err = _error(v, w) if v.shape == w.shape else float("inf")
            limit = 0.0 if w.dtype.kind in "biu" else bound
            checks.append(OutputCheck(f"{name} ({kind})", out, w.dtype.name, w.shape, err, limit, err <= limit,
                                      versus="interpreter"))
    print(f"{kind}s vs interpreter:")
    for c in checks:
        print("  " + c.row())
    return checks, skipped
