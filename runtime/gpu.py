"""Which GPU is here: name and compute capability, through ``cuda.bindings`` (no TensorRT, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from .cuda import call, cudart


@dataclass(frozen=True)
class GpuInfo:
    name: str
    major: int
    minor: int
    index: int = 0

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


def current_gpu(index: int | None = None) -> GpuInfo:
    """The current (or ``index``-th) CUDA device; :class:`~.cuda.CudaError` / ``CudaUnavailableError`` if none."""
    device = call("cudaGetDevice") if index is None else int(index)
    attr = cudart().cudaDeviceAttr
    major = call("cudaDeviceGetAttribute", attr.cudaDevAttrComputeCapabilityMajor, device)
    minor = call("cudaDeviceGetAttribute", attr.cudaDevAttrComputeCapabilityMinor, device)
    name = call("cudaGetDeviceProperties", device).name
    if isinstance(name, bytes):
        name = name.split(b"\0", 1)[0].decode(errors="replace")
    return GpuInfo(str(name), int(major), int(minor), device)
