"""Arguments and helpers shared by the subcommands (model sources, run-time settings)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .argtypes import GATE_THRESHOLD, NON_NEGATIVE


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tacotron2", metavar="SOURCE", default=None,
                   help="DLE Tacotron 2 checkpoint or extracted .h5, an http(s) URL, or a published name (trtnet fetch --list) (default: built-in demo weights)")
    p.add_argument("--waveglow", metavar="SOURCE", default=None,
                   help="DLE WaveGlow checkpoint or extracted .h5, an http(s) URL, or a published name (trtnet fetch --list) (default: built-in demo weights)")
    p.add_argument("--hifigan", metavar="SOURCE", default=None,
                   help="DLE HiFi-GAN generator checkpoint or extracted .h5, an http(s) URL, or a published name (trtnet fetch --list), as the vocoder instead of WaveGlow")
    p.add_argument("--vocoder", choices=["waveglow", "hifigan"], default=None,
                   help="vocoder when its weights are not given: the demo one (default waveglow; --hifigan implies "
                        "hifigan)")
    p.add_argument("--demo-size", choices=["full", "small"], default="full",
                   help="size of the demo models used when no checkpoint is given (default full)")
    p.add_argument("--cache-dir", "--work-dir", dest="cache_dir", default=None, metavar="DIR",
                   help="weights cache: demo checkpoints and .h5 files extracted from checkpoints, keyed by content "
                        "(default: $TRTNET_CACHE, else ~/.cache/trtnet)")


def add_text_args(p: argparse.ArgumentParser) -> None:
    from trtnet.runtime.text import DEFAULT_FRONTEND, FRONTENDS
    p.add_argument("--text-frontend", choices=FRONTENDS, default=None,
                   help="text normalisation: default (DLE's english_cleaners, plus symbols, currencies, dates and "
                        "times spoken and any script transliterated), dle (DLE's english_cleaners exactly), nemo "
                        f"(NeMo's English normaliser: the [tn] extra) (default: {DEFAULT_FRONTEND})")


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gate-threshold", type=GATE_THRESHOLD, default=None, help="stop when sigmoid(gate) > this (default: the engines' or the model's, DLE 0.5)")
    p.add_argument("--sigma", type=NON_NEGATIVE, default=None, help="WaveGlow noise scale (default: the engines' or the model's, DLE inference.py 0.9)")
    p.add_argument("--denoiser-strength", type=NON_NEGATIVE, default=None, help="denoiser strength, 0 = off (default: the engines' or the model's: DLE WaveGlow 0.01, HiFi-GAN 0)")


def vocoder_arch(args: argparse.Namespace) -> str:
    """The vocoder these flags select: --hifigan / --waveglow weights, else --vocoder, else WaveGlow."""
    given = [a for a in ("waveglow", "hifigan") if getattr(args, a, None)]
    if len(given) > 1:
        raise ValueError("give one vocoder: --waveglow or --hifigan, not both")
    chosen = getattr(args, "vocoder", None)
    if given and chosen and chosen != given[0]:
        raise ValueError(f"--vocoder {chosen} contradicts --{given[0]} {getattr(args, given[0])}")
    return given[0] if given else chosen or "waveglow"


def resolve_sources(args: argparse.Namespace, need: Iterable[str] | None = None):
    """The weights of each architecture in ``need`` (default: Tacotron 2 and the selected vocoder): the given
    checkpoint / .h5, or the demo, via the cache."""
    need = ("tacotron2", vocoder_arch(args)) if need is None else tuple(need)
    import logging

    from trtnet.weights.cache import cache_dir
    from trtnet.weights.sources import resolve
    cache = cache_dir(args.cache_dir)
    if any(getattr(args, arch) is None or not str(getattr(args, arch)).endswith((".h5", ".hdf5")) for arch in need):
        logging.getLogger("trtnet").info("weights cache: %s (--cache-dir or $TRTNET_CACHE moves it)", cache)
    return {arch: resolve(local_checkpoint(getattr(args, arch), cache, arch, f"--{arch}"), arch, cache,
                          demo_size=args.demo_size) for arch in sorted(need)}


def local_checkpoint(spec: str | None, cache: Path, model: str | None, flag: str) -> Path | None:
    """A path, an http(s) URL or a published name → a local file (downloads go to the weights cache, with a
    progress bar on a terminal); None stays None (the demo weights)."""
    if spec is None:
        return None
    from trtnet.weights.remote import locate

    from .progress import byte_progress
    return locate(spec, cache, model=model, flag=flag, progress=byte_progress)


def runtime_defaults(args: argparse.Namespace, sources: dict) -> dict[str, Any]:
    """gate_threshold / max_decoder_steps and the vocoder's settings (sigma, denoiser_strength): flags, else the
    models' configs."""
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.weights.store import WeightStore
    out: dict[str, Any] = {}
    fields_of = {"tacotron2": ("gate_threshold", "max_decoder_steps"), **{a: v.settings for a, v in VOCODERS.items()}}
    for arch, fields in fields_of.items():
        if arch not in sources:
            continue
        with WeightStore.open(sources[arch].h5_path, arch) as store:
            for f in fields:
                flag = getattr(args, f, None)
                out[f] = flag if flag is not None else getattr(store.config, f)
    return out


