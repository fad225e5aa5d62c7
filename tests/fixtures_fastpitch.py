"""Session fixtures for the FastPitch tests: demo checkpoints (small and full size) and the DLE fixture checkpoint
→ HDF5 → WeightStore, plus a helper that runs the ``fastpitch`` network eagerly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions
from trtnet.weights.config import FastPitchConfig
from trtnet.weights.demo_fastpitch import fastpitch_checkpoint
from trtnet.weights.extract import extract
from trtnet.weights.reference import fastpitch as ref
from trtnet.weights.store import WeightStore

DLE_CKPT = Path(__file__).parent / "data" / "fastpitch" / "fastpitch_dle_tiny.pt"


@dataclass
class FastPitchModel:
    config: FastPitchConfig
    store: WeightStore
    params: dict[str, torch.Tensor]   # DLE state_dict, float64, for the reference
    h5: Path

    def tokens(self, lengths: list[int], seed: int = 0) -> np.ndarray:
        """Random symbol ids [B, max(lengths)] (never padding_idx), padding_idx past each length."""
        rng = np.random.default_rng(seed)
        ids = rng.integers(1, self.config.n_symbols, (len(lengths), max(lengths))).astype(np.int32)
        ids[ids == self.config.padding_idx] = 1
        for b, n in enumerate(lengths):
            ids[b, n:] = self.config.padding_idx
        return ids

    def reference(self, ids: np.ndarray, **kw: Any) -> dict[str, torch.Tensor]:
        return ref.infer(self.params, self.config, torch.from_numpy(ids).long(), **kw)


def _model(tmp: Path, ckpt: dict | Path) -> FastPitchModel:
    src = ckpt if isinstance(ckpt, Path) else tmp / "fp.pt"
    if not isinstance(ckpt, Path):
        torch.save(ckpt, src)
    report = extract(src, tmp / "fp.h5")
    sd = torch.load(src)["state_dict"]
    return FastPitchModel(report.config, WeightStore.open(tmp / "fp.h5", "fastpitch"), ref.tensors(sd), tmp / "fp.h5")


@pytest.fixture(scope="session")
def fp_small(tmp_path_factory) -> FastPitchModel:
    return _model(tmp_path_factory.mktemp("fp_small"), fastpitch_checkpoint(FastPitchConfig.small(), 0))


@pytest.fixture(scope="session")
def fp_full(tmp_path_factory) -> FastPitchModel:
    return _model(tmp_path_factory.mktemp("fp_full"), fastpitch_checkpoint(FastPitchConfig(), 0))


@pytest.fixture(scope="session")
def fp_dle(tmp_path_factory) -> FastPitchModel:
    return _model(tmp_path_factory.mktemp("fp_dle"), DLE_CKPT)


def fastpitch_feeds(ids: np.ndarray, lengths: Any = None, *, pace: float = 1.0, pitch_scale: float = 1.0,
                    pitch_shift: float = 0.0, max_frames: int = 200) -> dict[str, np.ndarray]:
    b = ids.shape[0]
    lengths = np.full(b, ids.shape[1], np.int32) if lengths is None else np.asarray(lengths, np.int32)
    return {"tokens": ids.astype(np.int32), "lengths": lengths, "pace": np.full(b, pace, np.float32),
            "pitch_scale": np.full(b, pitch_scale, np.float32), "pitch_shift": np.full(b, pitch_shift, np.float32),
            "max_frames": np.array(max_frames, np.int32)}


def run_fastpitch(model: FastPitchModel, feeds: dict[str, np.ndarray], precision: str = "fp32",
                  max_frames_cap: int = 400) -> dict[str, torch.Tensor]:
    """Eager ``fastpitch`` outputs for ``feeds``."""
    g = Graph.eager(feeds, "fastpitch")
    with torch.no_grad():
        networks.define("fastpitch", g, model.store, NetworkOptions(precision=precision,
                                                                    max_decoder_steps=max_frames_cap))
    return g.results()
