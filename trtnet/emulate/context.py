"""The emulated ``IExecutionContext``: TensorRT's execution contract, enforced, around a host execution.

Strict like TensorRT, not lenient.  A call that breaks the contract logs a TensorRT-style error naming the tensor
(to the logger the runtime gave ``Runtime``) and fails the way TensorRT's does: ``set_input_shape`` /
``set_tensor_address`` / ``set_optimization_profile_async`` return False, ``infer_shapes`` raises, and
``execute_async_v3`` returns False.  ``execute_async_v3`` refuses

- an input whose shape was not set since the profile was selected (static-shaped inputs need none),
- a missing (null) address for any input or output,
- shapes or shape-input values outside the selected profile, or dimensions that disagree between inputs,
- a shape input not in host memory, an array input or output not in device memory,
- an input or output buffer smaller than the tensor at its shape (the output's shape as inferred),
- an input whose buffer was last filled with another byte count than the tensor's (another dtype or shape;
  known on the host-memory stand-in, which records writes),
- a stream that is being captured into a CUDA graph (the emulated execution synchronizes).

Then it synchronizes the stream, copies the inputs to the host, runs the network with the interpreter, checks
the outputs have the inferred shapes and the engine's dtypes, copies them to their buffers and synchronizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..iospec import SpecError
from ..runtime.cuda import CudaError
from . import memory
from . import tensorrt as trt
from .network import EmulationError

if TYPE_CHECKING:
    from .engine import EmulatedEngine

SUFFIX = " [trtnet emulator]"


class _Refused(Exception):
    """One contract violation; the message is logged and the call fails."""


class EmulatedContext:
    def __init__(self, engine: EmulatedEngine, config: trt.IRuntimeConfig | None = None) -> None:
        self.engine, self.config = engine, config
        self.active_optimization_profile = 0
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._addresses: dict[str, int] = {}

    # ---- errors ----------------------------------------------------------------------------------------------
    def _error(self, where: str, message: str, code: str = "Error Code 3: API Usage Error") -> None:
        self.engine.logger.log(trt.ILogger.Severity.ERROR, f"IExecutionContext::{where}: {code} ({message}){SUFFIX}")

    # ---- setters ---------------------------------------------------------------------------------------------
    def set_optimization_profile_async(self, profile: int, stream: int) -> bool:
        if not 0 <= int(profile) < self.engine.num_optimization_profiles:
            self._error("setOptimizationProfileAsync", f"profile {profile} does not exist; the engine has "
                        f"{self.engine.num_optimization_profiles}")
            return False
        self.active_optimization_profile = int(profile)
        self._shapes.clear()            # input shapes are set again for the new profile
        return True

    def set_input_shape(self, name: str, shape: Any) -> bool:
        e, p = self.engine, self.active_optimization_profile
        if e.get_tensor_mode(name) is not trt.TensorIOMode.INPUT:
            self._error("setInputShape", f"'{name}' is not an input tensor; inputs: {list(e.inputs)}")
            return False
        shape = tuple(int(d) for d in shape)
        declared = e.get_tensor_shape(name)
        if len(shape) != len(declared):
            self._error("setInputShape", f"tensor {name}: rank {len(shape)} {list(shape)}, the engine's is "
                        f"{len(declared)} {list(declared)}")
            return False
        bad = [i for i, (d, s) in enumerate(zip(declared, shape)) if d >= 0 and d != s]
        if bad:
            self._error("setInputShape", f"tensor {name}: dimension {bad[0]} is {shape[bad[0]]}, the engine's "
                        f"is static {declared[bad[0]]} (shape {list(shape)} vs {list(declared)})")
            return False
        if not e.is_shape_inference_io(name):
            lo, hi = e.profile_bounds(name, p)
            if any(not a <= s <= b for a, s, b in zip(lo, shape, hi)):
                self._error("setInputShape", f"Set dimension {list(shape)} for tensor {name} does not satisfy "
                            f"optimization profile {p}: min={list(lo)} max={list(hi)}")
                return False
        self._shapes[name] = shape
        return True

    def set_tensor_address(self, name: str, ptr: int) -> bool:
        if self.engine.get_tensor_mode(name) is trt.TensorIOMode.NONE:
            self._error("setTensorAddress", f"'{name}' is not an I/O tensor of the engine; tensors: "
                        f"{self.engine.names}")
            return False
        self._addresses[name] = int(ptr)
        return True

    def get_tensor_address(self, name: str) -> int:
        return self._addresses.get(name, 0)

    # ---- shapes ----------------------------------------------------------------------------------------------
    def _input_shape(self, name: str) -> tuple[int, ...] | None:
        declared = self.engine.get_tensor_shape(name)
        return self._shapes.get(name, declared if all(d >= 0 for d in declared) else None)

    def _unset(self) -> list[str]:
        return [n for n in self.engine.inputs if self._input_shape(n) is None]

    def _shape_values(self) -> dict[str, int]:
        """Each shape input's value, read from its host address and checked against the profile."""
        values = {}
        for name, spec in self.engine.inputs.items():
            if not spec.is_shape_tensor:
                continue
            ptr = self._addresses.get(name, 0)
            if not ptr:
                raise _Refused(f"shape tensor {name}: address is not set (call set_tensor_address with host memory)")
            if memory.memory_kind(self.engine.cuda, ptr) != memory.HOST:
                raise _Refused(f"shape tensor {name} must be bound to host memory, but {ptr:#x} is device memory "
                               "(TensorRT reads shape inputs on the host)")
            value = memory.read_host_scalar(ptr, trt.nptype(self.engine.get_tensor_dtype(name)))
            (lo,), (hi,) = self.engine.profile_bounds(name, self.active_optimization_profile)
            if not lo <= value <= hi:
                raise _Refused(f"shape tensor {name} has value {value}, outside optimization profile "
                               f"{self.active_optimization_profile}: [{lo}, {hi}]")
            values[name] = value
        return values

    def _dims(self, values: dict[str, int]) -> dict[str, int]:
        """Named dimension values from the set shapes, plus shape-input values (disagreements refused)."""
        dims: dict[str, int] = dict(values)
        for name, spec in self.engine.inputs.items():
            if spec.is_shape_tensor:
                continue
            for axis, (d, v) in enumerate(zip(spec.shape, self._input_shape(name))):
                if isinstance(d, str):
                    if d in dims and dims[d] != v:
                        raise _Refused(f"tensor {name}: dimension {axis} ('{d}') is {v}, but another input "
                                       f"gives {d} = {dims[d]}")
                    dims[d] = v
        return dims

    def _output_shapes(self) -> dict[str, tuple[int, ...]]:
        unset = self._unset()
        if unset:
            raise _Refused(f"input shapes not set for {unset} (call set_input_shape after selecting the profile)")
        return self.engine.runner.output_shapes(self._dims(self._shape_values()))

    def infer_shapes(self) -> list[str]:
        """[] when every output shape is known; else the inputs whose shapes are missing.  Other errors raise."""
        unset = self._unset()
        if unset:
            return unset
        try:
            self._output_shapes()
        except (_Refused, EmulationError, SpecError) as e:
            self._error("inferShapes", str(e))
            raise RuntimeError(f"infer_shapes failed: {e}") from None
        return []

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        e = self.engine
        mode = e.get_tensor_mode(name)
        if mode is trt.TensorIOMode.INPUT:
            shape = self._input_shape(name)
            return shape if shape is not None else e.get_tensor_shape(name)
        if mode is trt.TensorIOMode.OUTPUT:
            try:
                return self._output_shapes()[name]
            except (_Refused, EmulationError, SpecError):
                return tuple(-1 for _ in e.get_tensor_shape(name))
        raise KeyError(f"'{name}' is not an I/O tensor of engine {e.name}")

    # ---- execution -------------------------------------------------------------------------------------------
    def execute_async_v3(self, stream_handle: int) -> bool:
        """Check the contract, then run synchronously on ``stream_handle``; False (error logged) on failure."""
        try:
            inputs, outputs = self._checked(stream_handle)
            self._run(stream_handle, inputs, outputs)
        except _Refused as e:
            self._error("enqueueV3", str(e))
            return False
        except (EmulationError, CudaError) as e:
            self._error("enqueueV3", f"emulated execution failed: {e}", "Error Code 7: Execution Error")
            return False
        except Exception as e:  # noqa: BLE001 - the interpreter's errors (InterpretError and kin) fail the call
            self._error("enqueueV3", f"emulated execution failed: {type(e).__name__}: {e}",
                        "Error Code 7: Execution Error")
            return False
        return True

    def _checked(self, handle: int) -> tuple[dict, dict]:
        e = self.engine
        if memory.is_capturing(self.engine.cuda, handle):
            raise _Refused("the stream is being captured into a CUDA graph; emulated engines execute on the host "
                           "and cannot be captured")
        unset = self._unset()
        if unset:
            raise _Refused(f"input shapes not set for {unset} (call set_input_shape after selecting the profile)")
        missing = [n for n in e.names if not self._addresses.get(n)]
        if missing:
            kind = "input" if e.get_tensor_mode(missing[0]) is trt.TensorIOMode.INPUT else "output"
            raise _Refused(f"address is not set for {kind} tensor {missing[0]} (all of {missing}); call "
                           "set_tensor_address before enqueue")
        values = self._shape_values()
        out_shapes = e.runner.output_shapes(self._dims(values))
        inputs, outputs = {}, {}
        for name in e.names:
            ptr = self._addresses[name]
            dtype = np.dtype(trt.nptype(e.get_tensor_dtype(name)))
            if name in values:
                inputs[name] = np.array(values[name], dtype)
                continue
            is_input = e.get_tensor_mode(name) is trt.TensorIOMode.INPUT
            shape = self._input_shape(name) if is_input else out_shapes[name]
            if any(d < 0 for d in shape):
                raise _Refused(f"output {name} has data-dependent shape {list(shape)}; trtnet engines have none")
            kind = "input" if is_input else "output"
            if memory.memory_kind(self.engine.cuda, ptr) != memory.DEVICE:
                raise _Refused(f"{kind} tensor {name} is bound to host memory at {ptr:#x}; TensorRT reads and "
                               "writes I/O tensors in device memory")
            need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            left = memory.bytes_left(self.engine.cuda, ptr)
            if left is None or left < need:
                raise _Refused(f"{kind} tensor {name} {dtype.name}{list(shape)} needs {need} bytes, but its buffer "
                               f"at {ptr:#x} holds {left or 0} from there")
            written = memory.last_write(self.engine.cuda, ptr) if is_input else None
            if written is not None and written[0] == ptr and written[1] != need:
                raise _Refused(f"input tensor {name} {dtype.name}{list(shape)} is {need} bytes, but the last copy "
                               f"into its buffer wrote {written[1]} (an upload of another dtype or shape)")
            (inputs if is_input else outputs)[name] = (ptr, dtype, tuple(shape))
        return inputs, outputs

    def _run(self, handle: int, inputs: dict, outputs: dict) -> None:
        memory.synchronize(self.engine.cuda, handle)               # the uploads enqueued before this call are done
        feeds = {n: (v if isinstance(v, np.ndarray) else memory.download(self.engine.cuda, *v, handle)) for n, v in inputs.items()}
        memory.synchronize(self.engine.cuda, handle)
        results = self.engine.runner.run(feeds)
        for name, (ptr, dtype, shape) in outputs.items():
            if name not in results:
                raise EmulationError(f"the interpreter gave no output '{name}' (gave {sorted(results)})")
            value = np.asarray(results[name])
            value = value if value.flags.c_contiguous else value.copy(order="C")   # (ascontiguousarray makes 0-D 1-D)
            if value.dtype != dtype or tuple(value.shape) != shape:
                raise EmulationError(f"output '{name}' came out {value.dtype}{list(value.shape)}, but the engine "
                                     f"declares {dtype.name} and shape inference gave {list(shape)}")
            results[name] = value
            memory.upload(self.engine.cuda, ptr, value, handle)
        memory.synchronize(self.engine.cuda, handle)               # the host arrays may go once the copies are done
