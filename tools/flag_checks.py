"""Flag combinations a command would silently ignore, refused before any work with a line saying why."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from trtnet.engines.spec import BackendSpec

from trtnet.models import MODELS

MODEL_FLAGS = tuple(MODELS)             # one weights flag per model


def refuse_model_flags_with_engines(args: argparse.Namespace, cfg: dict[str, Any]) -> None:
    """With --engine-dir the engines' own weights run: a checkpoint flag would be ignored, and --acoustic /
    --vocoder must name the directory's models."""
    from trtnet.runtime.acoustic import acoustic_architecture
    from trtnet.runtime.vocoder import vocoder_architecture
    given = [f for f in MODEL_FLAGS if getattr(args, f, None)]
    if given:
        flag = given[0]
        raise ValueError(f"--{flag} {getattr(args, flag)}: the engines in {args.engine_dir} run the weights they were "
                         f"built from (build_config.json 'inputs'); drop --{flag}, or rebuild the engines from it")
    defaults = {f.name: f.default for f in dataclasses.fields(BackendSpec)}        # the eager backend's
    for flag, why in (("device", "the engines run on the GPU they were built for"),
                      ("demo_size", "the engines run the weights they were built from"),
                      ("precision", "the engines run the precision they were built with")):
        if getattr(args, flag, defaults[flag]) != defaults[flag]:
            raise ValueError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: not with --engine-dir ({why}; it "
                             "selects the eager backend's)")
    chosen = getattr(args, "acoustic", None)
    if chosen and chosen != acoustic_architecture(cfg["hparams"]):
        raise ValueError(f"--acoustic {chosen}: the engines in {args.engine_dir} hold a "
                         f"{acoustic_architecture(cfg['hparams'])} acoustic model; drop --acoustic or choose another "
                         "--engine-dir")
    chosen = getattr(args, "vocoder", None)
    if chosen and chosen != vocoder_architecture(cfg["hparams"], str(args.engine_dir)):
        built = vocoder_architecture(cfg["hparams"])
        raise ValueError(f"--vocoder {chosen}: the engines in {args.engine_dir} hold a {built} vocoder; drop "
                         f"--vocoder or choose another --engine-dir")


def refuse_unused(args: argparse.Namespace, needs: str, active: bool, flags: dict[str, Any]) -> None:
    """``flags`` (name → default) only act with ``needs``: one given without it is an error."""
    if active:
        return
    for flag, default in flags.items():
        if getattr(args, flag.lstrip("-").replace("-", "_"), default) != default:
            raise ValueError(f"{flag} only acts with {needs}; add {needs} or drop {flag}")
