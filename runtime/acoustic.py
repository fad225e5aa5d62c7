"""The acoustic-model seam: what the pipeline, the engine directory, the CLI and Triton need to know about the
model that turns text into a mel, chosen from the model config's ``architecture`` (recorded in
build_config.json's ``hparams``).

An acoustic model takes padded tokens [B, T_in] with their ``lengths`` and returns a mel [B, n_mel, T] with each
item's ``mel_lengths`` and ``frames`` (the frames the vocoder reads: 0 past them), plus what it reports per item.
Tacotron 2 runs encoder → decoder loop → postnet; FastPitch one network.  Adding one is: its entry in
``trtnet.models`` (networks, roles, default engines), its network(s) in ``layers/``, its weights in ``weights/``,
and one :class:`Acoustic` entry in ``ACOUSTIC``.
Numpy only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from trtnet.models import ACOUSTIC_KIND, MODELS, Model, architectures, check_covers

from .sessions import run


@dataclass
class AcousticOutput:
    mel: np.ndarray                   # [B, n_mel, T] float, 0 past frames[b]
    frames: np.ndarray                # int32 [B]: the frames the vocoder reads
    mel_lengths: np.ndarray           # int64 [B]: the frames each item keeps
    n_steps: int                      # T
    seconds: dict[str, float] = field(default_factory=dict)
    gate: np.ndarray | None = None          # Tacotron 2: [B, T] gate logits
    alignments: np.ndarray | None = None    # Tacotron 2 with alignments: [B, T, T_in]
    extras: dict[str, np.ndarray] = field(default_factory=dict)   # FastPitch: durations, pitch


@dataclass(frozen=True)
class Acoustic:
    """One acoustic architecture as the runtime sees it."""

    architecture: str                       # the weights' architecture ("tacotron2", "fastpitch")
    settings: tuple[str, ...]               # run-time settings it reads
    generate: Callable[[Any, np.ndarray, np.ndarray, Sequence[int]], AcousticOutput]
    stop_rule: str                          # how its mel ends (for the user)

    @property
    def model(self) -> Model:
        """Its networks and roles (``trtnet.models``)."""
        return MODELS[self.architecture]

    @property
    def networks(self) -> tuple[str, ...]:
        """The networks a synthesis runs."""
        return self.model.runs

    @property
    def engines(self) -> tuple[str, ...]:
        """What build-engines builds by default."""
        return self.model.engines

    def resolve(self, names: Sequence[str]) -> tuple[str, ...]:
        """``names`` with Tacotron 2's network names (the roles) mapped onto this model's (each once, order kept)."""
        return self.model.resolve(names)


def valid_frames(mel_lengths: np.ndarray, n_steps: int) -> np.ndarray:
    """int32 [B] frames each item generated, stop frame included: min(mel_lengths + 1, n_steps) (an item that
    hit the step cap has mel_lengths = n_steps)."""
    return np.minimum(mel_lengths.astype(np.int64) + 1, n_steps).astype(np.int32)


def _tacotron2(pipe: Any, tokens: np.ndarray, lengths: np.ndarray, indices: Sequence[int]) -> AcousticOutput:
    """Encoder + decoder loop (or the host loop) + postnet; frames = min(mel_lengths + 1, n_steps)."""
    t = time.perf_counter()
    dec = pipe.decode(tokens, lengths, indices)
    seconds = {"tacotron2_decode": time.perf_counter() - t}
    n_steps = int(dec["n_steps"])
    mel_lengths = dec["mel_lengths"].astype(np.int64)
    frames = valid_frames(mel_lengths, n_steps)
    mel = dec["mel"][..., :n_steps]          # both decoders already zero each row after its stop frame
    t = time.perf_counter()
    post = run(pipe.sessions["postnet"], {"mel": mel, "frames": frames})["mel_postnet"]
    seconds["postnet"] = time.perf_counter() - t
    return AcousticOutput(post, frames, mel_lengths, n_steps, seconds, dec["gate"], dec.get("alignments"))


def fastpitch_feeds(settings: Any, tokens: np.ndarray, lengths: np.ndarray, max_frames: int) -> dict[str, np.ndarray]:
    """The fastpitch network's feeds: pace and the affine pitch transform per item, the mel width bound."""
    b = len(lengths)
    return {"tokens": tokens, "lengths": np.asarray(lengths, np.int32),
            "pace": np.full(b, settings.pace, np.float32), "pitch_scale": np.full(b, settings.pitch_scale, np.float32),
            "pitch_shift": np.full(b, settings.pitch_shift, np.float32), "max_frames": np.array(max_frames, np.int32)}


