"""trtnet build-engines: checkpoints (or HDF5) → TensorRT engines + build_config.json.

With no --tacotron2/--waveglow it builds from the deterministic demo checkpoints (random weights)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .argtypes import POSITIVE_INT
from .common import add_model_args, add_runtime_args, resolve_sources, runtime_defaults, spec_from_args, vocoder_arch


def add_arguments(p: argparse.ArgumentParser) -> None:
    from trtnet.engines.engine_set import VOCODER_ENGINES
    from trtnet.layers.networks import NETWORKS
    from trtnet.layers.options import NetworkOptions
    add_model_args(p)
    p.add_argument("-o", "--output", default="engines", help="engine directory (default: engines)")
    d = NetworkOptions()
    p.add_argument("--precision", choices=["fp16", "fp32"], default=d.precision,
                   help=f"strongly typed precision (default {d.precision})")
    p.add_argument("--max-batch", type=POSITIVE_INT, default=d.max_batch, help=f"profile max batch (default {d.max_batch})")
    p.add_argument("--max-text-len", type=POSITIVE_INT, default=d.max_text_len,
                   help=f"profile max tokens per line (default {d.max_text_len})")
    p.add_argument("--max-decoder-steps", type=POSITIVE_INT, default=None,
                   help="decoder step cap = profile max mel frames (default: the model's, DLE 2000)")
    p.add_argument("--opt-batch", type=POSITIVE_INT, default=None,
                   help=f"profile opt batch, as trtexec's --optShapes: the size TensorRT tunes kernels for "
                        f"(default {d.opt_batch}; 1..--max-batch)")
    p.add_argument("--opt-text-len", type=POSITIVE_INT, default=None,
                   help=f"profile opt tokens per line (default {d.opt_text_len}, or --max-text-len if smaller; "
                        "1..--max-text-len)")
    p.add_argument("--opt-decoder-steps", type=POSITIVE_INT, default=None,
                   help=f"profile opt decoder steps / mel frames (default {d.opt_decoder_steps}, or the step cap if "
                        "smaller; 1..the step cap)")
    add_runtime_args(p)
    p.add_argument("--dropout", choices=["in-engine", "input", "off"], default=d.dropout,
                   help=f"prenet dropout: in-engine random (DLE behaviour), masks fed as an input, or off "
                        f"(default {d.dropout})")
    p.add_argument("--noise", choices=["in-engine", "input"], default=d.noise,
                   help=f"WaveGlow noise: drawn in the engine, or fed as input z (default {d.noise})")
    p.add_argument("--alignments", action="store_true", help="decoder loop also outputs alignments (default off)")
    p.add_argument("--engines", default=None,
                   help=f"comma list from {','.join(NETWORKS)} (default: encoder, decoder-loop, decoder-step, postnet "
                        f"(--fastpitch: fastpitch) and the vocoder's {' / '.join(','.join(v) for v in VOCODER_ENGINES.values())})")
    p.add_argument("--flavor", choices=["auto", "tensorrt", "rtx"], default="auto",
                   help="TensorRT flavour (default auto: tensorrt if importable, else tensorrt_rtx)")
    p.add_argument("--timing-cache", default=None, help="timing cache file (TensorRT only; default none)")
    p.add_argument("--compute-capability", action="append", default=[], metavar="SMxx",
                   help="TensorRT-RTX target (repeatable; default SM80 SM86 SM89 SM120)")
    p.add_argument("--optimization-level", type=int, default=3, choices=range(6), help="builder level 0..5 (default 3; 0 builds fastest)")
    p.add_argument("--workspace-mib", type=POSITIVE_INT, default=None, help="workspace pool limit in MiB (default: TensorRT's, the device memory)")
    p.add_argument("--refittable", action="store_true",
                   help="engines whose weights `trtnet refit` can replace (REFIT_INDIVIDUAL, the weight manifest "
                        "marked refittable): TensorRT 10.x / 11.x; TensorRT-RTX only on a GPU (default off)")
    p.add_argument("--strip-weights", action="store_true",
                   help="weight-stripped plans (STRIP_PLAN + REFIT_INDIVIDUAL), refitted from the .h5 their sidecar "
                        "names when loaded; same flavour support as --refittable (default off)")
    p.add_argument("--emulate-engines", action="store_true",
                   help="with --refittable / --strip-weights where the flavour cannot build them here (TensorRT-RTX "
                        "without a GPU): build plans without the flags, marked for the emulated runtime only "
                        "(default off)")
    p.add_argument("--force", action="store_true", help="rebuild even when a cached engine matches (default: reuse it)")


def run(args: argparse.Namespace) -> int:
    from trtnet import flavor as flavor_mod
    from trtnet.build import BuildConfig, check_targets
    from trtnet.files import locked_dir
    from trtnet.engines.engine_set import build_engine_set
    from trtnet.layers.options import NetworkOptions
    from trtnet.engines.engine_set import VOCODER_ENGINES, default_engines
    vocoder, acoustic = vocoder_arch(args), spec_from_args(args).acoustic_arch
    engines = [e.strip() for e in (args.engines or ",".join(default_engines(vocoder, acoustic))).split(",")
               if e.strip()]
    other = [e for e in engines if any(e in names for a, names in VOCODER_ENGINES.items() if a != vocoder)]
    if other:
        raise ValueError(f"--engines {','.join(other)}: this build's vocoder is {vocoder} (--{vocoder} / --vocoder); "
                         "an engine directory holds one vocoder")
    if not engines:
        raise ValueError(f"--engines {args.engines!r} names no engine")
    flavor = None if args.flavor == "auto" else args.flavor
    config = BuildConfig(optimization_level=args.optimization_level, timing_cache=args.timing_cache,
                         compute_capabilities=tuple(args.compute_capability),
                         memory_pools={"workspace": args.workspace_mib << 20} if args.workspace_mib else {},
                         refittable=args.refittable, strip_weights=args.strip_weights,
                         emulated_refit=args.emulate_engines and (args.refittable or args.strip_weights))
    check_targets(flavor_mod.resolve(flavor), config)          # before any extraction or build work
    if args.emulate_engines and not (args.refittable or args.strip_weights):
        raise ValueError("--emulate-engines builds refittable plans for the emulator; add --refittable or "
                         "--strip-weights")
    from trtnet.refit import check_flavor
    check_flavor(flavor_mod.resolve(flavor), args.refittable, args.strip_weights)
    need = {_arch(e) for e in engines}
    opts = NetworkOptions(precision=args.precision, max_batch=args.max_batch, max_text_len=args.max_text_len,
                          max_decoder_steps=args.max_decoder_steps, dropout=args.dropout,
                          noise=args.noise, alignments=args.alignments, **opt_shapes(args))
    with locked_dir(args.output, "trtnet build-engines"):
        sources = resolve_sources(args, need=need)
        check_opt_steps(args, opts, sources)
        summary = build_engine_set(args.output, sources, engines, opts, config, flavor=flavor, force=args.force,
                                   runtime_defaults=runtime_defaults(args, sources))
    for line in engine_lines(summary["engines"]):
        print(line)
    targets = ", ".join(f"{k.replace('_', ' ')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                        for k, v in summary["targets"].items())
    print(f"{summary['flavor']} {summary['trt_version']} ({targets}); index: {Path(args.output) / 'build_config.json'}")
    return 0


def engine_lines(engines: dict) -> list[str]:
    """One line per engine of build_config.json's ``engines``: name, plan, size, build time; columns as wide as
    the longest name and plan (hifigan-denoiser included)."""
    from trtnet.runtime.measures import fmt_duration
    name_w = max(map(len, engines), default=0)
    plan_w = max((len(e["plan"]) for e in engines.values()), default=0)
    return [f"{name:{name_w}s}  {e['plan']:{plan_w}s} {e['plan_bytes'] / 1e6:8.1f} MB  "
            + ("cached" if e["cached"] else f"built in {fmt_duration(e['build_seconds'])}")
            for name, e in engines.items()]


def opt_shapes(args: argparse.Namespace) -> dict:
    """The --opt-* flags given, each checked within 1..its max flag (the defaults are clamped, not refused)."""
    given = {}
    for opt, limit in (("opt_batch", "max_batch"), ("opt_text_len", "max_text_len"),
                       ("opt_decoder_steps", "max_decoder_steps")):
        value, most = getattr(args, opt), getattr(args, limit)
        if value is None:
            continue
        if most is not None and value > most:
            flag = "--" + opt.replace("_", "-")
            raise ValueError(f"{flag} {value}: the profile needs 1 <= opt <= max, and --{limit.replace('_', '-')} "
                             f"is {most}")
        given[opt] = value
    return given


def check_opt_steps(args: argparse.Namespace, opts, sources: dict) -> None:
    """--opt-decoder-steps within the model's step cap when --max-decoder-steps is not given."""
    if args.opt_decoder_steps is None or args.max_decoder_steps is not None or "tacotron2" not in sources:
        return
    from trtnet.weights.store import WeightStore
    with WeightStore.open(sources["tacotron2"].h5_path, "tacotron2") as store:
        cap = opts.steps_cap(store.config)
    if args.opt_decoder_steps > cap:
        raise ValueError(f"--opt-decoder-steps {args.opt_decoder_steps}: above the step cap {cap} (the model's "
                         "max_decoder_steps; raise it with --max-decoder-steps)")


def _arch(engine: str) -> str:
    from trtnet.layers.networks import NETWORKS
    if engine not in NETWORKS:
        raise ValueError(f"unknown engine {engine!r}; choose from {sorted(NETWORKS)}")
    return NETWORKS[engine].architecture