def add_emulate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emulate-engines", action="store_true",
                   help="with --engine-dir: run the engine path (sessions, buffers, shape inputs) on the TensorRT "
                        "emulator instead of TensorRT, where engines cannot execute (no speed figures)")


def check_emulate(args: argparse.Namespace) -> bool:
    """``--emulate-engines`` needs ``--engine-dir``; returns the flag."""
    if getattr(args, "emulate_engines", False) and not args.engine_dir:
        raise ValueError("--emulate-engines emulates the engines of --engine-dir DIR; give --engine-dir")
    return bool(getattr(args, "emulate_engines", False))


def add_backend_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--engine-dir", default=None, help="run the TensorRT engines of this directory")
    g.add_argument("--backend", choices=["eager"], default=None,
                   help="run the eager PyTorch twin of the same networks (the default when --engine-dir is not given)")
    add_emulate_arg(p)
    add_model_args(p)
    p.add_argument("--device", default="cpu", help="torch device of the eager backend: cpu, cuda (default cpu)")
    p.add_argument("--precision", choices=["fp32", "fp16"], default="fp32",
                   help="eager backend precision (default fp32; engines run the precision they were built with)")
    p.add_argument("--dropout", choices=["in-engine", "input", "off"], default=None,
                   help="eager: prenet dropout mode (default in-engine); engines: must match their build")
    p.add_argument("--noise", choices=["in-engine", "input"], default=None, help="as --dropout, for WaveGlow z")


@dataclass
class Backend:
    kind: str
    sessions: dict
    t2_config: Any
    vocoder_config: Any
    limits: Any
    dropout: str
    noise: str
    defaults: dict
    close: Any
    description: str = ""      # one line: what runs (backend, precision, device, models), for the user


def _source_line(sources: dict) -> str:
    return ", ".join(f"{arch} {src.h5_path}" + (" (demo, random weights)" if src.demo else "")
                     for arch, src in sorted(sources.items()))


def eager_options(args: argparse.Namespace):
    """The eager twin's network options: its profile limits (batch, tokens) are the defaults engines are built
    with, so eager and engines accept the same inputs."""
    from trtnet.layers.options import NetworkOptions
    return NetworkOptions(precision=args.precision, dropout=args.dropout or "in-engine", noise=args.noise or "in-engine",
                          max_decoder_steps=getattr(args, "max_decoder_steps", None),
                          alignments=bool(getattr(args, "plot", False)))


def text_limits(args: argparse.Namespace) -> tuple[int, int]:
    """(max batch, max tokens per line) of the backend ``args`` select, known before any model is loaded."""
    if args.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        opts = read_build_config(Path(args.engine_dir))["options"]
        return int(opts["max_batch"]), int(opts["max_text_len"])
    opts = eager_options(args)
    return opts.max_batch, opts.max_text_len


