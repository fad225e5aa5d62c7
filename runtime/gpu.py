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
        raise CudaUnavailableError(str(d.get("reason", "no CUDA GPU found")))
    major, minor = (int(v) for v in str(d["compute_capability"]).split("."))
    return GpuInfo(str(d["device"]), major, minor)


# GPUs TensorRT-RTX engines run on (its ComputeCapability enum; no SM90: not on H100/H200)
RTX_RUNNABLE = ("SM75", "SM80", "SM86", "SM89", "SM120", "SM121")


def engine_runtime_status(flavor: str | None = None) -> tuple[bool, str]:
    """(True, description) when this machine can execute TensorRT engines, else (False, the reason)."""
    from .. import flavor as flavor_mod
    from .cuda import cuda_available
    ok, why = cuda_available()
    if not ok:
        why = why if why.startswith("no CUDA GPU") else f"no CUDA GPU here ({why})"
        return False, f"{why}; TensorRT engines only run on a GPU"
    try:
        fl = flavor_mod.resolve(flavor)
    except (flavor_mod.FlavorError, ImportError) as e:
        return False, f"no TensorRT module: {e}"
    gpu = current_gpu()
    if fl.is_rtx and gpu.sm not in RTX_RUNNABLE:
        return False, (f"{fl} engines do not run on {gpu} (RTX targets: {', '.join(RTX_RUNNABLE)}); "
                       "install datacenter TensorRT (trtnet[cu13]) on this GPU")
    return True, f"{fl} on {gpu}"
