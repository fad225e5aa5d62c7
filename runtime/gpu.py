"""Which GPU is here: name and compute capability (``trtnet.device`` asks cuda-python; no TensorRT, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from ..device import current_device
from .cuda import CudaUnavailableError


@dataclass(frozen=True)
class GpuInfo:
    name: str
    major: int
    minor: int

    @property
    def compute_capability(self) -> str:
        """``"9.0"``: the form a TensorRT sidecar records in ``targets["compute_capability"]``."""
        return f"{self.major}.{self.minor}"

    @property
    def sm(self) -> str:
        """``"SM89"``: the TensorRT-RTX ``ComputeCapability`` member name."""
        return f"SM{self.major}{self.minor}"

    def __str__(self) -> str:
        return f"{self.name} (compute capability {self.compute_capability})"


def current_gpu() -> GpuInfo:
    """The current CUDA device; :class:`~.cuda.CudaUnavailableError` with the reason when there is none."""
    d = current_device()
    if d.get("device") is None:
        raise CudaUnavailableError(f"no CUDA device: {d.get('reason', 'unknown reason')}")
    major, minor = (int(v) for v in str(d["compute_capability"]).split("."))
    return GpuInfo(str(d["device"]), major, minor)
