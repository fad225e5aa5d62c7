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
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from ..iospec import SpecError
from ..files import atomic_write_bytes
from .cuda import CudaError, CudaGraph, DeviceBuffer, Event, PinnedBuffer, Stream, time_ms
from .feeds import (Shapes, check_dtypes, feed_shapes, input_capacities, max_input_shapes, nbytes, new_errors,
                    numpy_dtype, validate_shapes, with_log)

if TYPE_CHECKING:
    from .engine import Engine

log = logging.getLogger(__name__)

_MAX_GRAPHS = 8   # captured graphs kept per session (per distinct shapes/addresses)


class SessionError(RuntimeError):
    """Running an engine failed; the message names the engine and carries TensorRT's logged errors."""


def _save_runtime_cache(cache: Any, path: Path) -> None:
    try:
        atomic_write_bytes(path, bytes(cache.serialize()))
    except OSError as e:
        log.error("%s: could not save the TensorRT-RTX runtime cache: %s", path, e)


class Session:
    """Execution of one :class:`~.engine.Engine`; ``with`` or :meth:`close` frees everything it allocated."""

    def __init__(self, engine: "Engine", *, runtime_cache: str | os.PathLike | None = None,
                 cuda_graph: bool = False) -> None:
        self.engine, self.io = engine, engine.io
        self._stack = contextlib.ExitStack()
        self._graphs = cuda_graph and not engine.flavor.is_rtx   # RTX captures graphs itself
        self._graph_cache: dict[tuple, CudaGraph] = {}
        self._graph_warm: set[tuple] = set()
        self._shapes_dirty = True
        self._applied: tuple = ()   # (profile, input shapes/values) last set: part of a graph's key
        self._out_shapes: dict[str, tuple[int, ...]] = {}
        try:
            cuda = engine.cuda
            self.stream = self._own(Stream(cuda))
            self._events = (self._own(Event(cuda)), self._own(Event(cuda)))
            self._staged = self._own(Event(cuda))   # recorded after uploads: pinned staging is free again
            self._ctx = self._create_context(runtime_cache, cuda_graph)
            self._host_values = {s.name: np.zeros((), numpy_dtype(s.dtype)) for s in self.io.inputs
                                 if s.is_shape_tensor}
            for name, value in self._host_values.items():
                self._ctx.set_tensor_address(name, value.ctypes.data)
            self._profile = 0
            self._capacity = self._capacities()
            self._device = {n: self._own(DeviceBuffer(c, cuda)) for n, c in self._capacity.items()}
            self._host = {n: self._own(PinnedBuffer(c, cuda)) for n, c in self._capacity.items()}
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
        self._stack.callback(setattr, self, "_ctx", None)   # release the execution context on close
        return ctx

    def _use_runtime_cache(self, config: Any, path: Path) -> None:
        cache = config.create_runtime_cache()
        if path.is_file() and not cache.deserialize(path.read_bytes()):
            log.warning("%s: runtime cache does not fit this GPU/driver/TensorRT-RTX; starting empty", path)
        config.set_runtime_cache(cache)
        self._stack.callback(_save_runtime_cache, cache, path)

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
        applied = []
        for spec in self.io.inputs:
            if spec.is_shape_tensor:
                self._host_values[spec.name][...] = shapes[spec.name]
                applied.append(int(shapes[spec.name]))
                continue
            shape = tuple(int(v) for v in shapes[spec.name])
            if not self._ctx.set_input_shape(spec.name, shape):
                raise SessionError(f"{self.engine.path}: set_input_shape('{spec.name}', {list(shape)}) refused")
            applied.append(shape)
        self._applied = (self._profile, *applied)
        self._shapes_dirty = True

    def _infer_output_shapes(self) -> dict[str, tuple[int, ...]]:
        mark = len(self.engine.logger.messages)
        try:
            missing = self._ctx.infer_shapes()
        except RuntimeError as e:
            errors = new_errors(self.engine.logger, mark)
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
        """Validate ``feeds`` (:func:`~.feeds.validate_feeds`), set shapes, upload asynchronously."""
        shapes = feed_shapes(self.io, feeds)
        validate_shapes(self.io, shapes, profile)
        check_dtypes(self.io, feeds)
        self._select_profile(profile)
        self._apply_shapes(shapes)
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

    def _enqueue(self) -> None:
        mark = len(self.engine.logger.messages)
        if not self._ctx.execute_async_v3(self.stream.handle):
            errors = new_errors(self.engine.logger, mark)
            raise SessionError(with_log(f"{self.engine.path}: execute_async_v3 failed", errors))

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
        key = (self._applied, tuple(b.ptr for b in self._device.values()))
        graph = self._graph_cache.get(key)
        if graph is None:
            if key not in self._graph_warm:
                self._graph_warm.add(key)
                self._enqueue()
                return
            mark = len(self.engine.logger.messages)
            try:
                graph = CudaGraph.capture(self.stream, lambda: self._ctx.execute_async_v3(self.stream.handle))
            except (CudaError, RuntimeError) as e:
                log.warning("%s: CUDA graph capture failed, running without graphs: %s",
                            self.engine.path, with_log(str(e), new_errors(self.engine.logger, mark)))
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
