"""The vocoder seam: everything the pipeline, the engine directory, the CLI and bench need to know about a vocoder,
behind one small interface, chosen from the model config's ``architecture`` (recorded in build_config.json).

A vocoder turns the post-net mel [B, n_mel, T] with each item's valid ``frames`` into audio [B, hop·T] (0 past
hop·frames[b]); its denoiser network takes that audio with ``samples`` = hop·frames.  Adding one is: a network in
``layers/`` (registry entries), its weights in ``weights/``, and one :class:`Vocoder` entry in ``VOCODERS``.
Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .fed import RngFor, waveglow_z


@dataclass(frozen=True)
class Vocoder:
    """One vocoder architecture as the runtime sees it."""

    architecture: str            # the weights' architecture ("waveglow", "hifigan")
    network: str                 # its network / engine name
    denoiser: str                # its denoiser network / engine name
    settings: tuple[str, ...]    # run-time settings it reads ("sigma", "denoiser_strength")
    extra_feeds: Callable[["VocoderRun", np.ndarray, Sequence[int]], dict[str, np.ndarray]]
    output: str = "audio"

    def feeds(self, run: "VocoderRun", mel: np.ndarray, frames: np.ndarray, indices: Sequence[int]
              ) -> dict[str, np.ndarray]:
        """The network's feeds for mel [B, n_mel, T] and frames [B] (utterance ``indices`` key fed noise)."""
        return {"mel": mel, "frames": np.asarray(frames, np.int32), **self.extra_feeds(run, mel, indices)}


@dataclass(frozen=True)
class VocoderRun:
    """What a vocoder's feeds may depend on: its config, the run-time settings, the fed-noise mode and keying."""

    config: Any
    settings: Any
    rng_for: RngFor


def _waveglow_feeds(run: VocoderRun, mel: np.ndarray, indices: Sequence[int]) -> dict[str, np.ndarray]:
    """sigma, and z [B, G, T, S/G] when the engine was built with ``--noise input``."""
    out = {"sigma": np.array(run.settings.sigma, np.float32)}
    if run.settings.noise == "input":
        c = run.config
        out["z"] = waveglow_z(run.rng_for, indices, mel.shape[-1], c.n_group, c.upsample_stride)
    return out


def _no_feeds(run: VocoderRun, mel: np.ndarray, indices: Sequence[int]) -> dict[str, np.ndarray]:
    return {}


VOCODERS: dict[str, Vocoder] = {v.architecture: v for v in (
    Vocoder("waveglow", "waveglow", "denoiser", ("sigma", "denoiser_strength"), _waveglow_feeds),
    Vocoder("hifigan", "hifigan", "hifigan-denoiser", ("denoiser_strength",), _no_feeds),
)}


def vocoder_for(config: Any) -> Vocoder:
    """The vocoder of a model config (its ``architecture``)."""
    arch = getattr(config, "architecture", None)
    if arch not in VOCODERS:
        raise ValueError(f"no vocoder for architecture {arch!r}; known: {sorted(VOCODERS)}")
    return VOCODERS[arch]


def vocoder_architecture(hparams: Mapping[str, Any]) -> str:
    """The one vocoder architecture among build_config.json's ``hparams`` keys (an error if none or several)."""
    found = [a for a in hparams if a in VOCODERS]
    if len(found) != 1:
        raise ValueError(f"expected hparams for exactly one vocoder of {sorted(VOCODERS)}, found {found}")
    return found[0]
