"""The README's measured CPU figures come from docs/figures.py: the README quotes its committed output, and that
output is what ``trtnet verify --demo-size small`` gives now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("figures", ROOT / "docs" / "figures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_quotes_the_scripts_committed_output(figures):
    committed = json.loads((ROOT / "docs" / "figures.json").read_text())
    assert figures.readme_block((ROOT / "README.md").read_text()) == figures.render(committed)
    assert figures.main(["--check"]) == 0


def test_the_committed_figures_are_what_verify_small_gives_now(figures):
    committed = json.loads((ROOT / "docs" / "figures.json").read_text())
    now = figures.measure()
    assert now["command"] == committed["command"] == "trtnet verify --demo-size small"
    assert figures.render(now) == figures.render(committed), "rerun python docs/figures.py --readme"


def test_short_writes_two_significant_digits(figures):
    assert figures.short(2.805447e-07) == "2.8e-7" and figures.short(1.0e-3) == "1.0e-3"
    assert figures.short(9.96e-5) == "1.0e-4"
