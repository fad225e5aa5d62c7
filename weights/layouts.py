"""WaveGlow state-dict layouts that NVIDIA/waveglow has saved, brought to DLE's per-layer layout.

A layout is a naming of the same sums, never a math: which inference semantics apply is decided by the class that
saved the model (``WaveGlowConfig.variant``, from a pickle's class, ``weights.pickled_config``), not by these
names.  ``glow.WN`` with ``res_layers``/``skip_layers`` served both ``glow.WaveGlow`` and ``glow_old.WaveGlow``
in the first release.

Three layouts exist (all weight-normed: ``weight_g`` [O,1,1], ``weight_v`` [O,I,K], ``bias`` [O]):

* ``cond_layers`` — per-layer ``WN.k.cond_layers.i`` and fused ``res_skip_layers.i``: DLE, and NVIDIA/waveglow's
  ``glow_old.py`` (whose ``infer`` differs from DLE's: ``variant`` ``glow_old``).  This is the layout ``schema.dle_shapes`` checks.
* ``cond_layer`` — one ``WN.k.cond_layer`` with 2C·L output rows: NVIDIA/waveglow's current ``glow.py``.  Split
  row-wise by ``extract.split_shared_cond_layer`` once the layer count is known.
* ``res_layers+skip_layers`` — the first release: ``WN.k.res_layers.i`` [C, C, 1] for i < L−1 and
  ``WN.k.skip_layers.i`` [C, C, 1] for every i, per-layer ``cond_layers``.  :func:`merge_res_skip` stacks them
  into ``res_skip_layers.i`` = rows (res ‖ skip), the last layer skip only: the order in which the fused
  layer's output is split (res rows first).  Stacking g, v and bias row-wise is exact, because weight norm
  is per output row.
"""

from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from .errors import WeightKeysError

FUSED_COND = "cond_layer"
PER_LAYER_COND = "cond_layers"
RES_SKIP_SPLIT = "res_layers+skip_layers"
_SPLIT = re.compile(r"^WN\.(\d+)\.(res_layers|skip_layers)\.(\d+)\.(weight_g|weight_v|bias)$")
_PARTS = ("weight_g", "weight_v", "bias")


def waveglow_layout(keys: Mapping[str, object] | set[str]) -> str:
    """Which of the three layouts the (``module.``-free) keys use."""
    if any(_SPLIT.match(k) for k in keys):
        return RES_SKIP_SPLIT
    if any(".cond_layer." in k for k in keys):
        return FUSED_COND
    return PER_LAYER_COND


def merge_res_skip(sd: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """``res_layers.i`` + ``skip_layers.i`` → ``res_skip_layers.i`` (rows res then skip); other keys unchanged."""
    out: dict[str, np.ndarray] = {}
    split: dict[str, dict[tuple[str, int, str], np.ndarray]] = {}
    for key, value in sd.items():
        m = _SPLIT.match(key)
        if m is None:
            out[key] = value
        else:
            split.setdefault(m.group(1), {})[(m.group(2), int(m.group(3)), m.group(4))] = value
    for flow, parts in sorted(split.items(), key=lambda kv: int(kv[0])):
        skips = [i for kind, i, _ in parts if kind == "skip_layers"]
        n_layers = max(skips) + 1 if skips else 0
        want = {(kind, i, p) for i in range(n_layers) for p in _PARTS
                for kind in (("res_layers", "skip_layers") if i < n_layers - 1 else ("skip_layers",))}
        if n_layers == 0 or set(parts) != want:
            name = lambda t: f"WN.{flow}.{t[0]}.{t[1]}.{t[2]}"  # noqa: E731
            raise WeightKeysError(source, missing=[name(t) for t in want - set(parts)],
                                  unexpected=[name(t) for t in set(parts) - want],
                                  context=f"WN.{flow}: res_layers/skip_layers do not pair up "
                                          f"(expected res_layers 0..L-2 and skip_layers 0..L-1)")
        for i in range(n_layers):
            for p in _PARTS:
                rows = ([parts[("res_layers", i, p)]] if i < n_layers - 1 else []) + [parts[("skip_layers", i, p)]]
                out[f"WN.{flow}.res_skip_layers.{i}.{p}"] = np.concatenate(rows) if len(rows) > 1 else rows[0]
    return out


def upgrade_waveglow(sd: Mapping[str, np.ndarray], source: str) -> tuple[dict[str, np.ndarray], str]:
    """(state dict without ``res_layers``/``skip_layers``, the layout it was saved in)."""
    layout = waveglow_layout(sd)
    return (merge_res_skip(sd, source) if layout == RES_SKIP_SPLIT else dict(sd)), layout
