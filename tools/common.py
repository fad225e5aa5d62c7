"""Arguments and helpers shared by the subcommands (model sources, run-time settings)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Iterable

from trtnet.engines import spec as lib
from trtnet.engines.spec import ACOUSTIC_ARCHS, VOCODER_ARCHS, BackendSpec, OpenBackend

from .argtypes import DENOISER_STRENGTH, GATE_THRESHOLD, PACE, PITCH_SCALE, PITCH_SHIFT, SIGMA, device


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tacotron2", metavar="SOURCE", default=None,
                   help="DLE Tacotron 2 checkpoint or extracted .h5, an http(s) URL, or a published name "
                        "(trtnet fetch --list) (default: built-in demo weights)")
    p.add_argument("--waveglow", metavar="SOURCE", default=None,
                   help="DLE WaveGlow checkpoint or extracted .h5, an http(s) URL, or a published name "
                        "(trtnet fetch --list) (default: built-in demo weights)")
    p.add_argument("--fastpitch", metavar="SOURCE", default=None,
                   help="DLE FastPitch checkpoint or extracted .h5, as the acoustic model instead of Tacotron 2 "
                        "(pair it with --hifigan or --waveglow) (default: none)")
    p.add_argument("--acoustic", choices=ACOUSTIC_ARCHS, default=None,
                   help="acoustic model when its weights are not given: the demo one (default tacotron2; "
                        "--fastpitch implies fastpitch)")
    p.add_argument("--hifigan", metavar="SOURCE", default=None,
                   help="DLE HiFi-GAN generator checkpoint or extracted .h5, an http(s) URL, or a published name "
                        "(trtnet fetch --list), as the vocoder instead of WaveGlow (default: none)")
    p.add_argument("--vocoder", choices=VOCODER_ARCHS, default=None,
                   help="vocoder when its weights are not given: the demo one (default waveglow; --hifigan implies "
                        "hifigan)")
    p.add_argument("--demo-size", choices=["full", "small"], default=BackendSpec.demo_size,
                   help="size of the demo models used when no checkpoint is given (default %(default)s)")
    p.add_argument("--cache-dir", dest="cache_dir", default=None, metavar="DIR",
                   help="weights cache: demo checkpoints and .h5 files extracted from checkpoints, keyed by content "
                        "(default: $TRTNET_CACHE, else ~/.cache/trtnet)")
    p.add_argument("--work-dir", dest="cache_dir", action=_DeprecatedAlias, alias_of="--cache-dir",
                   help=argparse.SUPPRESS)


class _DeprecatedAlias(argparse.Action):
    """A hidden old spelling of a flag: stores into the new one's dest and says so on stderr."""

    def __init__(self, option_strings, dest, alias_of: str, **kw):
        self.alias_of = alias_of
        super().__init__(option_strings, dest, **kw)

    def __call__(self, parser, namespace, values, option_string=None):
        import sys
        sys.stderr.write(f"{parser.prog}: warning: {option_string} is deprecated; use {self.alias_of}\n")
        setattr(namespace, self.dest, values)


def add_text_args(p: argparse.ArgumentParser) -> None:
    from trtnet.runtime.text import DEFAULT_FRONTEND, FRONTENDS
    p.add_argument("--text-frontend", choices=FRONTENDS, default=None,
                   help="text normalisation: default (DLE's english_cleaners, plus symbols, currencies, dates and "
                        "times spoken and any script transliterated), dle (DLE's english_cleaners exactly), nemo "
                        f"(NeMo's English normaliser: the [tn] extra) (default: {DEFAULT_FRONTEND})")


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gate-threshold", type=GATE_THRESHOLD, default=None, help="stop when sigmoid(gate) > this (default: the engines' or the model's, DLE 0.5)")
    p.add_argument("--sigma", type=SIGMA, default=None, help="WaveGlow noise scale (default: the engines' or the model's, DLE inference.py 0.9)")
    p.add_argument("--denoiser-strength", type=DENOISER_STRENGTH, default=None, help="denoiser strength, 0 = off (default: the engines' or the model's: DLE WaveGlow 0.01, HiFi-GAN 0)")
    p.add_argument("--pace", type=PACE, default=None,
                   help="FastPitch: speaking rate, durations / pace (default: the engines' or 1.0, DLE's)")
    p.add_argument("--pitch-scale", type=PITCH_SCALE, default=None,
                   help="FastPitch: predicted pitch × this (DLE --pitch-transform-amplify; default 1.0)")
    p.add_argument("--pitch-shift", type=PITCH_SHIFT, default=None,
                   help="FastPitch: pitch + this many Hz (DLE --pitch-transform-shift; default 0)")


def add_emulate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emulate-engines", action="store_true",
                   help="with --engine-dir: run the engine path (sessions, buffers, shape inputs) on the TensorRT "
                        "emulator instead of TensorRT, where engines cannot execute (no speed figures; default off)")


