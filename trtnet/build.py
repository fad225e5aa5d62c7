"""Build a TensorRT graph into a serialized plan plus its JSON sidecar, atomically.

``build(graph, "engines/decoder_loop.plan", BuildConfig(...))`` writes ``decoder_loop.plan`` and
``decoder_loop.json`` (see :mod:`trtnet.sidecar`; its ``weights_manifest`` is the graph's
:mod:`trtnet.manifest`).  Networks are strongly typed, so there are no precision
flags: precision is in the graph's dtypes.  A failed build raises :class:`BuildError` with TensorRT's log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import manifest
from .errors import BuildError, GraphError
from .graph import Graph
from .interrupt import interruptible
from .iospec import DimRange
from .files import atomic_write_bytes
from .sidecar import Sidecar, sidecar_path
from trtnet.runtime.measures import fmt_duration
from .version import __version__

log = logging.getLogger(__name__)

# TensorRT-RTX's default targets when none are named ("Ampere and later")
RTX_DEFAULT_TARGETS = ("SM80", "SM86", "SM89", "SM120")
VERBOSITY = {"layer_names_only": "LAYER_NAMES_ONLY", "detailed": "DETAILED", "none": "NONE"}


@dataclass(frozen=True)
class BuildConfig:
    """How to build.  ``profiles`` overrides the graph's dimension ranges (one dict per optimization profile,
    dim name → (min, opt, max)); ``timing_cache`` is a file path (TensorRT only: a no-op that needs a GPU on
    TensorRT-RTX); ``compute_capabilities`` are TensorRT-RTX targets such as ``("SM86", "SM89")``."""

    memory_pools: Mapping[str, int] = field(default_factory=dict)   # e.g. {"workspace": 1 << 30}
    optimization_level: int = 3
    profiles: tuple[Mapping[str, tuple[int, int, int]], ...] = ()
    profiling_verbosity: str = "detailed"
    timing_cache: str | None = None
    compute_capabilities: tuple[str, ...] = ()
    heartbeat_seconds: float = 10.0
    refittable: bool = False         # REFIT_INDIVIDUAL, manifest weights marked refittable (trtnet.refit)
    strip_weights: bool = False      # and STRIP_PLAN: the plan ships without them, refitted at load
    emulated_refit: bool = False     # neither flag set: a plan for the emulated runtime, marked so (trtnet.refit)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["profiles"] = [{k: list(v) for k, v in p.items()} for p in self.profiles]
        d["memory_pools"] = dict(self.memory_pools)
        return d


@dataclass(frozen=True)
class BuildResult:
    plan_path: Path
    sidecar_path: Path
    sidecar: Sidecar
    seconds: float
    plan_bytes: int


def build(graph: Graph, plan_path: str | Path, config: BuildConfig = BuildConfig(), *,
          weights_sha256: str | None = None, extra: Mapping[str, Any] | None = None) -> BuildResult:
    """Build ``graph`` (a TensorRT Graph with its outputs marked) to ``plan_path`` and its sidecar."""
    if graph.is_eager:
        raise GraphError("build() needs a TensorRT graph (Graph.trt); eager graphs are evaluated as defined")
    if not graph.outputs:
        raise GraphError(f"graph '{graph.name}' has no outputs; mark them with graph.output()")
    builder, fl, logger = graph.builder, graph.flavor, graph.trt_logger
    trt = fl.module
    plan_path = Path(plan_path)
    cfg = builder.create_builder_config()
    profiles = _profiles(graph, config)
    for prof in profiles:
        cfg.add_optimization_profile(_trt_profile(builder, graph, prof))
    for pool, nbytes in config.memory_pools.items():
        cfg.set_memory_pool_limit(getattr(trt.MemoryPoolType, pool.upper()), int(nbytes))
    cfg.builder_optimization_level = config.optimization_level
    cfg.profiling_verbosity = getattr(trt.ProfilingVerbosity, VERBOSITY[config.profiling_verbosity])
    targets = _targets(fl, cfg, config)
    cache = _timing_cache(fl, cfg, config)
    _refit_flags(graph, cfg, config)

    logger.clear()
    t0 = time.perf_counter()
    with _heartbeat(graph.name, config.heartbeat_seconds, t0), interruptible(trt, cfg):   # Ctrl-C cancels it
        try:
            plan = builder.build_serialized_network(graph.network, cfg)
        except Exception as e:  # the bindings raise for some invalid networks instead of returning None
            raise BuildError(f"building '{graph.name}' raised {type(e).__name__}: {e}", logger.messages) from None
        if getattr(logger, "interrupted", False):
            raise KeyboardInterrupt
    seconds = time.perf_counter() - t0
    if plan is None:
        raise BuildError(f"TensorRT could not build '{graph.name}' ({fl})", logger.messages)
    data = bytes(plan)
    if cache is not None:
        atomic_write_bytes(Path(config.timing_cache), bytes(cache.serialize()))
    sidecar = Sidecar(
        network=graph.name, flavor=fl.name, trt_version=str(fl.version), trtnet_version=__version__,
        io=graph.io_spec(profiles if config.profiles else ()), build_config=config.to_json(), targets=targets,
        weights_sha256=weights_sha256, extra=dict(extra or {}), plan_sha256=hashlib.sha256(data).hexdigest(),
        build_seconds=round(seconds, 3), weights_manifest=manifest.to_json(graph.manifest),
    )
    atomic_write_bytes(plan_path, data)
    sidecar.write(sidecar_path(plan_path))
    atomic_write_bytes(layers_path(plan_path), json.dumps(layer_table(graph.network), indent=1).encode())
    log.info("built %s in %s (%.1f MB) -> %s", graph.name, fmt_duration(sidecar.build_seconds), len(data) / 1e6,
             plan_path)
    return BuildResult(plan_path, sidecar_path(plan_path), sidecar, seconds, len(data))


def layers_path(plan_path: str | Path) -> Path:
    """``x.plan`` → ``x.layers.json``: every layer's name, type and outputs, readable without a GPU."""
    return Path(plan_path).with_suffix(".layers.json")


