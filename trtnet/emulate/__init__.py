"""An emulated TensorRT runtime, so the real engine path (``trtnet.runtime``: engine directory, sidecar checks,
sessions, cuda-python buffers, name-based I/O, shape inputs, the pipeline) runs end to end where no TensorRT
engine can execute.

The runtime takes it from above: ``Engine.load(plan, provider=Emulator())``, ``open_engine_dir(..., provider=
Emulator())``, ``BackendSpec(emulate=True)``, ``--emulate-engines``.  An :class:`Emulator` is the runtime's
:class:`~trtnet.runtime.engine.EngineProvider`: for each plan it hands over this package's TensorRT module
instead of TensorRT's, and the CUDA calls to make.  Only TensorRT's execution is emulated; every runtime line
above it is the one that drives real engines.  ``trtnet.runtime`` never imports this package.

Two parts, kept apart:

- :mod:`.tensorrt` (with :mod:`.engine`, :mod:`.context`, :mod:`.network`): the TensorRT runtime surface.  An
  emulated engine is the plan's network defined again from its sidecar (network name, build options, the
  hash-checked weights file) and executed by the TensorRT network interpreter (``trtnet.interpret``) when the
  runtime enqueues it.  Its execution contexts enforce TensorRT's contract strictly (see :mod:`.context`).
- :mod:`.host_cuda`: on a machine where cuda-python finds no GPU, a host-memory stand-in for the cudart calls
  the runtime makes (each Emulator has its own; the engines it opens, and their sessions, share it).  On a GPU
  machine it is not used: the runtime's real allocations, copies, streams and events run unchanged, and the
  emulated engine copies device↔host around the interpreter.

Defining a network needs a TensorRT network API (``tensorrt`` or ``tensorrt_rtx``; TensorRT-RTX works without
a GPU), the layer code and the interpreter, which bring PyTorch.  Timings of emulated engines are the
emulator's, never engine speed.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from packaging.version import InvalidVersion, Version

from ..flavor import Flavor
from ..runtime.cuda import CUDA_PYTHON, CudaApi
from ..runtime.engine import Provided
from ..sidecar import Sidecar
from . import tensorrt
from .engine import EmulatedRuntime
from .host_cuda import HostCudaModule
from .network import EmulationError
from .refitter import Refitter, SerializationFlag, Weights, WeightsRole

__all__ = ["EmulatedFlavor", "EmulationError", "Emulator"]


@dataclass(frozen=True)
class EmulatedFlavor(Flavor):
    """The plan's flavour and version, with the emulated module; printed as emulated wherever it is logged."""

    host_memory: bool = False

    def __str__(self) -> str:
        where = "host-memory CUDA stand-in" if self.host_memory else "cuda-python device buffers"
        return f"emulated {self.name} {self.version} ({where})"


class Emulator:
    """Runs plans on the TensorRT emulator: pass one to ``Engine.load`` / ``open_engine_dir`` as ``provider``.

    ``host_memory``: use the host-memory CUDA stand-in (``host_cuda``); default: only when cuda-python finds no
    usable GPU here.  It holds the plans it opened (by sha256) and, on the host, every allocation of their
    sessions (``host_cuda.live()`` counts what is still allocated)."""

    verb = "emulate"

    def __init__(self, host_memory: bool | None = None) -> None:
        self.host_memory = not CUDA_PYTHON.available()[0] if host_memory is None else bool(host_memory)
        self.host_cuda = HostCudaModule()
        self.cuda: CudaApi = CudaApi(self.host_cuda) if self.host_memory else CUDA_PYTHON
        self._plans: dict[str, tuple[Path, Sidecar]] = {}
        self.tensorrt = _bound_module(functools.partial(EmulatedRuntime, plans=self._plans, cuda=self.cuda))

    def open(self, plan: Path, sidecar: Sidecar) -> Provided:
        """Register ``plan`` (by the sha256 its sidecar records, else the file's): the flavour to load it with,
        and this emulator's CUDA."""
        try:
            version = Version(sidecar.trt_version)
        except InvalidVersion:
            raise EmulationError(f"{plan}: sidecar trt_version {sidecar.trt_version!r} is not a version") from None
        check_same_code(plan, sidecar)
        sha = sidecar.plan_sha256 or hashlib.sha256(Path(plan).read_bytes()).hexdigest()
        self._plans[sha] = (Path(plan), sidecar)
        flavor = EmulatedFlavor(sidecar.flavor, self.tensorrt, version, self.host_memory)
        return Provided(flavor, self.cuda)


def _bound_module(runtime: functools.partial) -> ModuleType:
    """:mod:`.tensorrt` with ``Runtime(logger)`` bound to one emulator, and the refit surface (:mod:`.refitter`)."""
    m = ModuleType(tensorrt.__name__, tensorrt.__doc__)
    m.__dict__.update({k: v for k, v in vars(tensorrt).items() if not k.startswith("__")})
    m.__version__ = tensorrt.__version__
    m.Runtime = runtime
    m.Refitter, m.SerializationFlag, m.Weights, m.WeightsRole = Refitter, SerializationFlag, Weights, WeightsRole
    return m


def check_same_code(plan: Path, sidecar: Sidecar) -> None:
    """The emulator defines the plan's network again with this process's code, so it stands for the plan only
    when that code is the code that built it (the sidecar's ``code_sha256``): otherwise EmulationError (a
    plan built by other code is rebuilt, as the engine cache would; a sidecar without the digest is
    emulated with a warning)."""
    import logging

    from trtnet.version import code_digest
    built, now = sidecar.extra.get("code_sha256"), code_digest()
    if built is None:
        logging.getLogger(__name__).warning("%s: its sidecar records no code_sha256; emulating it with this "
                                            "trtnet's network code", plan)
    elif built != now:
        raise EmulationError(f"built by other network code (sidecar code_sha256 {str(built)[:12]}…, this trtnet "
                             f"{now[:12]}…): emulating it would run today's network definition instead of the "
                             "plan's; rebuild it (trtnet build-engines)")
