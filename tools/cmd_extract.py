"""``trtnet extract-weights CHECKPOINT -o OUT.h5``: a DLE checkpoint → the neutral HDF5 weights file.

Prints the config inferred from the tensor shapes and the tensor count.  Runtime settings keep DLE's
defaults unless given here; they are range-checked at parse time (ranges from ``weights.config``), stored in
the file's config and can still be changed at build time.  The output is never the checkpoint itself, and an
existing output is replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from trtnet.models import MODELS

from ..weights.config import (WAVEGLOW_VARIANTS, ConfigError, Tacotron2Config, WaveGlowConfig, check_value,
                              field_range)

# flag → the config class it belongs to (the flag's default and type come from that dataclass)
SETTINGS = {
    "max_decoder_steps": Tacotron2Config,
    "gate_threshold": Tacotron2Config,
    "sigma": WaveGlowConfig,
    "denoiser_strength": WaveGlowConfig,
    "upsample_stride": WaveGlowConfig,
}


def _setting(cls: type, name: str) -> Callable[[str], Any]:
    """argparse ``type=``: the field's int or number, inside its range (argparse reports the message)."""
    rule = field_range(cls, name)

    def parse(text: str) -> Any:
        try:
            return check_value(cls, name, rule.kind(text))
        except (ValueError, ConfigError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {rule.describe()}") from None
    parse.__name__ = rule.kind.__name__
    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="checkpoint (.pt) of Tacotron 2, WaveGlow, FastPitch or a HiFi-GAN generator: "
                                      "the formats in the README's 'Checkpoint formats' table; or an http(s) URL or a "
                                      "published name (trtnet fetch --list), downloaded into the weights cache")
    p.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="weights cache for downloads (default: $TRTNET_CACHE, else ~/.cache/trtnet)")
    p.add_argument("-o", "--output", required=True,
                   help="HDF5 file to write (atomically); must not be the checkpoint itself")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --output file (default: refuse to overwrite it)")
    p.add_argument("--model", choices=("auto", *MODELS), default="auto",
                   help="expected architecture (default: detect from the keys)")
    p.add_argument("--ema", action="store_true",
                   help="extract the EMA weights: HiFi-GAN's gen_ema instead of 'generator', FastPitch's "
                        "ema_state_dict (when saved) instead of 'state_dict' (default off)")
    p.add_argument("--allow-nonfinite", action="store_true",
                   help="extract even if weights contain NaN/Inf (for inspection: opening the file for "
                        "build-engines/synthesize still refuses it; default: refuse)")
    p.add_argument("--waveglow-variant", choices=WAVEGLOW_VARIANTS, default=None,
                   help="waveglow only: the inference semantics of the code that saved the model (README "
                        "'Checkpoint formats'); a full-model pickle states it by its class and a contradicting "
                        "value is refused (default: the pickle's class, else dle)")
    for name, cls in SETTINGS.items():
        default = getattr(cls, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=_setting(cls, name), default=None,
                       metavar="N" if isinstance(default, int) else "X",
                       help=f"{cls.architecture} only, {field_range(cls, name).describe()} (default: {default})")


def run(args: argparse.Namespace) -> int:
    from ..weights.cache import cache_dir
    from ..weights.extract import extract
    from .common import local_checkpoint

    overrides = {name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}
    if args.waveglow_variant is not None:
        overrides["variant"] = args.waveglow_variant
    checkpoint = local_checkpoint(args.checkpoint, cache_dir(args.cache_dir),
                                  None if args.model == "auto" else args.model, "extract-weights")
    report = extract(checkpoint, args.output, model=args.model, allow_nonfinite=args.allow_nonfinite,
                     overrides=overrides, overwrite=args.force, use_ema=args.ema)
    config = report.config
    print(f"{args.checkpoint}: {config.architecture}")
    for name, value in config.to_dict().items():
        note = "  (runtime setting)" if name in config.runtime_fields else ""
        print(f"  {name:32s} {value}{note}")
    print(f"wrote {report.out_path}: {report.tensor_count} tensors, {report.value_count:,} values "
          f"in {report.seconds:.2f} s")
    return 0
