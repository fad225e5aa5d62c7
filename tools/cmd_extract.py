"""``trtnet extract-weights CHECKPOINT -o OUT.h5``: a DLE checkpoint → the neutral HDF5 weights file.

Prints the config inferred from the tensor shapes and the tensor count.  Runtime settings keep DLE's
defaults unless given here; they are stored in the file's config and can still be changed at build time.
"""

from __future__ import annotations

import argparse

from ..weights.config import Tacotron2Config, WaveGlowConfig

# flag → the config class it belongs to (the flag's default and type come from that dataclass)
SETTINGS = {
    "max_decoder_steps": Tacotron2Config,
    "gate_threshold": Tacotron2Config,
    "sigma": WaveGlowConfig,
    "denoiser_strength": WaveGlowConfig,
    "upsample_stride": WaveGlowConfig,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="DLE checkpoint (.pt): {'state_dict', 'config', ...} or a bare state_dict")
    p.add_argument("-o", "--output", required=True, help="HDF5 file to write (atomically)")
    p.add_argument("--model", choices=("auto", "tacotron2", "waveglow"), default="auto",
                   help="expected architecture (default: detect from the keys)")
    p.add_argument("--allow-nonfinite", action="store_true", help="extract even if weights contain NaN/Inf")
    for name, cls in SETTINGS.items():
        default = getattr(cls, name)
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=None,
                       metavar="N" if isinstance(default, int) else "X",
                       help=f"{cls.architecture} only (default: {default})")


def run(args: argparse.Namespace) -> int:
    from ..weights.extract import extract

    overrides = {name: getattr(args, name) for name in SETTINGS if getattr(args, name) is not None}
    report = extract(args.checkpoint, args.output, model=args.model, allow_nonfinite=args.allow_nonfinite,
                     overrides=overrides)
    config = report.config
    print(f"{args.checkpoint}: {config.architecture}")
    for name, value in config.to_dict().items():
        note = "  (runtime setting)" if name in config.runtime_fields else ""
        print(f"  {name:32s} {value}{note}")
    print(f"wrote {report.out_path}: {report.tensor_count} tensors, {report.value_count:,} values "
          f"in {report.seconds:.2f} s")
    return 0
