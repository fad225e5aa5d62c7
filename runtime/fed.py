"""Fed randomness, one layout for everything that feeds it (pipeline, server, verify): DLE's prenet dropout keep
masks and WaveGlow's z, drawn per utterance from its own generator, time-major, so an utterance gets the same
values in any batch and any padded width.  Numpy only.

``rng_for(index, stream)`` gives utterance ``index``'s generator for ``stream`` ("prenet" or "noise");
:func:`item_rng` is the default keying by (seed, index).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

RngFor = Callable[[int, str], np.random.Generator]
STREAMS = {"prenet": 0, "noise": 1}


#: piece k > 0 of utterance n is keyed as utterance n + k · PIECE_STRIDE (piece 0 keeps the utterance's own key)
PIECE_STRIDE = 1 << 32


def piece_key(index: int, part: int) -> int:
    """The randomness key of piece ``part`` of utterance ``index``: ``index`` itself for piece 0, so a line that
    needs no split draws exactly what it did unsplit."""
    if not 0 <= index < PIECE_STRIDE:
        raise ValueError(f"utterance index {index} outside 0..{PIECE_STRIDE - 1}")
    return index + part * PIECE_STRIDE


def split_key(key: int) -> tuple[int, int]:
    """(utterance index, piece) of a :func:`piece_key`."""
    return key % PIECE_STRIDE, key // PIECE_STRIDE


def item_rng(seed: int, index: int, stream: str) -> np.random.Generator:
    """The generator of one utterance's fed randomness: the same for an utterance whatever batch it is in."""
    return np.random.default_rng([seed, index, STREAMS[stream]])


def prenet_keep_masks(rng_for: RngFor, indices: Sequence[int], steps: int, prenet_dim: int, p_dropout: float
                      ) -> np.ndarray:
    """Keep masks {0, 1} float32 [steps, B, 2, prenet_dim], keep probability 1 − p (DLE's F.dropout, both
    prenet layers); row b from utterance indices[b]'s generator."""
    shape = (steps, 2, prenet_dim)
    return np.stack([rng_for(i, "prenet").random(shape) < 1.0 - p_dropout for i in indices], axis=1
                    ).astype(np.float32)


def waveglow_z(rng_for: RngFor, indices: Sequence[int], frames: int, n_group: int, stride: int) -> np.ndarray:
    """Standard-normal z float32 [B, n_group, frames, stride / n_group] (the WaveGlow network's layout), drawn
    time-major per utterance, so its first frames do not depend on ``frames``."""
    shape = (frames, n_group, stride // n_group)
    return np.stack([rng_for(i, "noise").standard_normal(shape).transpose(1, 0, 2) for i in indices]
                    ).astype(np.float32)
