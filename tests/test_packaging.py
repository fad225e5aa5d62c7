"""Packaging and the house's import structure: every package directory is listed in setup.cfg, each module
imports on its own (no import cycles), and the layers import neither torch nor the runtime."""

from __future__ import annotations

import configparser
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _config() -> configparser.ConfigParser:
    c = configparser.ConfigParser()
    c.read(ROOT / "setup.cfg")
    return c


def _package_dirs() -> dict[str, Path]:
    dirs = dict(line.split(" = ") for line in _config()["options"]["package_dir"].strip().splitlines())
    found = {}
    for pkg, d in dirs.items():
        for init in (ROOT / d).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / d)
            found[pkg + "".join(f".{p}" for p in rel.parts)] = init.parent
    return found


def _modules() -> list[str]:
    mods = []
    for pkg, d in _package_dirs().items():
        mods += [f"{pkg}.{p.stem}" for p in sorted(d.glob("*.py")) if p.stem != "__init__"]
    return sorted(mods)


def test_every_package_directory_is_installed():
    assert set(_package_dirs()) == set(_config()["options"]["packages"].split())


@pytest.mark.parametrize("module", [m for m in _modules() if ".layers." in m or m.startswith("trtnet.layers")])
def test_layers_import_neither_torch_nor_the_runtime(module):
    """Imported alone in a fresh interpreter: a layers module pulls in no torch, no trtnet.runtime."""
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('trtnet.runtime')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_imports_on_its_own():
    """Each module imported first in a fresh interpreter (an import cycle fails one of them)."""
    skip = {"trtnet.serve.triton_model"}   # runs inside Triton's Python backend (triton_python_backend_utils)
    code = ("import importlib, sys, traceback\nfailed = []\n"
            "for m in sys.argv[1:]:\n"
            "    for k in [k for k in sys.modules if k.startswith('trtnet')]: del sys.modules[k]\n"
            "    try: importlib.import_module(m)\n"
            "    except Exception as e: failed.append(f'{m}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(failed))")
    mods = [m for m in _modules() if m not in skip]
    out = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
