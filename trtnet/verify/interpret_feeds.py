"""Feeds for a network, made from its own input spec (name, dtype, shape with named dimensions) plus a small
table of semantic values for the inputs whose values mean something (lengths, frame counts, token ids, step
caps, thresholds, {0,1} masks).  Used by the comparison harness and ``trtnet verify --interpret``; a new int
input needs an entry in ``SEMANTIC`` (a missing one is an error, never a guess)."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np


def ragged(n: int, width: int) -> np.ndarray:
    """[width, width − 4, width − 7, …] clipped to [1, width]: one full item and shorter ones."""
    return np.clip(width - np.array([0, 4, 7, 2, 9, 1, 5, 3][:n] + [0] * max(0, n - 8)), 1, width).astype(np.int32)


def _mask(shape, dtype, rng):
    return (rng.random(shape) < 0.5).astype(dtype)


# input name -> fn(shape, dtype, dims, config, rng) -> array
SEMANTIC: dict[str, Callable[..., np.ndarray]] = {
    "tokens": lambda s, d, dims, cfg, rng: rng.integers(1, cfg.n_symbols, s).astype(d),
    "lengths": lambda s, d, dims, cfg, rng: ragged(s[0], dims["T_in"]),
    "frames": lambda s, d, dims, cfg, rng: ragged(s[0], dims.get("T_mel", dims.get("T"))),
    "samples": lambda s, d, dims, cfg, rng: ragged(s[0], dims["L"]),
    "gate_threshold": lambda s, d, dims, cfg, rng: np.array(0.5, d),
    "sigma": lambda s, d, dims, cfg, rng: np.array(0.6, d),
    "strength": lambda s, d, dims, cfg, rng: np.array(0.01, d),
    "prenet_masks": lambda s, d, dims, cfg, rng: _mask(s, d, rng),
    "prenet_mask": lambda s, d, dims, cfg, rng: _mask(s, d, rng),
    "mel": lambda s, d, dims, cfg, rng: (rng.standard_normal(s) * 2.0 - 4.0).astype(d),
    "audio": lambda s, d, dims, cfg, rng: (rng.standard_normal(s) * 0.1).astype(d),
    # the decoder state's counters (decoder-step): some items already finished, a few frames counted
    "finished": lambda s, d, dims, cfg, rng: (np.arange(s[0]) % 3 == 2).astype(d).reshape(s),
    "mel_lengths": lambda s, d, dims, cfg, rng: (np.arange(s[0]) * 2 + 1).astype(d).reshape(s),
    # FastPitch's run-time controls: a pace per item around 1, an affine pitch transform
    "pace": lambda s, d, dims, cfg, rng: rng.uniform(0.7, 1.4, s).astype(d),
    "pitch_scale": lambda s, d, dims, cfg, rng: rng.uniform(0.5, 1.5, s).astype(d),
    "pitch_shift": lambda s, d, dims, cfg, rng: rng.uniform(-30.0, 30.0, s).astype(d),
}


def make_feeds(inputs: Mapping[str, Any], dims: Mapping[str, int], config: Any, rng: np.random.Generator,
               overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One feed per input spec: ``overrides`` first, then ``SEMANTIC``, then N(0, 0.3²) floats.  Named
    dimensions take their sizes from ``dims``; shape inputs (0-D int32) take ``dims[name]``."""
    feeds: dict[str, Any] = {}
    for name, spec in inputs.items():
        if overrides and name in overrides:
            feeds[name] = overrides[name]
            continue
        if spec.is_shape_tensor:
            if name not in dims:
                raise KeyError(f"shape input '{name}' needs a value in dims; given {sorted(dims)}")
            feeds[name] = int(dims[name])
            continue
        missing = [d for d in spec.shape if isinstance(d, str) and d not in dims]
        if missing:
            raise KeyError(f"input '{name}': no size for dimensions {missing}; given {sorted(dims)}")
        shape = tuple(dims[d] if isinstance(d, str) else d for d in spec.shape)
        dtype = np.dtype(spec.dtype)
        if name in SEMANTIC:
            feeds[name] = SEMANTIC[name](shape, dtype, dims, config, rng)
        elif dtype.kind == "f":
            feeds[name] = (rng.standard_normal(shape) * 0.3).astype(dtype)
        else:
            raise KeyError(f"input '{name}' ({spec.dtype}): its values mean something; add it to "
                           "trtnet.verify.interpret_feeds.SEMANTIC")
    return feeds
