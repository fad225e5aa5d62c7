"""An independent interpreter of TensorRT networks: reads an ``INetworkDefinition`` back through the TensorRT
Python API and computes its outputs on the CPU (numpy; torch for matrix products and convolutions), layer by
layer, with TensorRT's documented semantics.

    outputs = interpret_network(network, {"x": x, "max_steps": 50}, seed=0)

Its only inputs are the network and the feeds: it never looks at how the network was made.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .errors import InterpretError
from .plan import Plan, build_plan
from .readback import read_network
from .run import Context, bind_inputs, run_block


def plan_network(network: Any) -> Plan:
    """Read ``network`` back and plan it (layer order, loop and conditional regions); reusable across calls."""
    nodes, inputs, outputs = read_network(network)
    return build_plan(nodes, inputs, outputs)


def interpret_network(network: Any, feeds: Mapping[str, Any], *, seed: int | None = None,
                      record: dict | None = None, plan: Plan | None = None) -> dict[str, np.ndarray]:
    """Every network output by name, as numpy arrays of the dtype TensorRT declares.

    ``feeds`` maps input names to arrays (shape-tensor inputs: 0-D arrays or ints), dtypes exactly as declared.
    ``seed`` seeds the RANDOM_* fills (None: 0).  ``record`` (a dict) receives every tensor's values by
    tensor name, one list entry per evaluation (inside loops, one per iteration).  ``plan`` reuses :func:`plan_network`'s result for ``network``.
    """
    plan = plan or plan_network(network)
    ctx = Context(0 if seed is None else int(seed), record)
    bind_inputs(plan, dict(feeds), ctx)
    run_block(plan.top, ctx)
    return {name: ctx.values[name] for name in plan.outputs}


__all__ = ["interpret_network", "plan_network", "InterpretError", "Plan"]
