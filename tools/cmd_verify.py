"""trtnet verify: parity of engine vs eager vs the independent PyTorch reference (deterministic inputs).

Where no TensorRT-capable GPU exists, it runs eager vs reference and says why the engines were skipped."""

from __future__ import annotations

import argparse
import json

from .argtypes import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT
from .common import add_emulate_arg, add_model_args, check_emulate, resolve_sources
from .verify_interpret import add_interpret_args, engine_checks, interpret_checks


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_args(p)
    p.add_argument("--engine-dir", default=None, help="also compare these engines with the eager twin")
    add_emulate_arg(p)
    p.add_argument("--text", default=None, help="text to synthesize (default: DLE's benchmark sentence)")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the fed dropout masks and noise")
    p.add_argument("--max-decoder-steps", type=POSITIVE_INT, default=None, help="step cap (default: the model's)")
    p.add_argument("--sigma", type=NON_NEGATIVE, default=0.6, help="WaveGlow sigma (default 0.6, DLE test_infer)")
    p.add_argument("--denoiser-strength", type=NON_NEGATIVE, default=0.01,
                   help="denoiser strength (default 0.01; 0 = off)")
    p.add_argument("--json", default=None, help="write the checks to this JSON file")
    add_interpret_args(p)


def run(args: argparse.Namespace) -> int:
    from trtnet.layers.parity import engines_vs_eager, eager_vs_reference
    from trtnet.runtime.text import DEFAULT_TEXT
    from trtnet.weights.store import WeightStore
    sources = resolve_sources(args)
    for arch, src in sources.items():
        if src.checkpoint is None:
            raise ValueError(f"verify needs the {arch} DLE checkpoint (the reference loads it), not only {src.h5_path}")
    with WeightStore.open(sources["tacotron2"].h5_path) as t2, WeightStore.open(sources["waveglow"].h5_path) as wg:
        checks, detail = eager_vs_reference(sources["tacotron2"].checkpoint, sources["waveglow"].checkpoint, t2, wg,
                                            text=args.text or DEFAULT_TEXT, seed=args.seed,
                                            steps=args.max_decoder_steps, sigma=args.sigma,
                                            strength=args.denoiser_strength)
    print("eager (FP32) vs independent reference (float64):")
    for c in checks:
        print("  " + c.row())
    if args.interpret:
        checks += interpret_checks(args, sources)
    skipped = []
    emulate = check_emulate(args)
    if args.engine_dir:
        try:
            from trtnet.runtime.engine_dir import open_engine_dir
            with open_engine_dir(args.engine_dir, emulate=emulate) as d:
                eng, skipped = engines_vs_eager(d.sessions, d.sidecars, d.options, detail)
            print("emulated engines vs eager:" if emulate else "engines vs eager:")
            for c in eng:
                print("  " + c.row())
            checks += eng
        except (OSError, RuntimeError, ImportError) as e:
            if emulate:      # asked for: an emulator failure is an error, never a skip
                raise
            skipped.append(f"all engines: {type(e).__name__}: {e}")
    else:
        skipped.append("engines: no --engine-dir given")
    if args.interpret and args.engine_dir:
        try:
            more, skip = engine_checks(args.engine_dir, args.seed)
            checks += more
            skipped += skip
        except (OSError, RuntimeError, ImportError) as e:
            skipped.append(f"engines vs interpreter: {type(e).__name__}: {e}")
    for s in skipped:
        print(f"  skipped: {s}")
    failed = [c for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"checks": [{"name": c.name, "value": c.value, "threshold": c.threshold, "passed": c.passed}
                                  for c in checks], "skipped": skipped}, f, indent=2)
    return 1 if failed else 0
