"""An emulated TensorRT runtime, so the real engine path (``trtnet.runtime``: engine directory, sidecar checks,
sessions, cuda-python buffers, name-based I/O, shape inputs, the pipeline) runs end to end where no TensorRT
engine can execute.

``Engine.load(plan, emulate=True)`` (and ``open_engine_dir(..., emulate=True)``, ``--emulate-engines``) loads
the plan's sidecar and gives the runtime this package's TensorRT module instead of TensorRT's.  Only TensorRT's
execution is emulated; every runtime line above it is the one that drives real engines.

Two parts, kept apart:

- :mod:`.tensorrt` (with :mod:`.engine`, :mod:`.context`, :mod:`.network`): the TensorRT runtime surface.  An
  emulated engine is the plan's network defined again from its sidecar (network name, build options, the
  hash-checked weights file) and executed by the TensorRT network interpreter (``trtnet.interpret``) when the
  runtime enqueues it.  Its execution contexts enforce TensorRT's contract strictly (see :mod:`.context`).
- :mod:`.host_cuda`: on a machine where cuda-python finds no GPU, a host-memory stand-in for the cudart calls
  ``trtnet.runtime.cuda`` makes (pushed with ``trtnet.runtime.cuda.push_stand_in`` while emulated engines are
  open).  On a GPU machine it is not used: the runtime's real allocations, copies, streams and events run
  unchanged, and the emulated engine copies device↔host around the interpreter.

Defining a network needs a TensorRT network API (``tensorrt`` or ``tensorrt_rtx``; TensorRT-RTX works without
a GPU), the layer code and the interpreter, which bring PyTorch; ``trtnet.runtime`` imports this package only
when asked to emulate.  Timings of emulated engines are the emulator's, never engine speed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from packaging.version import InvalidVersion, Version

from ..flavor import Flavor
from ..sidecar import Sidecar
from . import tensorrt
from .host_cuda import HostCudaModule
from .network import EmulationError

__all__ = ["EmulatedFlavor", "EmulationError", "HOST_CUDA", "open_emulated"]

HOST_CUDA = HostCudaModule()    # the process's one host-memory stand-in (allocations are shared by all sessions)


@dataclass(frozen=True)
class EmulatedFlavor(Flavor):
    """The plan's flavour and version, with the emulated module; printed as emulated wherever it is logged."""

    host_memory: bool = False

    def __str__(self) -> str:
        where = "host-memory CUDA stand-in" if self.host_memory else "cuda-python device buffers"
        return f"emulated {self.name} {self.version} ({where})"


def _use_memory() -> tuple[bool, Callable[[], None]]:
    """(True, release) with the host stand-in pushed when no GPU is usable here; (False, no-op) on a GPU."""
    from ..runtime import cuda as rcuda
    if rcuda.stand_in() is None and rcuda.cuda_available()[0]:
        return False, lambda: None
    return True, rcuda.push_stand_in(HOST_CUDA)


def open_emulated(plan: Path, sidecar: Sidecar) -> tuple[EmulatedFlavor, Callable[[], None]]:
    """The flavour to load ``plan`` with, and the release to call when its engine closes.

    Registers the plan with the emulated runtime (by the sha256 its sidecar records, else the file's) and, on a
    machine without a GPU, routes ``trtnet.runtime.cuda`` to the host-memory stand-in until released.
    """
    try:
        version = Version(sidecar.trt_version)
    except InvalidVersion:
        raise EmulationError(f"{plan}: sidecar trt_version {sidecar.trt_version!r} is not a version") from None
    check_same_code(plan, sidecar)
    sha = sidecar.plan_sha256 or hashlib.sha256(Path(plan).read_bytes()).hexdigest()
    tensorrt.register_plan(Path(plan), sidecar, sha)
    host, release = _use_memory()
    return EmulatedFlavor(sidecar.flavor, tensorrt, version, host), release


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