def layer_table(network: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        rows.append({"name": layer.name, "type": str(layer.type).split(".")[-1],
                     "outputs": [{"name": t.name, "dtype": str(t.dtype).split(".")[-1], "shape": list(t.shape)}
                                 for t in outs if t is not None]})
    return rows


def _profiles(graph: Graph, config: BuildConfig) -> list[dict[str, DimRange]]:
    if not config.profiles:
        return [dict(graph.dims)]
    out = []
    for i, p in enumerate(config.profiles):
        unknown = sorted(set(p) - set(graph.dims))
        if unknown:
            raise GraphError(f"profile {i}: unknown dimension names {unknown}; the graph declares {sorted(graph.dims)}")
        out.append({**graph.dims, **{k: DimRange(*v) for k, v in p.items()}})
    return out


def _trt_profile(builder: Any, graph: Graph, ranges: Mapping[str, DimRange]) -> Any:
    prof = builder.create_optimization_profile()
    spec = graph.io_spec([ranges])
    for s in spec.inputs:
        if s.name in graph.static_dims:
            continue
        lo, opt, hi = spec.profile_shapes(ranges, s)
        if s.is_shape_tensor:
            prof.set_shape_input(s.name, lo, opt, hi)
        else:
            prof.set_shape(s.name, lo, opt, hi)
    return prof


def check_targets(flavor: Any, config: BuildConfig) -> tuple[str, ...]:
    """The compute capabilities a TensorRT-RTX build targets (``config``'s or the defaults), each checked
    against the flavour's ``ComputeCapability`` enum; TensorRT builds for its own GPU and takes none."""
    names = tuple(config.compute_capabilities)
    if not flavor.is_rtx:
        if names:
            raise GraphError(f"--compute-capability {' '.join(names)}: compute capabilities are TensorRT-RTX "
                             "targets; TensorRT builds for the GPU it runs on")
        return ()
    known = [n for n in dir(flavor.module.ComputeCapability) if n.startswith("SM")]
    unknown = [n for n in names if n not in known]
    if unknown:
        hopper = " (Hopper SM90 engines need datacenter TensorRT)" if any(n.upper() == "SM90" for n in unknown) else ""
        raise GraphError(f"--compute-capability {' '.join(unknown)}: {flavor.name} builds for {', '.join(known)}"
                         + hopper)
    return names or RTX_DEFAULT_TARGETS


def _targets(fl: Any, cfg: Any, config: BuildConfig) -> dict[str, Any]:
    names = check_targets(fl, config)
    if fl.is_rtx:
        cfg.num_compute_capabilities = len(names)
        for i, n in enumerate(names):
            cfg.set_compute_capability(getattr(fl.module.ComputeCapability, n), i)
        return {"compute_capabilities": list(names)}
    from .device import current_device
    return current_device()


def _refit_flags(graph: Graph, cfg: Any, config: BuildConfig) -> None:
    from . import refit
    if not (config.refittable or config.strip_weights) or config.emulated_refit:
        return
    refit.check_flavor(graph.flavor, config.refittable, config.strip_weights)
    if graph.flavor.is_rtx:
        from .device import current_device
        if current_device()["device"] is None:
            raise BuildError(f"{graph.flavor} builds refittable / weight-stripped plans only on a GPU (its kernel "
                             "JIT needs CUDA; without one the build fails in Myelin); build on a GPU, or build "
                             "plans for the emulated runtime (build-engines --emulate-engines)", [])
    refit.set_build_flags(graph.flavor.module, graph.network, cfg, graph.manifest, config.refittable,
                          config.strip_weights)


def _timing_cache(fl: Any, cfg: Any, config: BuildConfig) -> Any:
    if not config.timing_cache:
        return None
    if fl.is_rtx:
        log.warning("timing cache ignored: a no-op on TensorRT-RTX that would also stop CPU-only builds")
        return None
    path = Path(config.timing_cache)
    cache = cfg.create_timing_cache(path.read_bytes() if path.exists() else b"")
    cfg.set_timing_cache(cache, ignore_mismatch=False)
    return cache


class _heartbeat:
    """Log 'still building' every ``every`` seconds while TensorRT works (elapsed time, no fake percentage)."""

    def __init__(self, name: str, every: float, t0: float):
        self.name, self.every, self.t0 = name, every, t0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            log.info("building %s ... %.0f s", self.name, time.perf_counter() - self.t0)

    def __enter__(self) -> "_heartbeat":
        log.info("building %s", self.name)
        if self.every > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
