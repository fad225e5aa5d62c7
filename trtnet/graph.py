"""Graph: inputs with named dynamic dimensions, outputs, name scopes, and the one place ops are emitted.

A Graph wraps one backend:

* ``Graph.trt(name)``: a strongly typed TensorRT ``INetworkDefinition`` (TensorRT or TensorRT-RTX), built to a
  plan by ``trtnet.build``;
* ``Graph.eager(feeds)``: PyTorch, evaluated as the network is defined (same layer code, TensorRT semantics).

Every op ends in :meth:`Graph.apply`, which names the work ``scope/sub/op_n`` and hands it to the backend; the
TensorRT backend's ``add`` is the only caller of ``INetworkDefinition.add_*``.  There is no module-level
"current graph": ops find the graph through their tensor operands.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .dtypes import DType, as_dtype
from .errors import GraphError
from .iospec import DimRange, IOSpec, TensorSpec
from .manifest import WeightEntry, args_json, transform_name
from .tensor import Tensor


class Graph:
    def __init__(self, backend: Any, name: str, record: dict | None = None):
        self.name = name
        self.record = record
        self._runs = 0
        self.backend = backend
        backend.graph = self
        self.dims: dict[str, DimRange] = {}
        self.inputs: dict[str, TensorSpec] = {}
        self.input_tensors: dict[str, Tensor] = {}
        self.outputs: dict[str, tuple[TensorSpec, Tensor]] = {}
        self._scopes: list[str] = []
        self._counters: dict[str, int] = defaultdict(int)
        self._names: set[str] = set()
        self.shape_memo: dict[tuple, Any] = {}    # ops.shape: sizes and shape tensors built once per graph
        self.manifest: dict[str, WeightEntry] = {}   # constant layer name → where its values come from

    # ---- construction ---------------------------------------------------------------------------------
    @classmethod
    def trt(cls, name: str = "network", *, flavor: str | None = None,
            static_dims: Mapping[str, int] | None = None, record: dict | None = None) -> "Graph":
        """A TensorRT graph.  ``static_dims`` pins named dimensions (and shape inputs) to fixed values, so
        TensorRT infers concrete shapes at definition time (used to compare with eager shapes).  ``record``:
        see :meth:`apply`."""
        from .backends.trt import TrtBackend
        return cls(TrtBackend(flavor, static_dims or {}), name, record)

    @classmethod
    def eager(cls, feeds: Mapping[str, Any] | None, name: str = "network", *, device: str | None = None,
              seed: int | None = None, weight_cache: dict | None = None, cast_floats: bool = False,
              record: dict | None = None) -> "Graph":
        """A PyTorch graph evaluated immediately; ``feeds`` maps input names to arrays/tensors (ints for
        shape inputs), or is None for a declaration run (every input zeros at its dimensions' minimum: the
        definition's I/O spec without data).  ``seed`` seeds the random fills (IFillLayer RANDOM_* twins); ``weight_cache`` keeps
        converted weights between runs of the same network definition (see :meth:`weight`); ``cast_floats``
        converts float feeds to the declared float dtype (otherwise a dtype mismatch is an error); ``record``:
        see :meth:`apply`."""
        from .backends.eager import EagerBackend
        return cls(EagerBackend(feeds, device, seed, weight_cache, cast_floats), name, record)

    @property
    def is_eager(self) -> bool:
        return self.backend.kind == "eager"

    @property
    def static_dims(self) -> dict[str, int]:
        """Named dimensions and shape inputs pinned at definition time (``Graph.trt(static_dims=...)``)."""
        return dict(self.backend.static_dims)

    # ---- the TensorRT objects behind a TensorRT graph (for trtnet.build and the interpreter) ------------
    def _trt(self) -> Any:
        if self.backend.kind != "trt":
            raise GraphError(f"graph '{self.name}' is {self.backend.kind}; only TensorRT graphs (Graph.trt) have a "
                             "network, builder and TensorRT flavour")
        return self.backend

    @property
    def network(self) -> Any:
        """The ``INetworkDefinition`` (TensorRT graphs only)."""
        return self._trt().network

    @property
    def num_layers(self) -> int:
        """Layers in the network so far (TensorRT graphs only)."""
        return self._trt().network.num_layers

    @property
    def builder(self) -> Any:
        """The ``IBuilder`` that created the network (TensorRT graphs only)."""
        return self._trt().builder

    @property
    def flavor(self) -> Any:
        """The TensorRT flavour (:class:`trtnet.flavor.Flavor`: name, module, version; TensorRT graphs only)."""
        return self._trt().flavor

    @property
    def trt_logger(self) -> Any:
        """The flavour's capturing ILogger (``messages``, ``clear()``; TensorRT graphs only)."""
        return self._trt().logger

    # ---- naming -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Name scope; dots become slashes so weight keys map to layer names
        (``decoder.attention_rnn`` → ``decoder/attention_rnn/...``)."""
        parts = [p for p in name.replace(".", "/").split("/") if p]
        self._scopes.extend(parts)
        try:
            yield
        finally:
            del self._scopes[len(self._scopes) - len(parts):]

    @property
    def scope_path(self) -> str:
        return "/".join(self._scopes)

    @contextlib.contextmanager
    def at_scope(self, path: str) -> Iterator[None]:
        """Name layers in scope ``path`` (a former :attr:`scope_path`) instead of the current one."""
        saved, self._scopes = self._scopes, [p for p in path.split("/") if p]
        try:
            yield
        finally:
            self._scopes = saved

    def naming_state(self) -> tuple[dict[str, int], set[str]]:
        """A snapshot of the name counters; restoring it before each eager loop step gives every step the
        names TensorRT's single trace gets."""
        return dict(self._counters), set(self._names)

    def restore_naming(self, state: tuple[dict[str, int], set[str]]) -> None:
        counters, names = state
        self._counters = defaultdict(int, counters)
        self._names = set(names)

    def layer_name(self, op: str, *, exact: bool = False) -> str:
        """``scope/op_n`` (n counts per scope and op), or ``scope/op`` when ``exact`` and still free."""
        base = f"{self.scope_path}/{op}" if self._scopes else op
        if exact and base not in self._names:
            self._names.add(base)
            return base
        while True:
            n = self._counters[base]
            self._counters[base] += 1
            name = f"{base}_{n}"
            if name not in self._names:
                self._names.add(name)
                return name

    # ---- dimensions and I/O -------------------------------------------------------------------------
    def dim(self, name: str, min: int, opt: int, max: int) -> str:
        """Declare a dynamic dimension and its optimization-profile range; returns the name."""
        if name in self.dims and self.dims[name] != DimRange(min, opt, max):
            raise GraphError(f"dimension '{name}' already declared as {self.dims[name]}, now {(min, opt, max)}")
        self.dims[name] = DimRange(min, opt, max)
        return name

    def input(self, name: str, dtype: Any, shape: Sequence[int | str]) -> Tensor:
        """A network input; str entries of ``shape`` are dimensions declared with :meth:`dim`."""
        shape = tuple(shape)
        for d in shape:
            if isinstance(d, str) and d not in self.dims:
                raise GraphError(f"input '{name}': unknown dimension name '{d}'; declared: {sorted(self.dims)}")
            if not isinstance(d, (str, int)) or isinstance(d, int) and d < 0:
                raise GraphError(f"input '{name}': dimension {d!r} must be a declared name or an int >= 0")
        spec = TensorSpec(name, as_dtype(dtype).value, shape)
        return self._add_input(spec)

    def shape_input(self, name: str, min: int, opt: int, max: int) -> Tensor:
        """A 0-D int32 shape-tensor input (read on the host; e.g. a step cap), with its value range."""
        self.dims[name] = DimRange(min, opt, max)
        return self._add_input(TensorSpec(name, DType.int32.value, (), is_shape_tensor=True))

    def _add_input(self, spec: TensorSpec) -> Tensor:
        if spec.name in self.inputs:
            raise GraphError(f"input '{spec.name}' declared twice")
        self.inputs[spec.name] = spec
        self._names.add(spec.name)
        t = self.backend.input(spec)
        self.input_tensors[spec.name] = t
        return t

    def output(self, name: str, tensor: Tensor, dtype: Any = None, *, dims: Sequence[int | str] | None = None
               ) -> Tensor:
        """Mark ``tensor`` (cast to ``dtype`` if given) as the network output ``name``.  ``dims`` names its axes
        for the I/O spec (declared dimension names, or expressions such as ``"256·T_mel"``) where TensorRT knows
        a size only at run time; a static size must equal the one given."""
        if name in self.outputs or name in self.inputs:
            raise GraphError(f"output name '{name}' is already used")
        if tensor.graph is not self:
            raise GraphError(f"output '{name}': tensor {tensor.name} belongs to another graph")
        if dtype is not None and as_dtype(dtype) != tensor.dtype:
            from . import ops
            tensor = ops.cast(tensor, dtype)
        self.backend.mark_output(tensor, name)
        tensor.name = name
        shape = tuple(self.backend.shape_of(tensor))
        if dims is not None:
            shape = _named_dims(name, shape, tuple(dims))
        self.outputs[name] = (TensorSpec(name, tensor.dtype.value, shape), tensor)
        return tensor

    def io_spec(self, profiles: Sequence[Mapping[str, DimRange]] = ()) -> IOSpec:
        return IOSpec(tuple(self.inputs.values()), tuple(s for s, _ in self.outputs.values()),
                      dict(self.dims), tuple(profiles))

    def results(self) -> dict[str, Any]:
        """Eager graphs: the output values (torch tensors) by name."""
        if not self.is_eager:
            raise GraphError("results() is for eager graphs; build TensorRT graphs with trtnet.build")
        return {name: t.handle for name, (_, t) in self.outputs.items()}

    # ---- emission ---------------------------------------------------------------------------------------
    def constant(self, value: Any, *, name: str | None = None, dtype: Any = None) -> Tensor:
        """A constant from an array or scalar, cast to ``dtype`` when given; ``name`` names the layer exactly
        (weights use their key's last part inside the key's scope).  Without ``dtype`` the array's own dtype
        is kept, and float64 (no TensorRT type; also what a Python float becomes) is refused: pass
        ``dtype=`` to cast it explicitly.  TRT: IConstantLayer (+ ICastLayer for bfloat16)."""
        return self._constant(value, name, dtype)[0]

    def _constant(self, value: Any, name: str | None, dtype: Any) -> tuple[Tensor, str, tuple[int, ...]]:
        arr = np.array(value, copy=True, order="C")  # not ascontiguousarray: it turns 0-D into 1-D
        if dtype is not None:
            dt = as_dtype(dtype)
            arr = arr.astype(np.float32 if dt is DType.bfloat16 else dt.numpy)
        elif arr.dtype == np.float64:
            raise GraphError(f"constant {name or ''!r} in '{self.scope_path}': float64 values {arr.shape} have no "
                             "TensorRT type; give dtype= (e.g. dtype='float32') to cast them explicitly")
        layer = self.layer_name(name or "constant", exact=name is not None)
        t = self.backend.constant(layer, arr)
        if dtype is not None and as_dtype(dtype) is DType.bfloat16:
            from . import ops
            t = ops.cast(t, DType.bfloat16)
        return t, layer, tuple(arr.shape)

    def weight(self, transform: Any, *, name: str, dtype: Any, keys: Sequence[str] = (),
               read: Any = None, args: Mapping[str, Any] | None = None) -> Tensor:
        """A weight constant named ``name`` in the current scope:
        ``transform(*(read(k) for k in keys), **args)`` cast to ``dtype``, recorded in :attr:`manifest`
        (:mod:`trtnet.manifest`: ``read`` must give what the weights file holds under each key, floats as
        float64).  ``transform`` is a module-level function (the manifest names it).  Eager graphs may share a
        cache across runs (``Graph.eager(..., weight_cache=...)``), so the array is converted once, not per run
        or per loop step.  TRT: IConstantLayer."""
        fn, args = transform_name(transform), dict(args or {})
        if keys and read is None:
            raise GraphError(f"weight '{name}': keys {list(keys)} given without a read function")
        dt = as_dtype(dtype)
        cache = self.backend.weight_cache
        key = f"{self.scope_path}/{name}|{'|'.join(keys)}|{fn}|{args_json(args)}|{dt}"
        if cache is not None and key in cache:
            layer = self.layer_name(name, exact=True)
            t, shape = self.wrap(cache[key], name), tuple(cache[key].shape)
        else:
            t, layer, shape = self._constant(transform(*(read(k) for k in keys), **args), name, dt)
            if cache is not None:
                cache[key] = t.handle
        self.manifest[layer] = WeightEntry(layer, tuple(keys), fn, dt.value, shape, args)
        return t

    def control(self, spec: Any) -> Any:
        """Control flow: ``spec`` (a :class:`trtnet.control_flow.LoopSpec` or ``CondSpec``) is lowered by the
        backend's ``ctl_<spec.kind>`` (TensorRT: one trace into an ILoop / IIfConditional; eager: run it)."""
        return getattr(self.backend, "ctl_" + spec.kind)(spec)

    def apply(self, kind: str, inputs: Sequence[Tensor], **attrs: Any) -> Tensor:
        """Run op ``kind`` on the backend (method ``op_<kind>``, one output) and wrap its result; with a
        ``record`` dict, each run is appended there as ``name: [(input handles, [output handle], n), ...]`` (n
        counts the recorded runs; eager loop bodies add one entry per step), for layer-by-layer comparisons."""
        for t in inputs:
            if not isinstance(t, Tensor):
                raise GraphError(f"op {kind}: expected Tensor operands, got {type(t).__name__}")
            if t.graph is not self:
                raise GraphError(f"op {kind}: operand {t.name} belongs to graph '{t.graph.name}', not '{self.name}'")
        name = self.layer_name(attrs.pop("name", None) or kind)
        for key, value in attrs.items():  # dynamic parameters (slice starts, fill shapes) travel as handles
            if isinstance(value, Tensor):
                if value.graph is not self:
                    raise GraphError(f"op {kind}: parameter {key} ({value.name}) belongs to another graph")
                attrs[key] = value.handle
        handle = getattr(self.backend, "op_" + kind)(name, *[t.handle for t in inputs], **attrs)
        if self.record is not None:
            self._runs += 1
            self.record.setdefault(name, []).append(([t.handle for t in inputs], [handle], self._runs))
        return self.wrap(handle, name)

    def wrap(self, handle: Any, name: str) -> Tensor:
        return Tensor(self, handle, self.backend.dtype_of(handle), name)


def _named_dims(name: str, shape: tuple, dims: tuple) -> tuple:
    """``shape`` with its run-time sizes ("?") replaced by the names in ``dims``; static sizes must agree."""
    if len(dims) != len(shape):
        raise GraphError(f"output '{name}': dims {list(dims)} name {len(dims)} axes, the tensor has {len(shape)}")
    for axis, (have, want) in enumerate(zip(shape, dims)):
        if isinstance(have, int) and isinstance(want, int) and have != want:
            raise GraphError(f"output '{name}' axis {axis}: size {have}, declared {want}")
    return tuple(want if have == "?" else have for have, want in zip(shape, dims))
