"""Which TensorRT runs here: ``tensorrt`` (datacenter, TRT 10.x/11.x) when importable, else ``tensorrt_rtx``.

An explicit choice comes from the ``flavor`` argument or the ``TRTNET_FLAVOR`` environment variable
(``auto``, ``tensorrt`` or ``rtx``).  The choice is logged once.  Versions are compared with
``packaging.version``, never by string slicing.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from dataclasses import dataclass
from types import ModuleType

from packaging.version import Version

log = logging.getLogger(__name__)

MODULES = {"tensorrt": "tensorrt", "rtx": "tensorrt_rtx"}
# oldest releases whose network API trtnet uses (strong typing, add_fill with output type, loops)
MINIMUM = {"tensorrt": Version("10.0"), "tensorrt_rtx": Version("1.0")}


class FlavorError(RuntimeError):
    """No usable TensorRT module, or the requested one is missing or too old."""


@dataclass(frozen=True)
class Flavor:
    name: str            # "tensorrt" or "tensorrt_rtx"
    module: ModuleType
    version: Version

    @property
    def is_rtx(self) -> bool:
        return self.name == "tensorrt_rtx"

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def _import(module_name: str) -> Flavor:
    mod = importlib.import_module(module_name)
    version = Version(mod.__version__)
    if version < MINIMUM[module_name]:
        raise FlavorError(f"{module_name} {version} is too old; trtnet needs >= {MINIMUM[module_name]}")
    return Flavor(module_name, mod, version)


@functools.lru_cache(maxsize=None)
def resolve(choice: str | None = None) -> Flavor:
    """Return the TensorRT flavour for ``choice`` (``auto``/``tensorrt``/``rtx``; None reads TRTNET_FLAVOR)."""
    choice = (choice or os.environ.get("TRTNET_FLAVOR") or "auto").lower()
    if choice in ("tensorrt_rtx",):
        choice = "rtx"
    if choice not in ("auto", *MODULES):
        raise FlavorError(f"unknown TensorRT flavour {choice!r}; use auto, tensorrt or rtx")
    tried = []
    for key in (MODULES if choice == "auto" else (choice,)):
        try:
            flavor = _import(MODULES[key])
        except ImportError as e:
            tried.append(f"{MODULES[key]}: {e}")
            continue
        log.info("TensorRT flavour: %s (%s)", flavor, "auto" if choice == "auto" else "requested")
        return flavor
    raise FlavorError("no TensorRT module could be imported (" + "; ".join(tried) + "). Install one: "
                      "pip install 'trtnet[rtx]' (builds on any machine) or 'trtnet[cu13]' (datacenter GPUs)")
