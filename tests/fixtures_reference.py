"""Shared fixtures for the reference, text and demo tests (import the names you use into a test module)."""

from __future__ import annotations

import pytest
import torch

from trtnet.weights.config import Tacotron2Config, WaveGlowConfig
from trtnet.weights.demo import tacotron2_checkpoint, waveglow_checkpoint
from trtnet.weights.reference import Tacotron2Reference, WaveGlowReference

SMALL_T2 = Tacotron2Config.small()
SMALL_WG = WaveGlowConfig.small()


@pytest.fixture(scope="session")
def small_t2_ckpt() -> dict:
    """Demo small Tacotron 2 checkpoint (DLE layout), seed 0."""
    return tacotron2_checkpoint(SMALL_T2, seed=0)


@pytest.fixture(scope="session")
def small_wg_ckpt() -> dict:
    """Demo small WaveGlow checkpoint (DLE layout), seed 0."""
    return waveglow_checkpoint(SMALL_WG, seed=0)


@pytest.fixture()
def small_t2(small_t2_ckpt) -> Tacotron2Reference:
    """Fresh float64 demo small Tacotron 2 (tests may modify it)."""
    return Tacotron2Reference.from_checkpoint(small_t2_ckpt).double()


@pytest.fixture()
def small_wg(small_wg_ckpt) -> WaveGlowReference:
    """Fresh float64 demo small WaveGlow (tests may modify it)."""
    return WaveGlowReference.from_checkpoint(small_wg_ckpt).double()


def random_tokens(lengths: list[int], seed: int = 0, width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (id 0) random symbol ids [B, width or max(lengths)] in 1..147 and int64 lengths [B]."""
    gen = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    tokens = torch.zeros(len(lengths), width, dtype=torch.int64)
    for row, n in enumerate(lengths):
        tokens[row, :n] = torch.randint(1, 148, (n,), generator=gen)
    return tokens, torch.tensor(lengths, dtype=torch.int64)
