"""The registry of model architectures the weights side knows: for each, how its keys are recognised, which
config fields no tensor shape tells, how its config is inferred, and its tensor layouts (DLE and HDF5).

Adding a model is one entry here (plus its config class in ``CONFIG_CLASSES`` and its conversion in
``weights.extract``); ``weights.hparams`` and ``weights.schema`` dispatch through this table.  Functions are
named ``"module:function"`` and imported when called, so this module imports nothing of the weights package.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Architecture:
    name: str
    key_prefixes: tuple[str, ...]          # a state_dict holding keys with these prefixes is this model
    not_inferred: tuple[str, ...]          # config fields no tensor shape tells (checkpoint config or overrides)
    infer: str                             # (state_dict, *, ckpt_config, overrides, source) -> config
    layout: str                            # (config, folded: bool) -> {key: shape}; folded: the HDF5 layout
    overshadows: tuple[str, ...] = ()      # architectures whose prefixes this one's state_dict also matches

    def function(self, which: str) -> Callable[..., Any]:
        module, fn = getattr(self, which).split(":")
        return getattr(importlib.import_module(module, __package__), fn)


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("tacotron2", ("embedding.", "encoder.", "decoder.", "postnet."), (),
                 ".hparams:infer_tacotron2_config", ".schema:tacotron2_layout"),
    # DLE hard-codes WaveGlow's upsample stride (256 = hop) and the denoiser's STFT; the variant is the class that
    # saved the model (a full-model pickle's), never a weight name
    Architecture("waveglow", ("upsample.", "WN.", "convinv."),
                 ("upsample_stride", "variant", "sampling_rate", "stft_filter_length", "stft_hop_length", "stft_win_length",
                  "denoiser_bias_frames"),
                 ".hparams:infer_waveglow_config", ".schema:waveglow_layout"),
    Architecture("hifigan", ("conv_pre.", "ups.", "resblocks.", "conv_post."),
                 ("upsample_rates", "resblock_dilation_sizes", "sampling_rate", "stft_filter_length",
                  "stft_hop_length", "stft_win_length", "mel_fmin", "mel_fmax", "denoiser_bias_frames"),
                 ".hifigan:infer_hifigan_config", ".hifigan:hifigan_shapes"),
    # shapes tell the heads only as H·d_head; the text front end is DLE's train_setup (symbol_set, text_cleaners)
    Architecture("fastpitch", ("duration_predictor.", "pitch_predictor.", "pitch_emb."),
                 ("padding_idx", "speaker_emb_weight", "symbol_set", "text_cleaners", "fallback_pitch_std"),
                 ".fastpitch:infer_fastpitch_config", ".fastpitch:fastpitch_shapes",
                 overshadows=("tacotron2",)),
)}


def architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]
