"""EagerNetwork: the eager twin of an engine, with the runtime Session's ``run(feeds) -> outputs`` interface.

The same network definition runs with PyTorch (CPU or GPU).  Weights are converted once per EagerNetwork and
reused across runs; feeds and outputs are numpy arrays (``run_torch`` keeps tensors on the device).  Float feeds
are converted to the declared float dtype (engines are strict; the pipeline conforms feeds to their sidecars).
"""

from __future__ import annotations

import itertools
from typing import Any, Mapping

import numpy as np
import torch

from trtnet.graph import Graph
from trtnet.iospec import IOSpec
from trtnet.weights.store import WeightStore

from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions


class EagerNetwork:
    def __init__(self, name: str, store: WeightStore, opts: NetworkOptions, *, device: str = "cpu",
                 seed: int | None = None):
        self.name, self.store, self.opts, self.device = name, store, opts, device
        self._cache: dict[str, Any] = {}
        self._seeds = itertools.count(0 if seed is None else seed)
        self._io: IOSpec | None = None

    @property
    def io(self) -> IOSpec:
        """The network's I/O spec (names, dtypes, shapes with named dims), as an engine's sidecar has it: from a
        declaration run (zeros at the minimum shapes) the first time it is asked for."""
        if self._io is None:
            with torch.inference_mode():
                g = Graph.eager(None, self.name, device=self.device, weight_cache=self._cache)
                networks.define(self.name, g, self.store, self.opts)
                self._io = g.io_spec()
        return self._io

    def run_torch(self, feeds: Mapping[str, Any], *, seed: int | None = None) -> dict[str, torch.Tensor]:
        """Outputs as torch tensors on the network's device; each call draws a new seed unless given."""
        feeds = {k: (torch.as_tensor(v).to(self.device) if isinstance(v, (np.ndarray, torch.Tensor)) else v)
                 for k, v in feeds.items()}
        with torch.inference_mode():
            g = Graph.eager(feeds, self.name, device=self.device, seed=next(self._seeds) if seed is None else seed,
                            weight_cache=self._cache, cast_floats=True)
            networks.define(self.name, g, self.store, self.opts)
            self._io = self._io or g.io_spec()
            return g.results()

    def run(self, feeds: Mapping[str, Any], *, seed: int | None = None) -> dict[str, np.ndarray]:
        """Outputs as numpy arrays, like ``trtnet.runtime.session.Session.run``."""
        return {k: v.detach().cpu().numpy() for k, v in self.run_torch(feeds, seed=seed).items()}

    def close(self) -> None:
        self._cache.clear()

    def __enter__(self) -> "EagerNetwork":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def eager_sessions(stores: dict[str, WeightStore], opts: NetworkOptions, names: tuple[str, ...], *,
                   device: str = "cpu", seed: int | None = None) -> dict[str, EagerNetwork]:
    """One EagerNetwork per network name, each over the store of its architecture."""
    out = {}
    for i, name in enumerate(names):
        arch = networks.NETWORKS[name].architecture
        out[name] = EagerNetwork(name, stores[arch], opts, device=device, seed=None if seed is None else seed + 1000 * i)
    return out
