"""``trtnet inspect WEIGHTS.h5``: what a weights file holds, from its root attributes (no tensor is read).

Prints the architecture, where it came from (``source_format``: the checkpoint kind, serialization, pickled class
and layout), the config (for WaveGlow its ``variant``: the inference semantics of the code that saved the model)
and the hashes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUFFIXES = (".h5", ".hdf5")


def is_weights_file(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def summary(path: Path) -> dict[str, Any]:
    """The root attributes, the config parsed from its JSON."""
    from trtnet.weights.hdf5 import peek_attrs

    attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in peek_attrs(path).items()}
    attrs["config"] = json.loads(attrs["config"]) if isinstance(attrs.get("config"), str) else attrs.get("config")
    return attrs


def print_weights(path: Path, as_json: bool) -> None:
    info = summary(path)
    if as_json:
        print(json.dumps(info, indent=2, default=str))
        return
    config = dict(info.pop("config") or {})
    print(f"{path}: {info.pop('architecture', '?')} weights, {path.stat().st_size / 1e6:.1f} MB")
    if "variant" in config:
        print(f"  {'variant':32s} {config.pop('variant')}  (inference semantics of the saving code)")
    for key in sorted(info):
        print(f"  {key:32s} {info[key]}")
    print("config:")
    for key, value in config.items():
        print(f"  {key:32s} {value}")
