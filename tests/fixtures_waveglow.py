"""Session fixtures for the WaveGlow layer tests: demo checkpoints (small and full size) → HDF5 → WeightStore, plus
the independent float64 reference, and helpers that run the networks eagerly.

Import the fixtures into a test module (``from fixtures_waveglow import wg_small, wg_full``).  Checkpoint and HDF5
file are cached in pytest's cache directory under their demo content key, so only the first run pays for the
full-size extraction (~1 min).
"""

from __future__ import annotations

import json
import dataclasses
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
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.demo import content_key, waveglow_checkpoint
from trtnet.weights.errors import WeightsFormatError
from trtnet.weights.extract import extract
from trtnet.weights.hdf5 import peek_attrs
from trtnet.weights.hparams import NOT_INFERRED
from trtnet.weights.reference import WaveGlowReference
from trtnet.weights.store import WeightStore

SEED = 0


@dataclass
class WaveGlowModel:
    """One demo WaveGlow: its config, checkpoint, extracted HDF5, the store over it and the float64 reference."""

    size: str
    config: WaveGlowConfig
    checkpoint: Path
    h5: Path
    store: WeightStore
    reference: WaveGlowReference

    def replace(self, **changes: Any) -> "WaveGlowModel":
        return dataclasses.replace(self, **changes)

    def mel(self, batch: int, frames: int, seed: int = 0) -> np.ndarray:
        """A random mel [B, n_mel, T] float32 in a log-mel-like range."""
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((batch, self.config.n_mel_channels, frames)) * 2.0 - 4.0).astype(np.float32)

    def z(self, batch: int, frames: int, seed: int = 1) -> np.ndarray:
        """Noise in the engine's layout [B, G, T, S/G] float32."""
        c = self.config
        rng = np.random.default_rng(seed)
        return rng.standard_normal((batch, c.n_group, frames, c.upsample_stride // c.n_group)).astype(np.float32)

    def reference_audio(self, mel: np.ndarray, sigma: float, z: np.ndarray) -> torch.Tensor:
        """The reference's float64 audio [B, S·T]; z in the engine layout, reshaped to the reference's [B, G, T']."""
        zr = torch.from_numpy(z).double().reshape(z.shape[0], z.shape[1], -1)
        with torch.no_grad():
            return self.reference.infer(torch.from_numpy(mel).double(), sigma, z=zr)


def _demo_files(cache: Path, size: str, config: WaveGlowConfig) -> tuple[Path, Path]:
    """Checkpoint and HDF5 of the demo WaveGlow, built unless the cached pair carries the same content key."""
    key = content_key("waveglow", config, SEED)
    ckpt, h5, stamp = cache / f"waveglow_{size}.pt", cache / f"waveglow_{size}.h5", cache / f"waveglow_{size}.key"
    if stamp.exists() and ckpt.exists() and h5.exists():
        current = _stamp(key, h5)
        if current["content_sha256"] and json.loads(stamp.read_text()) == current:
            return ckpt, h5
    for p in (stamp, ckpt, h5):
        p.unlink(missing_ok=True)
    torch.save(waveglow_checkpoint(config, SEED), ckpt)
    overrides = {f: getattr(config, f) for f in NOT_INFERRED["waveglow"]}  # not visible in tensor shapes
    extract(ckpt, h5, model="waveglow", overrides=overrides, overwrite=True)
    stamp.write_text(json.dumps(_stamp(key, h5)))
    return ckpt, h5


def _stamp(key: str, h5: Path) -> dict[str, Any]:
    """The demo content key and the file's own content hash (a file from before content hashes is rebuilt)."""
    try:
        return {"key": key, "content_sha256": peek_attrs(h5).get("content_sha256")}
    except WeightsFormatError:
        return {"key": key, "content_sha256": None}


def _model(request: Any, size: str, config: WaveGlowConfig) -> WaveGlowModel:
    cache = Path(request.config.cache.mkdir("trtnet_waveglow_demo"))
    ckpt, h5 = _demo_files(cache, size, config)
    store = WeightStore.open(h5)
    if store.config != config:
        raise AssertionError(f"extracted config {store.config} differs from the demo config {config}")
    reference = WaveGlowReference.from_checkpoint(ckpt, config).double().eval()
    return WaveGlowModel(size, config, ckpt, h5, store, reference)


@pytest.fixture(scope="session")
def wg_small(request) -> WaveGlowModel:
    """WaveGlowConfig.small(): the full structure (early outputs, dilations) at toy width."""
    model = _model(request, "small", WaveGlowConfig.small())
    yield model
    model.store.close()


@pytest.fixture(scope="session")
def wg_full(request) -> WaveGlowModel:
    """DLE's WaveGlow: 12 flows, WN 256 channels × 8 layers, 80 mels, 1024/256 upsampling and STFT."""
    model = _model(request, "full", WaveGlowConfig())
    yield model
    model.store.close()


def run_network(name: str, model: WaveGlowModel, feeds: Mapping[str, Any], opts: NetworkOptions, *,
                seed: int | None = None) -> dict[str, torch.Tensor]:
    """Run registry network ``name`` eagerly on ``feeds`` (numpy arrays; sigma/strength as Python floats)."""
    feeds = {k: np.asarray(v, np.float32) if isinstance(v, float) else v for k, v in feeds.items()}
    g = Graph.eager(feeds, name, seed=seed)
    with torch.no_grad():
        networks.define(name, g, model.store, opts)
    return g.results()


def full_width(x: np.ndarray) -> np.ndarray:
    """int32 [B]: every column of x [B, ..., W] valid (the ``frames`` / ``samples`` feed of an unpadded batch)."""
    return np.full(x.shape[0], x.shape[-1], np.int32)


def waveglow_audio(model: WaveGlowModel, mel: np.ndarray, sigma: float, z: np.ndarray | None = None, *,
                   frames: np.ndarray | None = None, precision: str = "fp32", seed: int | None = None,
                   **changes: Any) -> torch.Tensor:
    """Eager ``waveglow`` audio [B, S·T]: z fed when given, drawn in the graph otherwise; ``frames`` [B] the
    valid frames per item (default: all)."""
    opts = NetworkOptions(precision=precision, noise="input" if z is not None else "in-engine", **changes)
    feeds = {"mel": mel.astype(opts.dtype.numpy), "frames": full_width(mel) if frames is None else frames,
             "sigma": sigma}
    if z is not None:
        feeds["z"] = z
    return run_network("waveglow", model, feeds, opts, seed=seed)["audio"]
