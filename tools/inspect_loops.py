"""``trtnet inspect``: the layers each loop of a plan's network runs per iteration, by layer type — the per-step
work measurable without a GPU.  The network is defined again from the plan's sidecar (its registry name, the
options and weights file recorded at build time) and planned by ``trtnet.interpret`` (loop membership from
the dataflow, as TensorRT infers it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


def define_from_sidecar(side: Any) -> tuple[Any, Any, Any, str | None]:
    """(TensorRT graph, model config, NetworkOptions, None) of the plan's network, defined again from the
    registry name, options and weights file its sidecar records; or (None, None, None, why not)."""
    from trtnet.graph import Graph
    from trtnet.layers import networks
    from trtnet.layers.options import NetworkOptions
    from trtnet.weights.store import WeightStore
    extra = dict(side.extra or {})
    weights, options = extra.get("weights_file"), extra.get("options")
    if side.network not in networks.NETWORKS or not weights or options is None:
        return None, None, None, (f"the sidecar of '{side.network}' does not record a registry network's options "
                                  "and weights file")
    if not Path(weights).exists():
        return None, None, None, f"the weights file it was built from, {weights}, is gone"
    opts = NetworkOptions(**options)
    with WeightStore.open(weights) as store:
        g = Graph.trt(side.network)
        networks.define(side.network, g, store, opts)
        return g, store.config, opts, None


def loop_layers(g: Any) -> dict[str, Counter]:
    """{loop name: Counter(layer type)} of a defined TensorRT graph, per iteration as the interpreter plans it."""
    from trtnet.interpret import plan_network
    from trtnet.verify.interpret_compare import loop_layer_counts
    return loop_layer_counts(plan_network(g.backend.network))


def network_layer_counts(network: Any) -> Counter:
    """Every layer of a TensorRT network definition by type (``CONSTANT``, ``SHAPE``, ...), loop bodies included."""
    return Counter(str(network.get_layer(i).type).rsplit(".", 1)[-1] for i in range(network.num_layers))


def print_loop_layers(side: Any) -> dict[str, dict[str, int]]:
    g, _, _, why = define_from_sidecar(side)
    if g is None:
        print(f"loops: not counted ({why})")
        return {}
    total = network_layer_counts(g.backend.network)
    print(f"network: {sum(total.values())} layers, {sum(total.values()) - total['CONSTANT']} not constant: "
          + ", ".join(f"{k} {v}" for k, v in total.most_common()))
    counts = loop_layers(g)
    for name, c in counts.items():
        print(f"loop {name}: {sum(c.values())} layers per iteration: " + ", ".join(f"{k} {v}" for k, v in c.most_common()))
    return {name: dict(c) for name, c in counts.items()}
