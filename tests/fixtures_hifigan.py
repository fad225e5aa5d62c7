"""Session fixtures for the HiFi-GAN tests: demo generator checkpoints (small and full size) → HDF5 → WeightStore,
the independent float64 reference, and helpers that run the networks eagerly.

Import the fixtures into a test module (``from fixtures_hifigan import hg_small, hg_full``).  Checkpoint and HDF5
file are cached in pytest's cache directory under their demo content key and the file's content hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
import torch

from graph_helpers import rel_err as relative_error  # noqa: F401 (re-exported for the tests)
from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions
from trtnet.weights.config import HiFiGANConfig
from trtnet.weights.demo import content_key, hifigan_checkpoint
from trtnet.weights.errors import WeightsFormatError
from trtnet.weights.extract import extract
from trtnet.weights.hdf5 import peek_attrs
from trtnet.weights.reference.hifigan import HiFiGANReference
from trtnet.weights.store import WeightStore

SEED = 0


@dataclass
class HiFiGANModel:
    """One demo HiFi-GAN: config, checkpoint, extracted HDF5, the store over it and the float64 reference."""

    size: str
    config: HiFiGANConfig
    checkpoint: Path
    h5: Path
    store: WeightStore
    reference: HiFiGANReference

    def mel(self, batch: int, frames: int, seed: int = 0) -> np.ndarray:
        """A random mel [B, n_mel, T] float32 in a log-mel-like range."""
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((batch, self.config.n_mel_channels, frames)) * 2.0 - 4.0).astype(np.float32)

    def reference_audio(self, mel: np.ndarray) -> torch.Tensor:
        """The reference's float64 audio [B, hop·T]."""
        return self.reference.infer(torch.from_numpy(np.asarray(mel, np.float32)).double())


def _stamp(key: str, h5: Path) -> dict[str, Any]:
    try:
        return {"key": key, "content_sha256": peek_attrs(h5).get("content_sha256")}
    except WeightsFormatError:
        return {"key": key, "content_sha256": None}


def demo_files(cache: Path, size: str, config: HiFiGANConfig) -> tuple[Path, Path]:
    """Checkpoint and HDF5 of the demo generator, rebuilt unless the cached pair carries the same key."""
    key = content_key("hifigan", config, SEED)
    ckpt, h5, stamp = cache / f"hifigan_{size}.pt", cache / f"hifigan_{size}.h5", cache / f"hifigan_{size}.key"
    if stamp.exists() and ckpt.exists() and h5.exists() and json.loads(stamp.read_text()) == _stamp(key, h5):
        return ckpt, h5
    for p in (stamp, ckpt, h5):
        p.unlink(missing_ok=True)
    torch.save(hifigan_checkpoint(config, SEED), ckpt)
    extract(ckpt, h5, model="hifigan", overwrite=True)  # the demo config states every non-DLE field
    stamp.write_text(json.dumps(_stamp(key, h5)))
    return ckpt, h5


def _model(request: Any, size: str, config: HiFiGANConfig) -> HiFiGANModel:
    cache = Path(request.config.cache.mkdir("trtnet_hifigan_demo"))
    ckpt, h5 = demo_files(cache, size, config)
    store = WeightStore.open(h5, "hifigan")
    if store.config != config:
        raise AssertionError(f"extracted config {store.config} differs from the demo config {config}")
    reference = HiFiGANReference.from_checkpoint(ckpt, config).double().eval()
    return HiFiGANModel(size, config, ckpt, h5, store, reference)


@pytest.fixture(scope="session")
def hg_small(request) -> HiFiGANModel:
    """HiFiGANConfig.small(): 4 stages, 3 resblocks of 3 dilations, 32 channels, hop 16."""
    model = _model(request, "small", HiFiGANConfig.small())
    yield model
    model.store.close()


@pytest.fixture(scope="session")
def hg_full(request) -> HiFiGANModel:
    """DLE's HiFi-GAN V1: 512 channels, rates 8·8·2·2, resblock kernels 11/7/3, dilations 1/3/5."""
    model = _model(request, "full", HiFiGANConfig())
    yield model
    model.store.close()


def run_network(name: str, model: HiFiGANModel, feeds: Mapping[str, Any], opts: NetworkOptions
                ) -> dict[str, torch.Tensor]:
    """Run registry network ``name`` eagerly on ``feeds`` (numpy arrays; strength as a Python float)."""
    feeds = {k: np.asarray(v, np.float32) if isinstance(v, float) else v for k, v in feeds.items()}
    g = Graph.eager(feeds, name)
    with torch.no_grad():
        networks.define(name, g, model.store, opts)
    return g.results()


def hifigan_audio(model: HiFiGANModel, mel: np.ndarray, *, frames: np.ndarray | None = None,
                  precision: str = "fp32") -> torch.Tensor:
    """Eager ``hifigan`` audio [B, hop·T]; ``frames`` [B] the valid frames per item (default: all)."""
    opts = NetworkOptions(precision=precision)
    if frames is None:
        frames = np.full(mel.shape[0], mel.shape[-1], np.int32)
    return run_network("hifigan", model, {"mel": mel.astype(opts.dtype.numpy), "frames": frames}, opts)["audio"]
