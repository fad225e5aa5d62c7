"""The network behind an emulated plan: defined again from the plan's sidecar and weights file, then executed by
the TensorRT network interpreter (``trtnet.interpret``).

The sidecar records what the build defined: the network name, the :class:`~trtnet.layers.options.NetworkOptions`
(``extra["options"]``), the weights file (``extra["weights_file"]``) and its sha256 (``weights_sha256``).  The
weights file is looked for where the build read it, then beside the plan under the same name, and must hash to
the recorded sha256.

Shapes come from TensorRT itself: for each distinct set of input dimensions and shape-input values the network
is defined once more with those values pinned (``Graph.trt(static_dims=...)``) and TensorRT's shape inference
gives the output shapes, as an engine's would at run time; the results are cached (the pinned network is not
kept).
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..graph import Graph
from ..sidecar import Sidecar
from ..files import file_sha256

log = logging.getLogger(__name__)

_SHAPE_CACHE = 64   # distinct input shapes remembered per engine


class EmulationError(RuntimeError):
    """A plan cannot be emulated (sidecar record, weights file), or the emulated execution failed."""


def weights_file(plan: Path, sidecar: Sidecar) -> Path:
    """The weights file the plan was built from (where the build read it, else beside the plan), hash-checked."""
    recorded = sidecar.extra.get("weights_file")
    if not recorded:
        raise EmulationError(f"{plan}: the sidecar records no weights file (extra.weights_file); the emulator "
                             "defines the network again from it. Rebuild the engine with trtnet build-engines")
    if not sidecar.weights_sha256:
        raise EmulationError(f"{plan}: the sidecar records no weights_sha256 to check {recorded} against")
    candidates = [Path(recorded), plan.parent / Path(recorded).name]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise EmulationError(f"{plan}: weights file {recorded} not found (also looked for "
                             f"{candidates[1]})")
    actual = file_sha256(found)
    if actual != sidecar.weights_sha256:
        raise EmulationError(f"{found}: weights file sha256 {actual[:16]}… differs from "
                             f"{sidecar.weights_sha256[:16]}… that {plan.name}'s sidecar records (the plan was built "
                             "from other weights)")
    return found


def network_options(plan: Path, sidecar: Sidecar) -> Any:
    from ..layers.options import NetworkOptions
    recorded = sidecar.extra.get("options")
    if not isinstance(recorded, Mapping):
        raise EmulationError(f"{plan}: the sidecar records no network options (extra.options)")
    try:
        return NetworkOptions(**recorded)
    except (TypeError, ValueError) as e:
        raise EmulationError(f"{plan}: sidecar extra.options do not make NetworkOptions: {e}") from None


class NetworkRunner:
    """The plan's network, defined again; ``output_shapes`` and ``run`` as the engine would compute them."""

    def __init__(self, plan: Path, sidecar: Sidecar) -> None:
        from ..layers import networks
        from ..weights.store import WeightStore
        self.plan, self.name = plan, sidecar.network
        if self.name not in networks.NETWORKS:
            raise EmulationError(f"{plan}: network {self.name!r} is not one trtnet defines "
                                 f"({sorted(networks.NETWORKS)})")
        self.opts = network_options(plan, sidecar)
        self.weights = weights_file(plan, sidecar)
        self._networks = networks
        self.store = WeightStore.open(self.weights)
        self._shapes: OrderedDict[tuple, dict[str, tuple[int, ...]]] = OrderedDict()
        self._seeds = itertools.count(0)
        self._plan: Any = None
        self._constants: dict[str, np.ndarray] = {}    # refitted values by constant layer name
        try:
            self.graph = self.define()
        except BaseException:
            self.store.close()
            raise

    def define(self, static_dims: Mapping[str, int] | None = None) -> Graph:
        g = Graph.trt(self.name, static_dims=dict(static_dims or {}))
        try:
            self._networks.define(self.name, g, self.store, self.opts)
        except (ValueError, KeyError, RuntimeError) as e:
            raise EmulationError(f"{self.plan}: defining network {self.name!r} from {self.weights} failed: "
                                 f"{e}") from e
        return g

    @property
    def network(self) -> Any:
        """The TensorRT ``INetworkDefinition`` (dynamic shapes) the interpreter executes."""
        return self.graph.network

    def output_shapes(self, dims: Mapping[str, int]) -> dict[str, tuple[int, ...]]:
        """Every output's shape when the named dimensions and shape inputs have the values ``dims``
        (TensorRT's shape inference on the network with those values pinned); -1 where data decides."""
        key = tuple(sorted((k, int(v)) for k, v in dims.items()))
        if key in self._shapes:
            self._shapes.move_to_end(key)
            return self._shapes[key]
        g = self.define(dims)
        shapes = {name: tuple(d if isinstance(d, int) else -1 for d in spec.shape)
                  for name, (spec, _) in g.outputs.items()}
        del g
        self._shapes[key] = shapes
        if len(self._shapes) > _SHAPE_CACHE:
            self._shapes.popitem(last=False)
        return shapes

    def run(self, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Execute the network on ``feeds`` (numpy arrays; shape inputs as 0-D arrays); each run draws the next
        seed for in-engine random fills, as repeated engine runs draw new random numbers."""
        from ..interpret import interpret_network
        if self._plan is None:
            self._plan = self._read_plan()              # read back and ordered once, reused by every run
        return interpret_network(self.network, dict(feeds), seed=next(self._seeds), plan=self._plan)

    def set_constants(self, values: Mapping[str, np.ndarray]) -> None:
        """Give the IConstantLayers named in ``values`` those values (a refit); the next run reads them."""
        self._constants = dict(values)
        self._plan = None

    def _read_plan(self) -> Any:
        from ..interpret.plan import build_plan
        from ..interpret.readback import read_network
        nodes, inputs, outputs = read_network(self.network)
        for node in nodes:
            if node.kind == "CONSTANT" and node.name in self._constants:
                node.attrs["value"] = self._constants[node.name].reshape(node.attrs["value"].shape)
        return build_plan(nodes, inputs, outputs)

    def close(self) -> None:
        self.store.close()
