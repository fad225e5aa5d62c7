"""``synthesize --plot``: one PNG per utterance with the post-net mel spectrogram, the attention alignment (when
the decoder outputs it) and the stop gate σ(gate) against the threshold, the stop frame marked.

matplotlib is an optional extra (``pip install 'trtnet[plot]'``); :func:`require_matplotlib` says so before any
work.  Files are written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'trtnet[plot]'") from None


def plot_utterance(u: Any, threshold: float, path: Path) -> Path:
    """Write ``path`` (PNG) for utterance ``u`` (``runtime.pipeline.Utterance``); returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from trtnet.files import atomic_write_bytes
    panels = 3 if u.alignment is not None else 2
    fig = Figure(figsize=(9, 2.4 * panels), constrained_layout=True)
    axes = fig.subplots(panels, 1)
    mel = axes[0]
    im = mel.imshow(u.mel_postnet, origin="lower", aspect="auto", interpolation="nearest")
    mel.set(title=f"line {u.index}: {u.text[:80]!r}", ylabel="mel channel", xlabel="frame")
    fig.colorbar(im, ax=mel)
    if u.alignment is not None:
        al = axes[1]
        im = al.imshow(u.alignment.T, origin="lower", aspect="auto", interpolation="nearest")
        al.set(title="attention alignment", ylabel="token", xlabel="decoder step")
        fig.colorbar(im, ax=al)
    gate = axes[-1]
    prob = 1.0 / (1.0 + np.exp(-np.asarray(u.gate, np.float64)))
    gate.plot(np.arange(prob.size), prob, label="σ(gate)")
    gate.axhline(threshold, color="tab:red", linestyle="--", label=f"threshold {threshold:g}")
    stop = "step cap" if u.hit_cap else "stop frame"
    gate.axvline(u.mel_length, color="tab:green", linestyle=":", label=f"{stop} {u.mel_length}")
    gate.set(title="stop gate", xlabel="decoder step", ylabel="probability", ylim=(-0.02, 1.02))
    gate.legend(loc="upper left", fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    atomic_write_bytes(path, buf.getvalue())
    return path
