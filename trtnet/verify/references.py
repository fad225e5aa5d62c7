"""The independent references of the vocoders, behind one call shape for ``parity``: ``vocode(mel, feeds)`` (the
vocoder network's own feeds: fed noise included) and ``denoise(audio, strength)``, all in float64."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from trtnet.models import VOCODER_KIND, architectures, check_covers


@dataclass
class VocoderReference:
    vocode: Callable[[torch.Tensor, Mapping[str, Any]], torch.Tensor]
    denoise: Callable[[torch.Tensor, float], torch.Tensor]


def _waveglow(ckpt: Any, config: Any) -> VocoderReference:
    from trtnet.weights.reference import Denoiser, WaveGlowReference
    model = WaveGlowReference.from_checkpoint(ckpt).double()
    den = Denoiser.from_config(model).double()

    def vocode(mel: torch.Tensor, feeds: Mapping[str, Any]) -> torch.Tensor:
        z = torch.from_numpy(feeds["z"]).double()
        return model.infer(mel, sigma=float(feeds["sigma"]), z=z.reshape(z.shape[0], z.shape[1], -1))
    return VocoderReference(vocode, lambda audio, s: den(audio, s).squeeze(1))


def _hifigan(ckpt: Any, config: Any) -> VocoderReference:
    from trtnet.weights.reference import HiFiGANDenoiser, HiFiGANReference
    model = HiFiGANReference.from_checkpoint(ckpt, config).double().eval()
    den = HiFiGANDenoiser(model, config).double()
    return VocoderReference(lambda mel, feeds: model.infer(mel), lambda audio, s: den(audio, s).squeeze(1))


_ADAPTERS: dict[str, Callable[[Any, Any], VocoderReference]] = {"waveglow": _waveglow, "hifigan": _hifigan}
check_covers("verify/references.py reference adapters", _ADAPTERS, architectures(VOCODER_KIND))
#: One reference per vocoder that ``trtnet.models`` registers, in its order.
REFERENCES = {a: _ADAPTERS[a] for a in architectures(VOCODER_KIND)}


def vocoder_reference(ckpt: Any, config: Any) -> VocoderReference:
    """The reference of the vocoder that ``config`` (its architecture) describes, from its checkpoint."""
    return REFERENCES[config.architecture](ckpt, config)


def timing_reference(ckpt: Any, config: Any, sigma: float) -> tuple[Any, Callable[[Any, Any], Any], Any]:
    """(vocoder module, ``vocode(module, mel)``, denoiser module) of the reference in float32, for the PyTorch
    row of ``trtnet bench`` (the vocoder's own noise drawn in it, as DLE's scripts do)."""
    if config.architecture == "waveglow":
        from trtnet.weights.reference import Denoiser, WaveGlowReference
        model = WaveGlowReference.from_checkpoint(ckpt)
        return model, lambda m, mel: m.infer(mel, sigma=sigma), Denoiser.from_config(model)
    from trtnet.weights.reference import HiFiGANDenoiser, HiFiGANReference
    model = HiFiGANReference.from_checkpoint(ckpt, config)
    return model, lambda m, mel: m.infer(mel), HiFiGANDenoiser(model, config)
