"""The vocoder seam: everything the pipeline, the engine directory, the CLI and bench need to know about a vocoder,
behind one small interface, chosen from the model config's ``architecture`` (recorded in build_config.json).

A vocoder turns the post-net mel [B, n_mel, T] with each item's valid ``frames`` into audio [B, hop·T] (0 past
hop·frames[b]); its denoiser network takes that audio with ``samples`` = hop·frames.  Adding one is: its entry in
``trtnet.models`` (networks and roles), a network in ``layers/``, its weights in ``weights/``, and one
:class:`Vocoder` entry in ``VOCODERS``.
Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from trtnet.models import VOCODER_KIND, MODELS, Model, architectures, check_covers

from .fed import RngFor, waveglow_z


@dataclass(frozen=True)
class Vocoder:
    """One vocoder architecture as the runtime sees it."""

    architecture: str            # the weights' architecture ("waveglow", "hifigan")
    settings: tuple[str, ...]    # run-time settings it reads ("sigma", "denoiser_strength")
    extra_feeds: Callable[["VocoderRun", np.ndarray, Sequence[int], int], dict[str, np.ndarray]]
    stream_context: int          # streaming: real mel frames on each side of a chunk (measured, README "Streaming")
    output: str = "audio"

    @property
    def model(self) -> Model:
        """Its networks and roles (``trtnet.models``)."""
        return MODELS[self.architecture]

    @property
    def network(self) -> str:
        """Its network / engine name (the role "vocoder")."""
        return self.model.role("vocoder")

    @property
    def denoiser(self) -> str:
        """Its denoiser network / engine name (the role "vocoder-denoiser")."""
        return self.model.role("vocoder-denoiser")

    def resolve(self, names: Sequence[str]) -> tuple[str, ...]:
        """``names`` with the roles "vocoder" and "vocoder-denoiser" replaced by this vocoder's network names."""
        return self.model.resolve(names)

    def feeds(self, run: "VocoderRun", mel: np.ndarray, frames: np.ndarray, indices: Sequence[int], start: int = 0
              ) -> dict[str, np.ndarray]:
        """The network's feeds for mel [B, n_mel, T] and frames [B] (utterance ``indices`` key fed noise);
        ``start``: the absolute frame of mel's first column (a streamed window; fed noise is sliced there)."""
        return {"mel": mel, "frames": np.asarray(frames, np.int32), **self.extra_feeds(run, mel, indices, start)}


@dataclass(frozen=True)
class VocoderRun:
    """What a vocoder's feeds may depend on: its config, the run-time settings, the fed-noise mode and keying.
    ``noise_frames`` > 0 (streaming): each utterance's fed noise is drawn once for that many frames and windows
    are slices of it at absolute frames (exact: the draw is time-major)."""

    config: Any
    settings: Any
    rng_for: RngFor
    noise_frames: int = 0
    _noise: dict = field(default_factory=dict, compare=False, repr=False)

    def noise(self, indices: Sequence[int], start: int, width: int,
              draw: Callable[[RngFor, Sequence[int], int], np.ndarray]) -> np.ndarray:
        """Frames [start, start + width) of each utterance's noise [1, ..., frames, ...] (axis 2 = frames);
        ``draw(rng_for, [index], frames)`` makes one utterance's buffer."""
        if not self.noise_frames:
            if start:
                raise ValueError(f"noise window at frame {start}: set noise_frames to stream fed noise")
            return draw(self.rng_for, indices, width)
        if start + width > self.noise_frames:
            raise ValueError(f"noise window [{start}, {start + width}) exceeds the {self.noise_frames} frames drawn")
        for i in indices:
            if i not in self._noise:
                self._noise[i] = draw(self.rng_for, [i], self.noise_frames)
        return np.concatenate([self._noise[i][:, :, start:start + width] for i in indices])


def _waveglow_feeds(run: VocoderRun, mel: np.ndarray, indices: Sequence[int], start: int
                    ) -> dict[str, np.ndarray]:
    """sigma, and z [B, G, T, S/G] (frames [start, start + T) of each utterance's) when the engine was built
    with ``--noise input``."""
    out = {"sigma": np.array(run.settings.sigma, np.float32)}
    if run.settings.noise == "input":
        c = run.config
        out["z"] = run.noise(indices, start, mel.shape[-1],
                             lambda rng_for, ix, n: waveglow_z(rng_for, ix, n, c.n_group, c.upsample_stride))
    return out


def _no_feeds(run: VocoderRun, mel: np.ndarray, indices: Sequence[int], start: int) -> dict[str, np.ndarray]:
    return {}


# streaming context, mel frames on each side of a chunk: the streamed audio is within 1e-4 of the signal's max
# of the unchunked one (measured on the full-size demo models: README "Streaming")
WAVEGLOW_CONTEXT = 32
HIFIGAN_CONTEXT = 16
VOCODERS: dict[str, Vocoder] = {v.architecture: v for v in (
    Vocoder("waveglow", ("sigma", "denoiser_strength"), _waveglow_feeds, WAVEGLOW_CONTEXT),
    Vocoder("hifigan", ("denoiser_strength",), _no_feeds, HIFIGAN_CONTEXT),
)}
check_covers("runtime/vocoder.py VOCODERS", VOCODERS, architectures(VOCODER_KIND))


def vocoder_for(config: Any) -> Vocoder:
    """The vocoder of a model config (its ``architecture``)."""
    arch = getattr(config, "architecture", None)
    if arch not in VOCODERS:
        raise ValueError(f"no vocoder for architecture {arch!r}; known: {sorted(VOCODERS)}")
    return VOCODERS[arch]


def vocoder_architecture(hparams: Mapping[str, Any], where: str = "the engine directory") -> str:
    """The one vocoder architecture among build_config.json's ``hparams`` keys (an error naming ``where`` if none
    or several)."""
    found = [a for a in hparams if a in VOCODERS]
    if len(found) != 1:
        if not found:
            raise ValueError(f"{where} holds no vocoder (hparams of {sorted(hparams)} only); build one into it "
                             f"(trtnet build-engines --engines {' or '.join(v.network for v in VOCODERS.values())})")
        raise ValueError(f"{where} holds hparams of several vocoders {found}; an engine directory holds one, rebuild it")
    return found[0]
