"""The emulated ``ICudaEngine``: the plan's network defined again (:mod:`.network`), presented as TensorRT presents
a deserialized engine.

I/O names, modes, dtypes, shapes (-1 where dynamic) and shape-tensor flags are read from the re-defined
``INetworkDefinition``, so a sidecar that no longer matches the network shows as an I/O mismatch exactly as it
would for a real plan.  Optimization profiles are the build's, from the sidecar (a plan carries them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

from ..dtypes import TRT_NAMES, as_dtype
from ..iospec import IOSpec, TensorSpec
from ..runtime.cuda import CudaApi
from ..sidecar import Sidecar
from . import tensorrt as trt
from .network import EmulationError, NetworkRunner
from .refit_state import RefitState
from .refitter import SerializationConfig


class EmulatedEngine:
    def __init__(self, plan: Path, sidecar: Sidecar, logger: Any, cuda: CudaApi) -> None:
        """``cuda``: the CUDA calls its contexts make to read bound buffers (the emulator's)."""
        self.plan, self.logger, self.cuda = plan, logger, cuda
        self.runner = NetworkRunner(plan, sidecar)
        self.refit_state = RefitState(plan, sidecar, self.runner)
        graph, net = self.runner.graph, self.runner.network
        self.name = sidecar.network
        self._modes: dict[str, trt.TensorIOMode] = {}
        self._dtypes: dict[str, trt.DataType] = {}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._shape_io: set[str] = set()
        tensors = [(net.get_input(i), trt.TensorIOMode.INPUT) for i in range(net.num_inputs)]
        tensors += [(net.get_output(i), trt.TensorIOMode.OUTPUT) for i in range(net.num_outputs)]
        for t, mode in tensors:
            self._modes[t.name] = mode
            self._dtypes[t.name] = getattr(trt.DataType, TRT_NAMES[as_dtype(t.dtype)])
            self._shapes[t.name] = tuple(int(d) for d in t.shape)
            if mode is trt.TensorIOMode.INPUT and t.is_shape_tensor:
                self._shape_io.add(t.name)
        self.names = list(self._modes)
        specs = {s.name: s for s in graph.io_spec().inputs}
        self.inputs: dict[str, TensorSpec] = {n: specs[n] for n in self.names if n in specs}
        self.profiles = sidecar.io.all_profiles()
        for p, ranges in enumerate(self.profiles):
            for spec in self.inputs.values():
                needed = [spec.name] if spec.is_shape_tensor else [d for d in spec.shape if isinstance(d, str)]
                missing = [d for d in needed if d not in ranges]
                if missing:
                    self.runner.close()
                    raise EmulationError(f"{plan}: input '{spec.name}' needs profile ranges for {missing}, which "
                                         f"profile {p} of the sidecar does not record")
        self._io = IOSpec(tuple(self.inputs.values()), (), profiles=tuple(self.profiles))

    # ---- the ICudaEngine surface the runtime reads -----------------------------------------------------------
    @property
    def num_io_tensors(self) -> int:
        return len(self.names)

    @property
    def num_optimization_profiles(self) -> int:
        return len(self.profiles)

    def get_tensor_name(self, index: int) -> str:
        return self.names[index]

    def _known(self, name: str) -> None:
        if name not in self._modes:
            raise KeyError(f"'{name}' is not an I/O tensor of engine {self.name}; tensors: {self.names}")

    def get_tensor_mode(self, name: str) -> trt.TensorIOMode:
        return self._modes.get(name, trt.TensorIOMode.NONE)

    def get_tensor_dtype(self, name: str) -> trt.DataType:
        self._known(name)
        return self._dtypes[name]

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        self._known(name)
        return self._shapes[name]

    def get_tensor_location(self, name: str) -> trt.TensorLocation:
        self._known(name)
        return trt.TensorLocation.HOST if name in self._shape_io else trt.TensorLocation.DEVICE

    def is_shape_inference_io(self, name: str) -> bool:
        self._known(name)
        return name in self._shape_io

    def get_tensor_profile_shape(self, name: str, profile: int) -> list[tuple[int, ...]]:
        """[min, opt, max] shapes of an array input in ``profile``."""
        spec = self._input(name)
        if spec.is_shape_tensor:
            raise ValueError(f"'{name}' is a shape-tensor input; use get_tensor_profile_values")
        return [tuple(s) for s in self._io.profile_shapes(self._profile(profile), spec)]

    def get_tensor_profile_values(self, profile: int, name: str) -> list[list[int]]:
        """[min, opt, max] values of a shape-tensor input in ``profile``."""
        spec = self._input(name)
        if not spec.is_shape_tensor:
            raise ValueError(f"'{name}' is not a shape-tensor input")
        return [list(v) for v in self._io.profile_shapes(self._profile(profile), spec)]

    def create_runtime_config(self) -> trt.IRuntimeConfig:
        return trt.IRuntimeConfig()

    def create_execution_context(self, config: trt.IRuntimeConfig | None = None) -> Any:
        from .context import EmulatedContext
        if not self.refit_state.present:
            self.logger.log(trt.ILogger.Severity.ERROR, f"ICudaEngine::createExecutionContext: engine {self.name} "
                            "is weight-stripped and has not been refitted with its weights [trtnet emulator]")
            return None
        return EmulatedContext(self, config)

    # ---- refit (the Refitter's side, :mod:`.refitter`) -------------------------------------------------------
    @property
    def refittable(self) -> bool:
        return self.refit_state.mode is not None

    @property
    def refit_prototypes(self) -> dict[str, Any]:
        return self.refit_state.prototypes

    @property
    def weights_present(self) -> bool:
        return self.refit_state.present

    def apply_refit(self, values: Any) -> None:
        self.refit_state.apply(self.runner, values)

    def create_serialization_config(self) -> SerializationConfig:
        return SerializationConfig()

    def serialize(self) -> bytes:
        return self.refit_state.serialize()

    def serialize_with_config(self, config: SerializationConfig) -> bytes:
        return self.refit_state.serialize(config)

    # ---- helpers for the context -----------------------------------------------------------------------------
    def _input(self, name: str) -> TensorSpec:
        if name not in self.inputs:
            raise KeyError(f"'{name}' is not an input of engine {self.name}; inputs: {list(self.inputs)}")
        return self.inputs[name]

    def _profile(self, profile: int) -> Any:
        if not 0 <= profile < len(self.profiles):
            raise IndexError(f"profile {profile} does not exist; engine {self.name} has {len(self.profiles)}")
        return self.profiles[profile]

    def profile_bounds(self, name: str, profile: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(min, max) shape (shape tensors: value) of input ``name`` in ``profile``."""
        lo, _, hi = self._io.profile_shapes(self._profile(profile), self._input(name))
        return tuple(lo), tuple(hi)

    def close(self) -> None:
        self.runner.close()


class EmulatedRuntime:
    """TensorRT's ``Runtime(logger)`` over an emulator's ``plans`` (plan sha256 → plan path, sidecar): a plan is
    opaque bytes, known by its sidecar; bytes nobody registered are refused like a corrupt plan (an error
    logged, None returned).  Errors go to ``logger``."""

    def __init__(self, logger: Any, plans: Mapping[str, tuple[Path, Sidecar]], cuda: CudaApi) -> None:
        self.logger, self._plans, self._cuda = logger, plans, cuda

    def deserialize_cuda_engine(self, data: bytes) -> Any:
        """An :class:`~.engine.EmulatedEngine`, or None with the reason logged as an error."""
        entry = self._plans.get(hashlib.sha256(bytes(data)).hexdigest())
        if entry is None:
            self.logger.log(trt.ILogger.Severity.ERROR, "IRuntime::deserializeCudaEngine: Error Code 1: Serialization "
                            "(these plan bytes were not registered with the emulator; open plans through "
                            "trtnet.runtime.engine.Engine.load(plan, provider=Emulator())) [trtnet emulator]")
            return None
        plan, sidecar = entry
        try:
            return EmulatedEngine(plan, sidecar, self.logger, self._cuda)
        except EmulationError as e:
            self.logger.log(trt.ILogger.Severity.ERROR, f"IRuntime::deserializeCudaEngine: {e} [trtnet emulator]")
            return None
        except Exception as e:  # noqa: BLE001 - like TensorRT: a plan that cannot be loaded gives None and a log
            self.logger.log(trt.ILogger.Severity.ERROR, f"IRuntime::deserializeCudaEngine: defining {sidecar.network} "
                            f"for {plan} failed: {type(e).__name__}: {e} [trtnet emulator]")
            return None
