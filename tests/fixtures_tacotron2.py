"""Session fixtures and helpers for the Tacotron 2 layer tests: demo checkpoints (small and full), their HDF5
extraction, the WeightStore, and the independent reference in float32 and float64.

Checkpoints go to pytest's cache directory when it is enabled (reused while their demo content key matches, so
the ~20-50 s full-size generation runs once per machine), else to a temporary directory.
Import the fixtures into a test module: ``from fixtures_tacotron2 import t2_small, t2_full``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest
import torch

from graph_helpers import rel_err  # noqa: F401 (re-exported for the tests)
from trtnet.graph import Graph
from trtnet.layers.networks import define
from trtnet.layers.options import NetworkOptions
from trtnet.runtime.pipeline import valid_frames
from trtnet.runtime.text import DEFAULT_TEXT, text_to_sequence
from trtnet.weights.config import Tacotron2Config
from trtnet.weights.demo import content_key, demo_configs, tacotron2_checkpoint
from trtnet.weights.extract import extract
from trtnet.weights.reference import Tacotron2Reference
from trtnet.weights.store import WeightStore

THRESHOLD = np.array(0.5, np.float32)
SEED = 0


@dataclass
class T2Demo:
    size: str
    store: WeightStore
    ref32: Tacotron2Reference
    ref64: Tacotron2Reference
    checkpoint: Path

    @property
    def config(self) -> Tacotron2Config:
        return self.store.config

    def run(self, network: str, feeds: Mapping[str, Any], seed: int | None = None, **options: Any
            ) -> dict[str, torch.Tensor]:
        """Run ``network`` eagerly (fp32 and dropout off unless ``options`` say otherwise)."""
        opts = NetworkOptions(**{"precision": "fp32", "dropout": "off", **options})
        g = Graph.eager(dict(feeds), name=network, seed=seed)
        define(network, g, self.store, opts)
        return g.results()


def _checkpoint(request: pytest.FixtureRequest, factory: pytest.TempPathFactory, size: str) -> Path:
    """The demo Tacotron 2 checkpoint (seed 0) of ``size``, rebuilt unless its stamp holds the content key."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("trtnet_tacotron2_demo") if cache is not None else factory.mktemp("demo")
    config = demo_configs(size)[0]
    path, stamp, key = folder / f"tacotron2_{size}.pt", folder / f"tacotron2_{size}.key", content_key(
        "tacotron2", config, SEED)
    if not (path.exists() and stamp.exists() and stamp.read_text() == key):
        stamp.unlink(missing_ok=True)
        torch.save(tacotron2_checkpoint(config, SEED), path)
        stamp.write_text(key)
    return path


_DEMOS: dict[str, T2Demo] = {}  # one per session: each importing test module holds its own fixture definition


def _demo(request: pytest.FixtureRequest, factory: pytest.TempPathFactory, size: str) -> T2Demo:
    if size not in _DEMOS:
        ckpt = _checkpoint(request, factory, size)
        h5 = factory.mktemp(f"t2_{size}") / "tacotron2.h5"
        extract(ckpt, h5)
        store = WeightStore.open(h5)
        request.addfinalizer(store.close)
        _DEMOS[size] = T2Demo(size, store, Tacotron2Reference.from_checkpoint(ckpt),
                              Tacotron2Reference.from_checkpoint(ckpt).double(), ckpt)
    return _DEMOS[size]


@pytest.fixture(scope="session")
def t2_small(request, tmp_path_factory) -> T2Demo:
    return _demo(request, tmp_path_factory, "small")


@pytest.fixture(scope="session")
def t2_full(request, tmp_path_factory) -> T2Demo:
    return _demo(request, tmp_path_factory, "full")



# ---- inputs ----------------------------------------------------------------------------------------------
def text_ids(n: int, offset: int = 0) -> list[int]:
    """``n`` token ids of DEFAULT_TEXT from character ``offset`` on (the demo gates stop near a text's end)."""
    ids = text_to_sequence(DEFAULT_TEXT)
    if offset + n > len(ids):
        raise ValueError(f"DEFAULT_TEXT has {len(ids)} ids; asked for {n} from {offset}")
    return ids[offset:offset + n]


def ragged(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens int32 [B, max len] right-padded with 0, lengths int32 [B])."""
    width = max(len(s) for s in seqs)
    tokens = np.zeros((len(seqs), width), np.int32)
    for b, s in enumerate(seqs):
        tokens[b, :len(s)] = s
    return tokens, np.array([len(s) for s in seqs], np.int32)


def reference_infer(ref: Tacotron2Reference, tokens: np.ndarray, lengths: np.ndarray, steps: int,
                    dropout: Any = "off") -> dict[str, Any]:
    """The reference's DLE inference (masks as float32 keep values, cast by the reference)."""
    return ref.infer(torch.from_numpy(tokens).long(), torch.from_numpy(lengths).long(), dropout=dropout,
                     max_decoder_steps=steps, gate_threshold=float(THRESHOLD))


def decoder_feeds(enc: Mapping[str, torch.Tensor], lengths: np.ndarray, steps: int, **extra: Any) -> dict:
    return {"memory": enc["memory"], "processed_memory": enc["processed_memory"], "lengths": lengths,
            "max_decoder_steps": steps, "gate_threshold": THRESHOLD, **extra}


def fused_feeds(tokens: np.ndarray, lengths: np.ndarray, steps: int, **extra: Any) -> dict:
    return {"tokens": tokens, "lengths": lengths, "max_decoder_steps": steps, "gate_threshold": THRESHOLD, **extra}


def tacotron2_pipeline(demo: T2Demo, tokens: np.ndarray, lengths: np.ndarray, steps: int, masks: Any = None,
                       **options: Any) -> dict[str, torch.Tensor]:
    """encoder → decoder-loop → postnet networks (dropout off, or the fed keep masks), the postnet fed each
    item's valid frames (stop frame included); the decoder loop also returns alignments."""
    enc = demo.run("encoder", {"tokens": tokens, "lengths": lengths}, **options)
    extra = {} if masks is None else {"prenet_masks": masks}
    dec = demo.run("decoder-loop", decoder_feeds(enc, lengths, steps, **extra), alignments=True,
                   dropout="off" if masks is None else "input", **options)
    frames = valid_frames(dec["mel_lengths"].numpy(), int(dec["n_steps"]))
    post = demo.run("postnet", {"mel": dec["mel"], "frames": frames}, **options)
    return {**enc, **dec, **post, "frames": torch.from_numpy(frames)}
