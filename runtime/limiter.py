"""Streamed audio cannot be peak-normalised (its peak is unknown until the end), so out-of-range samples would
clip at the 16-bit conversion.  :func:`clipped` counts them; :func:`soft_limit` is a memoryless soft-knee limiter
(exact per chunk, so streaming stays equal to limiting the whole utterance): identity for ``|x| ≤ knee``, above it
``sign(x) · (knee + (1 − knee) · tanh((|x| − knee) / (1 − knee)))`` — continuous with slope 1 at the knee and
at most 1 (float32 tanh saturates far above the knee), so nothing clips.  Numpy only."""

from __future__ import annotations

import numpy as np

KNEE = 0.9


def clipped(audio: np.ndarray) -> int:
    """Samples outside [-1, 1] (those the 16-bit conversion clips)."""
    return int(np.count_nonzero(np.abs(audio) > 1.0))


def soft_limit(audio: np.ndarray, knee: float = KNEE) -> np.ndarray:
    """``audio`` with every sample above ``knee`` in magnitude compressed into (knee, 1); float32."""
    if not 0.0 < knee < 1.0:
        raise ValueError(f"knee must be in (0, 1), got {knee}")
    a = np.asarray(audio, np.float32)
    mag = np.abs(a)
    over = mag > knee
    if not over.any():
        return a
    out = a.copy()
    width = 1.0 - knee
    out[over] = np.sign(a[over]) * (knee + width * np.tanh((mag[over] - knee) / width))
    return out
