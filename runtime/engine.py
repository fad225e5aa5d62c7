"""Load a plan with its sidecar, check it fits this machine, and run it through name-keyed sessions.

``Engine.load`` checks the sidecar **before** deserializing: the TensorRT flavour, its version (exact for
``tensorrt``; same major.minor for ``tensorrt_rtx``) and the GPU (compute capability for ``tensorrt``; the
``SMxy`` target list for ``tensorrt_rtx``, which has no SM90).  After deserializing it checks that the
engine's I/O names and dtypes are the sidecar's.  ``Engine.session()`` gives a :class:`~.session.Session`.

``Engine.load(plan, provider=...)`` swaps only TensorRT and CUDA for what an :class:`EngineProvider` given from
above hands over (``trtnet.emulate.Emulator``: the plan's network defined again from its sidecar and run by the
interpreter), with no GPU check; everything else here and in the session is the same code.

TensorRT keeps the first logger it is given, so runtimes share the builder's process-wide
``CapturingLogger``; the errors it records during a call go into the exception.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from types import ModuleType
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
from packaging.version import InvalidVersion, Version

from .. import flavor as flavor_mod
from ..trt_logger import CapturingLogger
from ..iospec import IOSpec
from ..refit import refit_mode
from ..sidecar import Sidecar, SidecarError, sidecar_path
from . import gpu as gpu_mod
from .cuda import CUDA_PYTHON, CudaApi, CudaError, CudaUnavailableError
from .feeds import new_errors, numpy_dtype, with_log
from .session import Session

log = logging.getLogger(__name__)


class EngineLoadError(RuntimeError):
    """A plan could not be loaded: missing, unreadable, no sidecar, or TensorRT refused it (log included)."""


class NoGpuError(EngineLoadError):
    """The plan is fine but this machine has no usable CUDA GPU to run it on."""


class EngineCompatibilityError(EngineLoadError):
    """The plan does not fit here (TensorRT flavour/version, GPU) or does not match its sidecar."""


def check_compatible(sidecar: Sidecar, plan: Path, flavor: str, version: Version,
                     gpu: "gpu_mod.GpuInfo | None") -> None:
    """Raise :class:`EngineCompatibilityError` when the plan was built for another flavour, version or GPU.

    ``gpu`` None checks the flavour and version only.
    """
    if sidecar.flavor != flavor:
        raise EngineCompatibilityError(f"{plan}: built with {sidecar.flavor}, but {flavor} {version} runs here; "
                                       "rebuild the engine or choose the flavour (TRTNET_FLAVOR)")
    try:
        built = Version(sidecar.trt_version)
    except InvalidVersion:
        raise EngineCompatibilityError(f"{plan}: sidecar trt_version {sidecar.trt_version!r} is not a version") from None
    same = built == version if flavor == "tensorrt" else built.release[:2] == version.release[:2]
    if not same:
        need = "the same version" if flavor == "tensorrt" else "the same major.minor"
        raise EngineCompatibilityError(f"{plan}: built with {flavor} {built}, but {flavor} {version} is here "
                                       f"(plans need {need}); rebuild the engine")
    if gpu is None:
        return
    if flavor == "tensorrt":
        want = sidecar.targets.get("compute_capability")
        if want is None:
            raise EngineCompatibilityError(f"{plan}: the sidecar does not record targets.compute_capability")
        if str(want) != gpu.compute_capability:
            raise EngineCompatibilityError(
                f"{plan}: built for compute capability {want} ({sidecar.targets.get('device', 'unknown GPU')}), "
                f"but this GPU is {gpu}; rebuild the engine on this GPU")
        return
    targets = [str(t).upper() for t in sidecar.targets.get("compute_capabilities", ())]
    if gpu.sm not in targets:
        hint = ("TensorRT-RTX has no SM90 target: on H100/H200 use datacenter TensorRT" if gpu.major == 9
                else f"rebuild with {gpu.sm} among the targets")
        raise EngineCompatibilityError(f"{plan}: TensorRT-RTX engine built for {targets or 'no recorded targets'}, "
                                       f"but this GPU is {gpu} ({gpu.sm}); {hint}")


@dataclass(frozen=True)
class Provided:
    """What an :class:`EngineProvider` hands the runtime for one plan."""

    flavor: flavor_mod.Flavor           # its ``module`` deserializes the plan: Runtime(logger), TensorRT's enums
    cuda: CudaApi                       # the CUDA calls the engine's sessions make
    release: Callable[[], None] = lambda: None     # called once when the engine closes


class EngineProvider(Protocol):
    """Runs plans with another TensorRT and CUDA than the installed ones (``trtnet.emulate.Emulator`` is one);
    given from above to :meth:`Engine.load` / ``open_engine_dir``, so the runtime imports no provider.
    ``open`` raises RuntimeError for a plan it cannot run; the load error says "cannot <verb> <plan>: <reason>"."""

    verb: str                           # what it does with a plan, for messages ("emulate")

    def open(self, plan: Path, sidecar: Sidecar) -> Provided: ...


class Engine:
    """A deserialized engine with its sidecar; ``with`` or :meth:`close` releases it."""

    def __init__(self, path: Path, sidecar: Sidecar, flavor: flavor_mod.Flavor, runtime: Any, engine: Any,
                 on_close: Callable[[Any], None] | None = None, cuda: CudaApi = CUDA_PYTHON) -> None:
        """``on_close(engine)`` runs once when this closes (a provider releases its resources there); ``cuda``:
        the CUDA calls its sessions make."""
        self.path, self.sidecar, self.flavor, self.cuda = path, sidecar, flavor, cuda
        self._runtime, self.trt_engine = runtime, engine
        self._on_close = on_close

    @property
    def io(self) -> IOSpec:
        return self.sidecar.io

    @property
    def trt(self) -> ModuleType:
        return self.flavor.module

    @property
    def logger(self) -> Any:
        """TensorRT's process-wide logger for this module (shared with the builder)."""
        return CapturingLogger(self.flavor.module)

    @classmethod
    def load(cls, plan_path: str | os.PathLike, *, flavor: str | flavor_mod.Flavor | None = None,
             provider: "EngineProvider | None" = None, refit_stripped: bool = True) -> "Engine":
        """Check ``plan_path`` against its sidecar and this machine, then deserialize it.

        ``provider``: take TensorRT and CUDA from it instead of the installed ones, with no GPU check
        (``trtnet.emulate.Emulator()`` runs plans on the TensorRT emulator, no GPU needed; see README).
        A weight-stripped plan is refitted from the ``.h5`` its sidecar names (hash checked first) unless
        ``refit_stripped`` is False (``trtnet refit`` supplies other weights itself)."""
        plan = Path(plan_path)
        if not plan.is_file():
            raise EngineLoadError(f"{plan}: no such plan file")
        try:
            sidecar = Sidecar.read(sidecar_path(plan))
            if provider is not None:
                return cls._load_provided(plan, sidecar, provider, refit_stripped)
            fl = flavor if isinstance(flavor, flavor_mod.Flavor) else flavor_mod.resolve(flavor)
        except (SidecarError, flavor_mod.FlavorError) as e:
            raise EngineLoadError(f"cannot load {plan}: {e}") from e
        check_compatible(sidecar, plan, fl.name, fl.version, None)
        if sidecar.build_config.get("emulated_refit") and refit_mode(sidecar.build_config):
            raise EngineCompatibilityError(f"{plan}: built for the emulated runtime (build-engines --emulate-engines: "
                                           "no TensorRT refit flags set); load it with --emulate-engines or rebuild")
        try:
            gpu = gpu_mod.current_gpu()
        except (CudaError, CudaUnavailableError) as e:
            raise NoGpuError(f"{plan}: cannot run here, no usable CUDA GPU: {e}") from e
        check_compatible(sidecar, plan, fl.name, fl.version, gpu)
        return cls._deserialize(plan, sidecar, fl, gpu, refit_stripped=refit_stripped)

    @classmethod
    def _load_provided(cls, plan: Path, sidecar: Sidecar, provider: "EngineProvider",
                       refit_stripped: bool = True) -> "Engine":
        try:
            got = provider.open(plan, sidecar)
        except RuntimeError as e:
            raise EngineLoadError(f"cannot {getattr(provider, 'verb', 'open')} {plan}: {e}") from e

        def on_close(engine: Any) -> None:
            try:
                if engine is not None:
                    engine.close()
            finally:
                got.release()
        try:
            return cls._deserialize(plan, sidecar, got.flavor, None, on_close, got.cuda, refit_stripped)
        except BaseException:
            got.release()
            raise

    @classmethod
    def _deserialize(cls, plan: Path, sidecar: Sidecar, fl: flavor_mod.Flavor, gpu: Any,
                     on_close: Callable[[Any], None] | None = None, cuda: CudaApi = CUDA_PYTHON,
                     refit_stripped: bool = True) -> "Engine":
        try:
            data = plan.read_bytes()
        except OSError as e:
            raise EngineLoadError(f"{plan}: unreadable plan: {e}") from e
        if sidecar.plan_sha256 and hashlib.sha256(data).hexdigest() != sidecar.plan_sha256:
            raise EngineLoadError(f"{plan}: the plan does not match the sha256 its sidecar records "
                                  "(plan and sidecar come from different builds)")
        logger = CapturingLogger(fl.module)
        mark = len(logger.messages)
        runtime = fl.module.Runtime(logger)
        engine = runtime.deserialize_cuda_engine(data)
        if getattr(logger, "interrupted", False):     # Ctrl-C reached TensorRT's logger callback: honour it now
            logger.interrupted = False
            raise KeyboardInterrupt
        if engine is None:
            raise EngineLoadError(with_log(f"{plan}: {fl} could not deserialize the plan", new_errors(logger, mark)))
        loaded = cls(plan, sidecar, fl, runtime, engine, on_close, cuda)
        try:
            loaded._check_io()
            if refit_stripped and refit_mode(sidecar.build_config) == "stripped":
                loaded._refit_stripped(logger, mark)
        except BaseException:
            loaded.close()
            raise
        log.info("loaded %s (%s, %s)", plan, fl, gpu or "no GPU check")
        return loaded

    def _refit_stripped(self, logger: Any, mark: int) -> None:
        from ..refit import RefitError, refit_from_sidecar
        try:
            n = refit_from_sidecar(self.trt_engine, self.path, self.sidecar, self.trt, logger)
        except RefitError as e:
            raise EngineLoadError(with_log(f"{self.path}: weight-stripped plan not refitted: {e}",
                                           new_errors(logger, mark))) from e
        log.info("%s: weight-stripped plan refitted with %d weights from %s", self.path, n,
                 self.sidecar.extra.get("weights_file"))

    def _check_io(self) -> None:
        """The engine's I/O tensors must be the sidecar's, with the same dtypes and shape-tensor flags."""
        e, trt = self.trt_engine, self.trt
        names = {e.get_tensor_name(i) for i in range(e.num_io_tensors)}
        specs = {s.name: s for s in (*self.io.inputs, *self.io.outputs)}
        if names != set(specs):
            raise EngineCompatibilityError(f"{self.path}: engine I/O {sorted(names)} differs from its sidecar "
                                           f"{sorted(specs)}")
        for name, spec in specs.items():
            actual = np.dtype(trt.nptype(e.get_tensor_dtype(name)))
            if actual != numpy_dtype(spec.dtype):
                raise EngineCompatibilityError(f"{self.path}: tensor '{name}' is {actual} in the engine but "
                                               f"{spec.dtype} in the sidecar")
        for spec in self.io.inputs:
            if e.is_shape_inference_io(spec.name) != spec.is_shape_tensor:
                raise EngineCompatibilityError(f"{self.path}: input '{spec.name}': shape-tensor flag differs "
                                               "between engine and sidecar")
            if spec.is_shape_tensor or all(isinstance(d, int) for d in spec.shape):
                continue   # no profile to compare
            for p, ranges in enumerate(self.io.all_profiles()):
                built = tuple(tuple(d) for d in e.get_tensor_profile_shape(spec.name, p))
                if built != self.io.profile_shapes(ranges, spec):
                    raise EngineCompatibilityError(
                        f"{self.path}: input '{spec.name}' profile {p} is (min, opt, max) {built} in the engine "
                        f"but {self.io.profile_shapes(ranges, spec)} in the sidecar")

    def session(self, *, runtime_cache: str | os.PathLike | None = None, cuda_graph: bool = False) -> Session:
        """A :class:`~.session.Session` (buffers, stream, execution context) over this engine.

        ``runtime_cache`` (TensorRT-RTX only): a file that keeps JIT-compiled kernels between runs.
        ``cuda_graph``: replay runs as CUDA graphs where capture works (TensorRT-RTX: its own strategy).
        """
        return Session(self, runtime_cache=runtime_cache, cuda_graph=cuda_graph)

    def close(self) -> None:
        """Drop the engine and runtime (sessions must be closed first)."""
        engine, self.trt_engine, self._runtime = self.trt_engine, None, None
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close(engine)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
