"""Plan sizes of the same engines built plain, ``--refittable`` and ``--strip-weights`` (the README's "Refit and
weight-stripped plans" table): ``python3 docs/bench/plan_sizes.py OUT_DIR [--json FILE] [build-engines flags ...]``
builds the default engines (full-size demo models unless weights are given) three times into
``OUT_DIR/{plain,refittable,stripped}`` with the same flags and prints a Markdown table of each plan's bytes (from
each ``build_config.json``).  Needs a flavour that builds the flags: TensorRT, or TensorRT-RTX with a GPU."""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODES = {"plain": (), "refittable": ("--refittable",), "stripped": ("--strip-weights",)}


def main(argv: list[str]) -> int:
    from trtnet.tools.cli import main as cli
    if not argv or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    out, rest, json_path = Path(argv[0]), argv[1:], None
    if "--json" in rest:
        i = rest.index("--json")
        json_path, rest = Path(rest[i + 1]), rest[:i] + rest[i + 2:]
    sizes: dict[str, dict[str, int]] = {}
    for mode, flags in MODES.items():
        if cli(["build-engines", "-o", str(out / mode), *flags, *rest]) != 0:
            return 1
        index = json.loads((out / mode / "build_config.json").read_text())
        sizes[mode] = {n: int(e["plan_bytes"]) for n, e in index["engines"].items()}
        flavor = f"{index['flavor']} {index['trt_version']}, {index['options']['precision']}"
    print(f"| engine ({flavor}) | plain (MB) | --refittable (MB) | --strip-weights (MB) | stripped / plain |")
    print("| --- | --- | --- | --- | --- |")
    for n, plain in sizes["plain"].items():
        r, s = sizes["refittable"][n], sizes["stripped"][n]
        print(f"| {n} | {plain / 1e6:.2f} | {r / 1e6:.2f} | {s / 1e6:.2f} | {s / plain:.1%} |")
    if json_path:
        json_path.write_text(json.dumps({"flavor": flavor, "bytes": sizes}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
