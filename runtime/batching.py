"""Ragged batches of token ids as the encoder takes them."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def pad_batch(batch: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """tokens int32 [B, T_max] right-padded with 0, lengths int32 [B] (any order: no sorting needed)."""
    lengths = np.array([len(ids) for ids in batch], np.int32)
    tokens = np.zeros((len(batch), int(lengths.max())), np.int32)
    for i, ids in enumerate(batch):
        tokens[i, :len(ids)] = ids
    return tokens, lengths
