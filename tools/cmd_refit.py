"""trtnet refit: new weights into the refittable engines of a directory, without rebuilding them.

Every weights flag extracts as usual (checkpoint, .h5, URL or published name); engines of the architectures
given are refitted, the others kept.  Prints each engine's refit time next to its recorded build time."""

from __future__ import annotations

import argparse

from trtnet.models import ACOUSTIC_KIND, MODELS, VOCODER_KIND, architectures

REFIT_MODELS = {a: m.title for a, m in MODELS.items()}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import add_emulate_arg
    p.add_argument("engine_dir", metavar="ENGINE_DIR", help="directory written by build-engines --refittable or "
                   "--strip-weights")
    for arch, what in REFIT_MODELS.items():
        p.add_argument(f"--{arch}", metavar="SOURCE", default=None,
                       help=f"new {what} weights: DLE checkpoint or .h5, URL or published name (default: keep)")
    p.add_argument("--demo-size", choices=["full", "small"], default="full", help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", "--work-dir", dest="cache_dir", default=None, metavar="DIR",
                   help="weights cache for extraction (default: $TRTNET_CACHE, else ~/.cache/trtnet)")
    p.add_argument("--flavor", choices=["auto", "tensorrt", "rtx"], default="auto",
                   help="TensorRT flavour (default auto: tensorrt if importable, else tensorrt_rtx)")
    add_emulate_arg(p)


def run(args: argparse.Namespace) -> int:
    from trtnet.engines.refit_set import refit_engine_dir
    from .common import resolve_sources
    need = [a for a in REFIT_MODELS if getattr(args, a)]
    if not need:
        raise ValueError("give new weights: --tacotron2 / --fastpitch and/or --waveglow / --hifigan")
    for kind in (ACOUSTIC_KIND, VOCODER_KIND):
        given = [a for a in architectures(kind) if a in need]
        if len(given) > 1:
            raise ValueError(f"{' and '.join('--' + a for a in given)}: an engine directory holds one {kind} model")
    sources = resolve_sources(args, need=need)
    records = refit_engine_dir(args.engine_dir, sources, emulate=args.emulate_engines,
                               flavor=None if args.flavor == "auto" else args.flavor)
    if not records:
        print(f"nothing to refit: the engines of {args.engine_dir} already carry these weights")
        return 0
    where = " (emulated: the emulator's times, not TensorRT's)" if args.emulate_engines else ""
    print(f"{'engine':14s} {'mode':10s} {'weights':>7s} {'weights MB':>10s} {'refit s':>8s} {'build s':>8s}  "
          f"plan{where}")
    for r in records:
        built = f"{r.build_seconds:8.1f}" if r.build_seconds is not None else f"{'?':>8s}"
        print(f"{r.name:14s} {r.mode:10s} {r.weights:7d} {r.weights_bytes / 1e6:10.2f} {r.seconds:8.2f} {built}  "
              f"{r.plan.name} ({r.plan_bytes / 1e6:.1f} MB)")
    total = sum(r.seconds for r in records)
    build = sum(r.build_seconds or 0 for r in records)
    print(f"refit {total:.2f} s vs build {build:.1f} s (recorded in the sidecars); index: "
          f"{args.engine_dir}/build_config.json")
    return 0