def open_backend(args: argparse.Namespace, names: tuple[str, ...]) -> Backend:
    """The sessions named ``names`` from --engine-dir, or eager networks from --tacotron2/--waveglow/demo."""
    emulate = check_emulate(args)
    if args.engine_dir:
        from trtnet.runtime.engine_dir import open_engine_dir
        d = open_engine_dir(args.engine_dir, names, emulate=emulate)
        for flag in ("dropout", "noise"):
            built = d.options[flag]
            if getattr(args, flag) not in (None, built):
                raise ValueError(f"--{flag} {getattr(args, flag)}: the engines in {args.engine_dir} were built with "
                                 f"--{flag} {built}; rebuild them to change it")
        side = next(iter(d.sidecars.values()), None)
        built = f"{side.flavor} {side.trt_version}, " if side is not None else ""
        what = (f"{'emulated TensorRT engines (no speed figures)' if emulate else 'TensorRT engines'} in "
                f"{args.engine_dir} ({built}{d.options.get('precision', '?')}, dropout {d.options['dropout']}, "
                f"noise {d.options['noise']})")
        return Backend("emulated engine" if emulate else "engine", d.sessions, d.t2_config, d.vocoder_config, d.limits,
                       d.options["dropout"], d.options["noise"], d.defaults, d.close, what)
    return open_eager(args, names, resolve_sources(args), eager_options(args))


def open_eager(args: argparse.Namespace, names: tuple[str, ...], sources: dict, opts: Any) -> Backend:
    """Eager twins of ``names`` (network names, or the roles "vocoder" / "vocoder-denoiser") over ``sources``;
    ``close`` closes the weight stores."""
    from trtnet.engines.eager import eager_sessions
    from trtnet.runtime.pipeline import Limits
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.weights.store import WeightStore
    voc = VOCODERS[vocoder_arch(args)]
    names = voc.resolve(names)
    stores = {arch: WeightStore.open(src.h5_path, arch) for arch, src in sources.items()}
    t2, wg = stores["tacotron2"].config, stores[voc.architecture].config
    limits = Limits(max_batch=opts.max_batch, max_text_len=opts.max_text_len, max_decoder_steps=opts.steps_cap(t2))
    sessions = eager_sessions(stores, opts, names, device=args.device, seed=getattr(args, "seed", 0))

    def close() -> None:
        for s in stores.values():
            s.close()
    what = (f"eager twin (PyTorch on {args.device}, {opts.precision}, dropout {opts.dropout}, noise {opts.noise})"
            + ("" if getattr(args, "backend", None) else ", the default without --engine-dir") + f"; weights: {_source_line(sources)}")
    return Backend("eager", sessions, t2, wg, limits, opts.dropout, opts.noise, runtime_defaults(args, sources), close,
                   what)


def settings_from(args: argparse.Namespace, backend: Backend):
    """Run-time settings: flags, else the engines' build defaults, else the model configs (DLE defaults)."""
    from trtnet.runtime.pipeline import Settings
    t2, wg, d = backend.t2_config, backend.vocoder_config, backend.defaults

    def pick(flag: str, model: Any) -> Any:
        """The flag, else the engines' build default, else the model's (0 for a setting the model lacks: HiFi-GAN
        has no sigma)."""
        v = getattr(args, flag, None)
        return v if v is not None else d.get(flag, getattr(model, flag, 0.0))
    return Settings(max_decoder_steps=int(pick("max_decoder_steps", t2)), gate_threshold=float(pick("gate_threshold", t2)),
                    sigma=float(pick("sigma", wg)), denoiser_strength=float(pick("denoiser_strength", wg)),
                    dropout=backend.dropout, noise=backend.noise, seed=int(getattr(args, "seed", 0) or 0),
                    text_frontend=text_frontend(args))


def text_frontend(args: argparse.Namespace) -> str:
    """--text-frontend, else the front end's default (``runtime.text.DEFAULT_FRONTEND``)."""
    from trtnet.runtime.text import DEFAULT_FRONTEND
    return getattr(args, "text_frontend", None) or DEFAULT_FRONTEND
