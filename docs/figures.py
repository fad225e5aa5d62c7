"""Regenerate the README's measured CPU figures and print them in the README's form.

    python docs/figures.py             # measure, write docs/figures.json, print the README block
    python docs/figures.py --readme    # also rewrite the README's generated block from the new figures
    python docs/figures.py --check     # exit 1 unless the README quotes docs/figures.json (no measuring)

What it measures (what runs cheaply on a CPU): ``trtnet verify --demo-size small`` — the eager FP32 twin vs the
independent float64 reference on the small demo checkpoints (deterministic: dropout off, fed noise), each
network's max error / max |reference|.  The README quotes the block between its ``<!-- figures:verify-small -->``
markers; tests/test_figures.py checks that it equals :func:`render` of the committed ``docs/figures.json`` and that
``verify --demo-size small`` still gives these figures."""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures.json"
README = ROOT / "README.md"
COMMAND = ["verify", "--demo-size", "small"]
# README wording → the verify check it quotes
PARITY = {"encoder memory": "encoder: memory rel. error", "decoder mel": "decoder-loop: mel rel. error",
          "postnet": "postnet: mel_postnet rel. error", "WaveGlow audio": "waveglow: audio rel. error",
          "denoiser": "denoiser: audio_denoised rel. error"}
BLOCK = re.compile(r"(<!-- figures:verify-small -->\n)(.*?)(\n<!-- /figures -->)", re.S)


def measure() -> dict:
    """Run ``trtnet verify --demo-size small`` and keep the quoted checks (values as verify computes them)."""
    from trtnet.tools.cli import main
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "verify.json"
        if main([*COMMAND, "--json", str(out)]) != 0:
            raise RuntimeError(f"trtnet {' '.join(COMMAND)} failed")
        checks = {c["name"]: c["value"] for c in json.loads(out.read_text())["checks"]}
    return {"command": "trtnet " + " ".join(COMMAND), "parity": {k: checks[v] for k, v in PARITY.items()}}


def short(value: float) -> str:
    """2.805e-07 → 2.8e-7: two significant digits, as the README writes errors."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def render(figures: dict) -> str:
    """The README's generated block."""
    return "; ".join(f"{k} {short(v)}" for k, v in figures["parity"].items())


def readme_block(text: str) -> str:
    m = BLOCK.search(text)
    if m is None:
        raise ValueError(f"{README}: no <!-- figures:verify-small --> ... <!-- /figures --> block")
    return m.group(2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare the README with docs/figures.json only")
    p.add_argument("--readme", action="store_true", help="rewrite the README's block (default: print it only)")
    args = p.parse_args(argv)
    if args.check:
        want = render(json.loads(FIGURES.read_text()))
        got = readme_block(README.read_text())
        print(f"README: {got}\nfigures.json: {want}")
        return 0 if got == want else 1
    figures = measure()
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    block = render(figures)
    print(block)
    if args.readme:
        README.write_text(BLOCK.sub(lambda m: m.group(1) + block + m.group(3), README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
