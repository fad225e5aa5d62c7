"""Small engine directories for the emulator tests, built once per test session with ``trtnet build-engines``
(TensorRT-RTX builds on a CPU-only machine; small demo models, optimization level 0).

Deterministic mode: prenet dropout masks and WaveGlow noise are inputs, so the emulated engines and the eager
twin see the same random numbers.  Import the fixture: ``from fixtures_emulate import engine_dirs``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ENGINES = "encoder,decoder-loop,decoder-step,postnet,waveglow,denoiser"
MAX_STEPS = 150
MAX_TEXT = 64


def build_dir(root: Path, precision: str, size: str = "small") -> Path:
    from trtnet.tools.cli import main
    out = root / f"engines_{size}_{precision}"
    assert main(["build-engines", "--demo-size", size, "-o", str(out), "--precision", precision,
                 "--optimization-level", "0", "--max-text-len", str(MAX_TEXT), "--max-decoder-steps", str(MAX_STEPS),
                 "--dropout", "input", "--noise", "input", "--engines", ENGINES]) == 0
    return out


@pytest.fixture(scope="session")
def engine_dirs(tmp_path_factory):
    """``engine_dirs(precision)`` → the directory of small engines built at that precision (cached)."""
    root = tmp_path_factory.mktemp("emulate")
    built: dict[str, Path] = {}

    def get(precision: str = "fp32") -> Path:
        if precision not in built:
            built[precision] = build_dir(root, precision)
        return built[precision]
    return get
