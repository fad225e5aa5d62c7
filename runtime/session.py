"""A name-keyed execution session: one context, one non-default stream, buffers allocated once.

Device buffers are sized for the profile maxima (inputs from the sidecar spec, outputs by ``infer_shapes``
at the max input shapes, as NVIDIA's ``allocate_buffers`` does) and reused; pinned host buffers stage the
copies.  Shape-tensor inputs live in host memory bound with ``set_tensor_address``.

Two levels:
- ``run(feeds) -> outputs``: validate, upload, execute, download, trimmed to the actual shapes;
- ``set_inputs`` / ``run_device`` / ``fetch`` / ``buffer`` / ``bind`` / ``swap``: keep data on the device
  between runs, e.g. a per-step decoder loop that feeds a step's outputs to the next step by swapping
  buffer addresses ("ping-pong"), with no host copies.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..iospec import IOSpec, SpecError, TensorSpec
from ..sidecar import atomic_write_bytes
from .cuda import CudaError, DeviceBuffer, Event, Graph, PinnedBuffer, Stream, time_ms

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

_MAX_GRAPHS = 8   # captured graphs kept per session (per distinct shapes/addresses)


# sidecar dtype names → numpy; TensorRT's own names ("float", "half") are accepted too
_DTYPES = {"float32": np.float32, "float": np.float32, "float16": np.float16, "half": np.float16,
           "int32": np.int32, "int64": np.int64, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_}

# A "shapes" mapping names every input: a shape tuple, or the int value of a shape-tensor input.
Shapes = Mapping[str, "Sequence[int] | int"]


class SessionError(RuntimeError):
    """Running an engine failed; the message names the engine and carries TensorRT's logged errors."""


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a sidecar dtype name (``float32``, ``float16``, ``int32``, ``int64``, ``bool``, ...)."""
    try:
        return np.dtype(_DTYPES[name.lower()])
    except KeyError:
        raise SpecError(f"dtype {name!r} has no numpy equivalent here; known: {sorted(_DTYPES)}") from None


def nbytes(spec: TensorSpec, shape: Sequence[int]) -> int:
    """Bytes of ``spec`` at a concrete ``shape``."""
    return int(np.prod(shape, dtype=np.int64)) * numpy_dtype(spec.dtype).itemsize


def max_input_shapes(io: IOSpec, profile: int = 0) -> dict[str, "tuple[int, ...] | int"]:
    """Each input at the profile's max (shape-tensor inputs: their max value)."""
    ranges = io.all_profiles()[profile]
    return {s.name: io.profile_shapes(ranges, s)[2][0] if s.is_shape_tensor else io.profile_shapes(ranges, s)[2]
            for s in io.inputs}


def input_capacities(io: IOSpec) -> dict[str, int]:
    """Device bytes each array input needs: its largest size over all profiles (shape tensors stay on the host)."""
    caps: dict[str, int] = {}
    for p in range(len(io.all_profiles())):
        for name, shape in max_input_shapes(io, p).items():
            spec = io.input(name)
            if not spec.is_shape_tensor:
                caps[name] = max(caps.get(name, 0), nbytes(spec, shape))
    return caps


def validate_shapes(io: IOSpec, shapes: Shapes, profile: int = 0) -> dict[str, int]:
    """Check names, ranks and profile ranges (``IOSpec.bind_dims``); return every named dimension's value."""
    if not 0 <= profile < len(io.all_profiles()):
        raise SpecError(f"profile {profile} does not exist; the engine has {len(io.all_profiles())}")
    value_inputs = {s.name for s in io.inputs if s.is_shape_tensor}
    dims: dict[str, tuple[int, ...]] = {}
    for name, v in shapes.items():
        scalar = isinstance(v, (int, np.integer))
        if scalar != (name in value_inputs) and name in {s.name for s in io.inputs}:
            raise SpecError(f"input '{name}': " + ("a shape-tensor input takes one int value" if not scalar
                                                    else f"expected a shape or an array, got the int {v}"))
        dims[name] = (int(v),) if scalar else tuple(int(d) for d in v)
    return io.bind_dims(dims, profile)


def feed_shapes(io: IOSpec, feeds: Mapping[str, Any]) -> dict[str, "tuple[int, ...] | int"]:
    """The shapes of ``feeds`` (a shape-tensor input, given as an int or a one-element array, by value)."""
    value_inputs = {s.name for s in io.inputs if s.is_shape_tensor}
    shapes: dict[str, Any] = {}
    for name, value in feeds.items():
        if isinstance(value, np.ndarray):
            if name in value_inputs and value.size != 1:
                raise SpecError(f"shape-tensor input '{name}' takes one value, got shape {list(value.shape)}")
            shapes[name] = int(value.reshape(-1)[0]) if name in value_inputs else value.shape
        elif isinstance(value, (int, np.integer)):
            shapes[name] = value
        else:
            raise SpecError(f"input '{name}': expected a numpy array, got {type(value).__name__}")
    return shapes


