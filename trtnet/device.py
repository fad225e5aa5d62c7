"""The current CUDA device through cuda-python (no PyTorch): recorded in sidecars of TensorRT builds."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


# what cuda-python's error names mean on a machine without a usable GPU (the raw name reads as "upgrade the driver")
_NO_GPU = {"cudaErrorInsufficientDriver": "no CUDA GPU found (no NVIDIA driver is loaded on this machine)",
           "cudaErrorNoDevice": "no CUDA GPU found (the NVIDIA driver sees no device)"}


def _reason(cudart: Any, err: Any) -> str:
    return no_gpu_reason(cudart.cudaGetErrorName(err)[1].decode())


def no_gpu_reason(name: str) -> str:
    """A cudaError name as the user should read it on a machine without a usable GPU."""
    return f"{_NO_GPU[name]} [{name}]" if name in _NO_GPU else name


def current_device() -> dict[str, Any]:
    """{"device": name, "compute_capability": "major.minor"}, or {"device": None, "reason": ...} without a GPU."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError as e:
        return {"device": None, "compute_capability": None,
                "reason": f"cuda-python not importable ({e}); pip install 'trtnet[rtx]' (or [cu12]/[cu13]) brings it"}
    err, dev = cudart.cudaGetDevice()
    if int(err) != 0:
        return {"device": None, "compute_capability": None, "reason": _reason(cudart, err)}
    err, prop = cudart.cudaGetDeviceProperties(dev)
    if int(err) != 0:
        return {"device": None, "compute_capability": None, "reason": _reason(cudart, err)}
    name = prop.name.decode(errors="replace").rstrip("\x00") if isinstance(prop.name, bytes) else str(prop.name)
    return {"device": name, "compute_capability": f"{prop.major}.{prop.minor}"}