def add_backend_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--engine-dir", default=None, help="run the TensorRT engines of this directory (default: none, the eager twin)")
    g.add_argument("--backend", choices=["eager"], default=None,
                   help="run the eager PyTorch twin of the same networks (the default when --engine-dir is not given)")
    add_emulate_arg(p)
    add_model_args(p)
    p.add_argument("--device", type=device, default=BackendSpec.device, help="torch device of the eager backend: cpu, cuda (default %(default)s)")
    p.add_argument("--precision", choices=["fp32", "fp16"], default=BackendSpec.precision,
                   help="eager backend precision (default %(default)s; engines run the precision they were built with)")
    p.add_argument("--dropout", choices=["in-engine", "input", "off"], default=None,
                   help="eager: prenet dropout mode (default in-engine); engines: must match their build")
    p.add_argument("--noise", choices=["in-engine", "input"], default=None, help="as --dropout, for WaveGlow z (default in-engine)")


def spec_from_args(args: argparse.Namespace) -> BackendSpec:
    """The library's BackendSpec of these flags (a subcommand lacking a flag gets the field's default)."""
    renamed = {"emulate": "emulate_engines"}
    values = {f.name: getattr(args, renamed.get(f.name, f.name), None) for f in dataclasses.fields(BackendSpec)}
    # --emulate-engines runs the engines of --engine-dir; a command without --engine-dir (build-engines) means
    # something else by it
    emulate = bool(getattr(args, "emulate_engines", False)) and hasattr(args, "engine_dir")
    values.update(emulate=emulate, eager_explicit=getattr(args, "backend", None) == "eager",
                  alignments=getattr(args, "plot", None) is True)     # synthesize --plot draws alignments
    return BackendSpec(**{k: v for k, v in values.items() if v is not None})


def vocoder_arch(args: argparse.Namespace) -> str:
    """The vocoder these flags select (an error for contradictory flags)."""
    return spec_from_args(args).vocoder_arch


def check_emulate(args: argparse.Namespace) -> bool:
    """``--emulate-engines`` needs ``--engine-dir``; returns the flag."""
    return spec_from_args(args).emulate


def resolve_sources(args: argparse.Namespace, need: Iterable[str] | None = None) -> dict:
    from .progress import byte_progress
    return lib.resolve_sources(spec_from_args(args), need, progress=byte_progress)


def local_checkpoint(spec: str | None, cache: Any, model: str | None, flag: str) -> Any:
    """A path, an http(s) URL or a published name → a local file (downloads go to the weights cache, with a
    progress bar on a terminal); None stays None (the demo weights)."""
    if spec is None:
        return None
    from trtnet.weights.remote import locate

    from .progress import byte_progress
    return locate(spec, cache, model=model, flag=flag, progress=byte_progress)


def runtime_defaults(args: argparse.Namespace, sources: dict) -> dict[str, Any]:
    return lib.runtime_defaults(spec_from_args(args), sources)


def text_limits(args: argparse.Namespace) -> tuple[int, int]:
    return lib.text_limits(spec_from_args(args))


def open_backend(args: argparse.Namespace, names: tuple[str, ...], progress=None) -> OpenBackend:
    """The sessions named ``names`` from --engine-dir, or eager networks from --tacotron2/--waveglow/demo; engines
    this machine cannot run are an error that names --emulate-engines.  ``progress``: see tools/progress.py;
    downloads show their own byte bars."""
    from trtnet.runtime.engine import NoGpuError
    from .hints import no_gpu
    from .progress import byte_progress
    try:
        return lib.open_backend(spec_from_args(args), names, progress=progress, downloads=byte_progress)
    except NoGpuError as e:
        raise no_gpu(e) from e


def settings_from(args: argparse.Namespace, backend: OpenBackend):
    return backend.settings


def text_cleaners(args: argparse.Namespace, build_config: dict | None = None) -> str:
    """The acoustic model's DLE cleaners before it is loaded (for checking the text first): the engines'
    FastPitch config (build_config.json ``hparams``), else FastPitch's default with --fastpitch / --acoustic
    fastpitch, else Tacotron 2's.  The pipeline reads the loaded model's own (``runtime.acoustic.text_cleaners``)."""
    from trtnet.runtime.acoustic import text_cleaners as of_config
    from trtnet.weights.config import FastPitchConfig
    hparams = (build_config or {}).get("hparams", {})
    if "fastpitch" in hparams:
        return of_config(FastPitchConfig.from_dict(hparams["fastpitch"]))
    if build_config is None and (getattr(args, "fastpitch", None) or getattr(args, "acoustic", None) == "fastpitch"):
        return of_config(FastPitchConfig())
    return of_config(None)


def text_frontend(args: argparse.Namespace) -> str:
    """--text-frontend, else the front end's default (``runtime.text.DEFAULT_FRONTEND``)."""
    from trtnet.runtime.text import DEFAULT_FRONTEND
    return getattr(args, "text_frontend", None) or DEFAULT_FRONTEND
