"""Independent plain-PyTorch reference of DLE Tacotron 2 + WaveGlow (+ STFT, denoiser), HiFi-GAN and FastPitch
(``weights.reference.fastpitch``, functional over a DLE state_dict).

Written from DLE's published model definitions and inference math with ``torch.nn`` only (no trtnet code); it is
the ground truth for layer tests and the PyTorch baseline for benchmarks.  Everything runs in float64 after ``.double()``.
"""

from ._common import ReferenceLoadError, read_checkpoint
from .decoder import DecoderState, make_prenet_masks
from .denoiser import Denoiser, bias_spectrum
from .hifigan import HiFiGANDenoiser, HiFiGANReference
from .stft import STFT, periodic_hann, window_sumsquare
from .tacotron2 import Tacotron2Reference
from .waveglow import WaveGlowReference, split_shared_cond_layers

__all__ = [
    "DecoderState", "Denoiser", "HiFiGANDenoiser", "HiFiGANReference", "ReferenceLoadError", "STFT",
    "Tacotron2Reference", "WaveGlowReference",
    "bias_spectrum", "make_prenet_masks", "periodic_hann", "read_checkpoint", "split_shared_cond_layers",
    "window_sumsquare",
]