def validate_feeds(io: IOSpec, feeds: Mapping[str, Any], profile: int = 0) -> dict[str, int]:
    """:func:`validate_shapes`, then dtypes: arrays must have exactly the spec dtype (nothing is cast)."""
    dims = validate_shapes(io, feed_shapes(io, feeds), profile)
    for spec in io.inputs:
        value = feeds[spec.name]
        if isinstance(value, np.ndarray) and value.dtype != numpy_dtype(spec.dtype):
            raise SpecError(f"input '{spec.name}': dtype {value.dtype}, the engine takes {spec.dtype} "
                            "(convert it yourself; nothing is cast silently)")
    return dims


def with_log(message: str, errors: Sequence[str]) -> str:
    """``message`` followed by TensorRT's captured error lines."""
    return message + (":\n  " + "\n  ".join(errors) if errors else " (TensorRT logged no error)")


class Session:
    """Execution of one :class:`~.engine.Engine`; ``with`` or :meth:`close` frees everything it allocated."""

    def __init__(self, engine: "Engine", *, runtime_cache: str | os.PathLike | None = None,
                 cuda_graph: bool = False) -> None:
        self.engine, self.io = engine, engine.io
        self._stack = contextlib.ExitStack()
        self._graphs = cuda_graph and not engine.flavor.is_rtx   # RTX captures graphs itself
        self._graph_cache: dict[tuple, Graph] = {}
        self._graph_warm: set[tuple] = set()
        self._shapes_dirty = True
        self._out_shapes: dict[str, tuple[int, ...]] = {}
        try:
            self.stream = self._own(Stream())
            self._events = (self._own(Event()), self._own(Event()))
            self._staged = self._own(Event())   # recorded after uploads: pinned staging is free again
            self._ctx = self._create_context(runtime_cache, cuda_graph)
            self._host_values = {s.name: np.zeros((), numpy_dtype(s.dtype)) for s in self.io.inputs
                                 if s.is_shape_tensor}
            for name, value in self._host_values.items():
                self._ctx.set_tensor_address(name, value.ctypes.data)
            self._profile = 0
            self._capacity = self._capacities()
            self._device = {n: self._own(DeviceBuffer(c)) for n, c in self._capacity.items()}
            self._host = {n: self._own(PinnedBuffer(c)) for n, c in self._capacity.items()}
            for name, buf in self._device.items():
                self._ctx.set_tensor_address(name, buf.ptr)
        except BaseException:
            self._stack.close()
            raise

    def _own(self, resource: Any) -> Any:
        return self._stack.enter_context(resource)

    def _create_context(self, runtime_cache: str | os.PathLike | None, cuda_graph: bool) -> Any:
        e, trt = self.engine.trt_engine, self.engine.trt
        if not self.engine.flavor.is_rtx:
            if runtime_cache is not None:
                raise ValueError("runtime_cache is a TensorRT-RTX feature; this engine is "
                                 f"{self.engine.flavor} (use a timing cache at build time instead)")
            ctx = e.create_execution_context()
        else:
            config = e.create_runtime_config()
            if cuda_graph:
                config.cuda_graph_strategy = trt.CudaGraphStrategy.WHOLE_GRAPH_CAPTURE
            if runtime_cache is not None:
                self._use_runtime_cache(config, Path(runtime_cache))
            ctx = e.create_execution_context(config)
        if ctx is None:
            raise SessionError(f"{self.engine.path}: could not create an execution context (see the log)")
        self._stack.callback(self._drop_context)
        return ctx

    def _use_runtime_cache(self, config: Any, path: Path) -> None:
        cache = config.create_runtime_cache()
        if path.is_file() and not cache.deserialize(path.read_bytes()):
            log.warning("%s: runtime cache does not fit this GPU/driver/TensorRT-RTX; starting empty", path)
        config.set_runtime_cache(cache)
        self._stack.callback(lambda: atomic_write_bytes(path, bytes(cache.serialize())))

    def _drop_context(self) -> None:
        self._ctx = None

    def _capacities(self) -> dict[str, int]:
        """Device bytes per tensor: inputs from the spec, outputs from ``infer_shapes`` at each profile's max."""
        caps = input_capacities(self.io)
        for p in range(len(self.io.all_profiles())):
            self._select_profile(p)
            self._apply_shapes(max_input_shapes(self.io, p))
            for name, shape in self._infer_output_shapes().items():
                caps[name] = max(caps.get(name, 0), nbytes(self.io.output(name), shape))
        self._select_profile(0)
        self.stream.synchronize()
        return caps

    # ----- shapes and profiles -------------------------------------------------------------------------------
    def _select_profile(self, profile: int) -> None:
        if profile != self._profile:
            if not self._ctx.set_optimization_profile_async(profile, self.stream.handle):
                raise SessionError(f"{self.engine.path}: cannot select optimization profile {profile}")
            self._profile = profile
            self._shapes_dirty = True

    def _apply_shapes(self, shapes: Shapes) -> None:
        """Input shapes (shape-tensor inputs: their values) into the context."""
        for spec in self.io.inputs:
            if spec.is_shape_tensor:
                self._host_values[spec.name][...] = shapes[spec.name]
                continue
            shape = tuple(int(v) for v in shapes[spec.name])
            if not self._ctx.set_input_shape(spec.name, shape):
                raise SessionError(f"{self.engine.path}: set_input_shape('{spec.name}', {list(shape)}) refused")
        self._shapes_dirty = True

    def _infer_output_shapes(self) -> dict[str, tuple[int, ...]]:
        with self.engine.logger.capture() as errors:
            try:
                missing = self._ctx.infer_shapes()
            except RuntimeError as e:
                raise SessionError(with_log(f"{self.engine.path}: shape inference failed: {e}", errors)) from e
        if missing:
            raise SessionError(f"{self.engine.path}: shapes unresolved for {list(missing)}")
        shapes = {s.name: tuple(self._ctx.get_tensor_shape(s.name)) for s in self.io.outputs}
        for name, shape in shapes.items():
            if any(d < 0 for d in shape):
                raise SessionError(f"{self.engine.path}: output '{name}' has data-dependent shape {list(shape)}; "
                                   "trtnet engines must have shape-known outputs (no IOutputAllocator here)")
        return shapes

    def set_shapes(self, shapes: Shapes, *, profile: int = 0) -> None:
        """Set every input's shape (a shape-tensor input: its int value) without moving any data."""
        validate_shapes(self.io, shapes, profile)
        self._select_profile(profile)
        self._apply_shapes(shapes)

    # ----- data movement -------------------------------------------------------------------------------------
    def set_inputs(self, feeds: Mapping[str, Any], *, profile: int = 0) -> None:
        """Validate ``feeds`` (:func:`validate_feeds`), set shapes, upload asynchronously."""
        validate_feeds(self.io, feeds, profile)
        self._select_profile(profile)
        self._apply_shapes(feed_shapes(self.io, feeds))
        self._staged.synchronize()   # the previous upload has left the staging buffers
        for spec in self.io.inputs:
            if spec.is_shape_tensor:
                continue
            arr = feeds[spec.name]
            self._host[spec.name].array(arr.dtype, arr.shape)[...] = arr
            self._device[spec.name].copy_from_host(self._host[spec.name], self.stream, arr.nbytes)
        self._staged.record(self.stream)

    def run_device(self, shapes: Shapes | None = None, *, profile: int = 0) -> dict[str, tuple[int, ...]]:
        """Enqueue one run on the data already in the bound buffers; no copies, no sync; returns output shapes."""
        if shapes is not None:
            self.set_shapes(shapes, profile=profile)
        if self._shapes_dirty:
            self._out_shapes = self._infer_output_shapes()
            for name, shape in self._out_shapes.items():
                if nbytes(self.io.output(name), shape) > self._capacity[name]:
                    raise SessionError(f"{self.engine.path}: output '{name}' {list(shape)} exceeds its buffers "
                                       f"({self._capacity[name]} bytes, sized at the profile max)")
            self._shapes_dirty = False
        if self._graphs:
            self._run_graph()
        else:
            self._enqueue()
        return dict(self._out_shapes)

    def _enqueue(self) -> bool:
        with self.engine.logger.capture() as errors:
            ok = self._ctx.execute_async_v3(self.stream.handle)
        if not ok:
            raise SessionError(with_log(f"{self.engine.path}: execute_async_v3 failed", errors))
        return ok

    def fetch(self, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Download outputs (default all) at their last shapes; waits for the stream."""
        wanted = [s.name for s in self.io.outputs] if names is None else list(names)
        for name in wanted:
            if name not in self._out_shapes:
                raise SpecError(f"'{name}' is not an output of {self.engine.path} with a known shape; "
                                f"outputs: {sorted(self._out_shapes) or 'none yet (call run_device first)'}")
            size = nbytes(self.io.output(name), self._out_shapes[name])
            self._device[name].copy_to_host(self._host[name], self.stream, size)
        self.stream.synchronize()
        return {n: self._host[n].array(numpy_dtype(self.io.output(n).dtype), self._out_shapes[n]).copy()
                for n in wanted}

    def run(self, feeds: Mapping[str, Any], *, profile: int = 0) -> dict[str, np.ndarray]:
        """Validate, upload, execute, download: ``{output name: array at its actual shape}``."""
        self.set_inputs(feeds, profile=profile)
        self.run_device()
        return self.fetch()

    # ----- buffers, ping-pong, timing ------------------------------------------------------------------------
    def buffer(self, name: str) -> DeviceBuffer:
        """The device buffer bound to tensor ``name`` now."""
        if name not in self._device:
            raise SpecError(f"no device buffer for '{name}'; tensors: {sorted(self._device)}")
        return self._device[name]

    def capacity(self, name: str) -> int:
        """Bytes tensor ``name`` needs at the profile maxima."""
        self.buffer(name)
        return self._capacity[name]

    def bind(self, name: str, buf: DeviceBuffer) -> None:
        """Bind tensor ``name`` to ``buf`` (which must hold its profile-max size)."""
        if buf.nbytes < self.capacity(name):
            raise ValueError(f"buffer of {buf.nbytes} bytes is too small for '{name}' "
                             f"({self._capacity[name]} bytes at the profile max)")
        self._ctx.set_tensor_address(name, buf.ptr)
        self._device[name] = buf

    def swap(self, pairs: Mapping[str, str]) -> None:
        """Exchange the buffers of each (input, output) pair: last run's outputs become the next inputs."""
        for a, b in pairs.items():
            buf_a, buf_b = self.buffer(a), self.buffer(b)
            if min(buf_a.nbytes, buf_b.nbytes) < max(self._capacity[a], self._capacity[b]):
                raise ValueError(f"cannot swap '{a}' and '{b}': their buffers ({buf_a.nbytes}, {buf_b.nbytes} "
                                 f"bytes) must each hold {max(self._capacity[a], self._capacity[b])} bytes")
            self.bind(a, buf_b)
            self.bind(b, buf_a)

    def timed(self, fn: Callable[[], Any]) -> float:
        """GPU milliseconds of the work ``fn`` enqueues on :attr:`stream` (CUDA events; waits for it)."""
        return time_ms(self.stream, fn, self._events)

    def _run_graph(self) -> None:
        """trtexec-style: a plain run after any shape/address change, then capture; fall back on failure.

        Graphs are kept per (shapes, addresses), so a ping-pong loop alternates between two of them.
        """
        key = (tuple(sorted(self._out_shapes.items())), tuple(sorted((n, b.ptr) for n, b in self._device.items())),
               tuple(int(v) for v in self._host_values.values()))
        graph = self._graph_cache.get(key)
        if graph is None:
            if key not in self._graph_warm:
                self._graph_warm.add(key)
                self._enqueue()
                return
            with self.engine.logger.capture() as errors:
                try:
                    graph = Graph.capture(self.stream, lambda: self._ctx.execute_async_v3(self.stream.handle))
                except (CudaError, RuntimeError) as e:
                    log.warning("%s: CUDA graph capture failed, running without graphs: %s",
                                self.engine.path, with_log(str(e), errors))
                    self._graphs = False
                    self._enqueue()
                    return
            if len(self._graph_cache) >= _MAX_GRAPHS:
                self._graph_cache.pop(next(iter(self._graph_cache))).close()
            self._graph_cache[key] = graph
        graph.launch(self.stream)

    def _close_graphs(self) -> None:
        for graph in self._graph_cache.values():
            graph.close()
        self._graph_cache.clear()

    @property
    def uses_cuda_graph(self) -> bool:
        """True while runs replay trtnet-captured CUDA graphs (False after a failed capture, and for RTX)."""
        return self._graphs

    def close(self) -> None:
        """Wait for the stream, then free graphs, buffers, context, events and stream (errors are logged)."""
        if not self.stream.closed:
            try:
                self.stream.synchronize()
            except CudaError as e:
                log.error("%s: stream synchronize before close failed: %s", self.engine.path, e)
        self._close_graphs()
        self._stack.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
