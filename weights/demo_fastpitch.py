"""The demo FastPitch: deterministic random weights in DLE's training-checkpoint layout.

Every tensor of ``fastpitch_shapes(config, folded=False)`` (the training-only aligner included) is drawn from
``torch.Generator().manual_seed(seed)`` in sorted key order: weights and biases ~ U(±1/√fan_in), LayerNorm
gains U(0.8, 1.2) and shifts U(±0.1), the embedding N(0, 1) with the padding row zero (DLE's ``padding_idx``),
``inv_freq`` exact.  Three values are then set so the output looks like speech features: the duration
predictor's fc bias ln(1 + ``MEAN_FRAMES``) (a few frames per symbol), ``proj.bias`` ~ U(−6, −2) (a log-mel
level) and DLE's LJSpeech pitch statistics in ``pitch_mean`` / ``pitch_std``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .config import FastPitchConfig
from .fastpitch import fastpitch_shapes

MEAN_FRAMES = 5.0
PITCH_MEAN, PITCH_STD = 218.14, 67.24  # DLE inference.py's LJSpeech-1.1 pitch statistics


def fastpitch_state_dict(config: FastPitchConfig | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """The demo weights, DLE key names and layout."""
    c = config or FastPitchConfig()
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    shapes = fastpitch_shapes(c, folded=False)
    for key in sorted(shapes):
        shape = shapes[key]
        t = torch.empty(shape)
        leaf = key.rsplit(".", 1)[-1]
        owner = key.rsplit(".", 1)[0]
        if key.endswith("inv_freq"):
            d = c.symbols_embedding_dim
            t = 1.0 / (10000.0 ** (torch.arange(0.0, d, 2.0) / d))
        elif key in ("pitch_mean", "pitch_std"):
            t.fill_(PITCH_MEAN if key == "pitch_mean" else PITCH_STD)
        elif key == "encoder.word_emb.weight":
            t.normal_(generator=gen)
            t[c.padding_idx] = 0.0
        elif owner.endswith("norm"):
            t.uniform_(0.8, 1.2, generator=gen) if leaf == "weight" else t.uniform_(-0.1, 0.1, generator=gen)
        else:
            weight = shapes[f"{owner}.weight"] if f"{owner}.weight" in shapes else shape
            fan_in = math.prod(weight[1:]) if len(weight) > 1 else 1
            bound = 1.0 / math.sqrt(fan_in)
            t.uniform_(-bound, bound, generator=gen)
        sd[key] = t
    sd["duration_predictor.fc.bias"].fill_(math.log(1.0 + MEAN_FRAMES))
    sd["proj.bias"].uniform_(-6.0, -2.0, generator=gen)
    return sd


def dle_fastpitch_config(c: FastPitchConfig) -> dict[str, Any]:
    """DLE's checkpoint ``config``: the FastPitch constructor kwargs, dropouts included (as DLE's defaults)."""
    out = {k: v for k, v in c.to_dict().items()
           if k not in ("symbol_set", "text_cleaners", "max_duration", "fallback_pitch_std")}
    for p in ("p_in_fft_dropout", "p_in_fft_dropatt", "p_out_fft_dropout", "p_out_fft_dropatt",
              "p_dur_predictor_dropout", "p_pitch_predictor_dropout", "p_energy_predictor_dropout"):
        out[p] = 0.1
    out.update(p_in_fft_dropemb=0.0, p_out_fft_dropemb=0.0)
    return out


def fastpitch_checkpoint(config: FastPitchConfig | None = None, seed: int = 0) -> dict[str, Any]:
    """DLE ``FastPitch_checkpoint_<epoch>.pt``: {'epoch', 'iteration', 'config', 'train_setup', 'state_dict'
    (``module.`` keys, as saved from DDP training), 'ema_state_dict', 'optimizer', 'scaler'}; the EMA weights
    equal the model's."""
    c = config or FastPitchConfig()
    sd = fastpitch_state_dict(c, seed)
    setup = {"symbol_set": c.symbol_set, "text_cleaners": [c.text_cleaners], "n_mel_channels": c.n_mel_channels,
             "epochs": 0, "seed": seed, "learning_rate": 0.1, "ema_decay": 0.0}
    return {"epoch": 0, "iteration": 0, "config": dle_fastpitch_config(c), "train_setup": setup,
            "state_dict": {f"module.{k}": v for k, v in sd.items()},
            "ema_state_dict": {k: v.clone() for k, v in sd.items()},
            "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": []}]}, "scaler": {}}
