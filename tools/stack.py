"""``trtnet --version``: trtnet and the stack under it, one line each; what is absent says so (never fails)."""

from __future__ import annotations

import importlib
import importlib.metadata


def _dist(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _module_version(module: str) -> str | None:
    try:
        return str(importlib.import_module(module).__version__)
    except Exception:  # noqa: BLE001 - a broken install is reported as absent, --version must not fail
        return None


def _driver() -> str:
    """The CUDA driver's version (cudaDriverGetVersion: 1000·major + 10·minor), or why there is none."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        return "unknown (cuda-python not importable)"
    try:
        err, v = cudart.cudaDriverGetVersion()
    except Exception as e:  # noqa: BLE001 - bindings without a loadable CUDA runtime
        return f"unknown ({type(e).__name__})"
    if int(err) != 0 or not v:
        return "none (no NVIDIA driver loaded)"
    return f"{v // 1000}.{v % 1000 // 10}"


def stack_lines() -> list[str]:
    """``name version`` per component: trtnet, every TensorRT flavour importable here (tensorrt, tensorrt_rtx),
    cuda-python, torch, numpy and the CUDA driver."""
    from trtnet.flavor import MODULES
    from trtnet.version import __version__
    lines = [f"trtnet {__version__}"]
    flavours = [(m, _module_version(m)) for m in MODULES.values()]
    lines += [f"{m} {v}" for m, v in flavours if v] or ["TensorRT: none importable (pip install 'trtnet[rtx]' or "
                                                        "'trtnet[cu13]')"]
    for label, dist in (("cuda-python", "cuda-python"), ("torch", "torch"), ("numpy", "numpy")):
        lines.append(f"{label} {_dist(dist) or 'not installed'}")
    lines.append(f"CUDA driver {_driver()}")
    return lines


def version_text() -> str:
    return "\n".join(stack_lines())
