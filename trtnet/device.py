"""The current CUDA device through cuda-python (no PyTorch): recorded in sidecars of TensorRT builds."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def current_device() -> dict[str, Any]:
    """{"device": name, "compute_capability": "major.minor"}, or {"device": None, "reason": ...} without a GPU."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as e:
        return {"device": None, "compute_capability": None, "reason": f"cuda-python not importable: {e}"}
    err, dev = cudart.cudaGetDevice()
    if int(err) != 0:
        return {"device": None, "compute_capability": None, "reason": cudart.cudaGetErrorName(err)[1].decode()}
    err, prop = cudart.cudaGetDeviceProperties(dev)
    if int(err) != 0:
        return {"device": None, "compute_capability": None, "reason": cudart.cudaGetErrorName(err)[1].decode()}
    name = prop.name.decode(errors="replace").rstrip("\x00") if isinstance(prop.name, bytes) else str(prop.name)
    return {"device": name, "compute_capability": f"{prop.major}.{prop.minor}"}