def _fastpitch(pipe: Any, tokens: np.ndarray, lengths: np.ndarray, indices: Sequence[int]) -> AcousticOutput:
    """One network; the mel is trimmed to the batch's longest item (it is 0 past each item's mel_lengths)."""
    t = time.perf_counter()
    out = run(pipe.sessions["fastpitch"], fastpitch_feeds(pipe.settings, tokens, lengths,
                                                          pipe.settings.max_decoder_steps))
    mel_lengths = out["mel_lengths"].astype(np.int64)
    n = max(1, int(mel_lengths.max()))
    return AcousticOutput(out["mel"][..., :n], mel_lengths.astype(np.int32), mel_lengths, n,
                          {"fastpitch": time.perf_counter() - t},
                          extras={"durations": out["durations"], "pitch": out["pitch"]})


ACOUSTIC: dict[str, Acoustic] = {a.architecture: a for a in (
    Acoustic("tacotron2", ("gate_threshold", "max_decoder_steps"), _tacotron2, "the gate (or the step cap)"),
    Acoustic("fastpitch", ("pace", "pitch_scale", "pitch_shift"), _fastpitch,
             "the predicted durations (bounded by the engines' max frames)"),
)}
check_covers("runtime/acoustic.py ACOUSTIC", ACOUSTIC, architectures(ACOUSTIC_KIND))


def acoustic_for(config: Any) -> Acoustic:
    """The acoustic model of a model config (its ``architecture``; a config without one, such as a test's
    stand-in namespace, is Tacotron 2's, the pipeline's model before the seam)."""
    arch = getattr(config, "architecture", None) or "tacotron2"
    if arch not in ACOUSTIC:
        raise ValueError(f"no acoustic model for architecture {arch!r}; known: {sorted(ACOUSTIC)}")
    return ACOUSTIC[arch]


def text_cleaners(config: Any) -> str:
    """The DLE cleaners the model was trained with (``runtime.text.prepare_text``'s ``cleaners``): the config's
    ``text_cleaners`` (FastPitch's ``train_setup``), else Tacotron 2's ``english_cleaners``."""
    from .text import DEFAULT_CLEANERS
    return getattr(config, "text_cleaners", None) or DEFAULT_CLEANERS


def acoustic_architecture(hparams: Mapping[str, Any]) -> str:
    """The one acoustic architecture among build_config.json's ``hparams`` keys (an error if none or several)."""
    found = [a for a in hparams if a in ACOUSTIC]
    if len(found) != 1:
        raise ValueError(f"expected hparams for exactly one acoustic model of {sorted(ACOUSTIC)}, found {found}")
    return found[0]


def settings_summary(settings: Any, acoustic: Acoustic, vocoder_settings: Sequence[str]) -> str:
    """The run-time settings the acoustic model and the vocoder read, e.g. ``pace 1, pitch_scale 1, …``."""
    names = (*acoustic.settings, *vocoder_settings)
    return ", ".join(f"{n.replace('_', ' ')} {getattr(settings, n):g}" for n in names)


def check_pair(acoustic_config: Any, vocoder_config: Any) -> None:
    """ValueError when the vocoder cannot read the acoustic model's mel (different mel channel counts)."""
    a, v = (getattr(c, "n_mel_channels", None) for c in (acoustic_config, vocoder_config))
    if a is not None and v is not None and a != v:
        raise ValueError(f"the {getattr(acoustic_config, 'architecture', 'acoustic')} model makes {a}-channel mels "
                         f"but the {getattr(vocoder_config, 'architecture', 'vocoder')} vocoder reads {v}; pair "
                         "models trained on the same mel front end")
