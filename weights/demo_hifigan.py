"""The demo HiFi-GAN generator: deterministic random weights in DLE's generator-checkpoint layout.

Every conv is weight-normed as in DLE: v ~ U(±1/√fan_in) and g = ‖v‖·U(0.8, 1.2) per index of dim 0, bias
~ U(±1/√fan_in), drawn from ``torch.Generator().manual_seed(seed)``.  The output level is then calibrated: on a
fixed log-mel-like input (N(−4, 2²), the same seed), ``conv_post``'s bias is shifted so the pre-tanh signal
has mean 0, and its g and bias scaled so it has standard deviation ``TARGET_STD``: audio that is neither silent
nor clipped (|audio| well below 1).  Shift and scale are rounded to 4 significant digits so the bytes do not
depend on the BLAS build.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .config import HiFiGANConfig
from .reference.hifigan import FINAL_SLOPE, HiFiGANReference, _WeightNorm

TARGET_STD = 0.3          # pre-tanh std of the calibrated demo output (tanh nearly linear, peaks ~0.8)
CALIBRATION_FRAMES = 32
NON_DLE_KEYS = ("n_mel_channels", "pre_kernel_size", "post_kernel_size", "stft_hop_length", "denoiser_bias_frames")


def _init(module: _WeightNorm, gen: torch.Generator) -> None:
    v = module.weight_v
    bound = 1.0 / math.sqrt(v.shape[1] * v.shape[2])
    v.uniform_(-bound, bound, generator=gen)
    module.weight_g.copy_(v.norm(dim=(1, 2), keepdim=True)
                          * torch.empty_like(module.weight_g).uniform_(0.8, 1.2, generator=gen))
    module.bias.uniform_(-bound, bound, generator=gen)


def calibration_mel(config: HiFiGANConfig, seed: int) -> torch.Tensor:
    """The fixed input the output level is calibrated on: [1, n_mel, 32] ~ N(−4, 2²)."""
    gen = torch.Generator().manual_seed(seed + 1)
    return torch.randn(1, config.n_mel_channels, CALIBRATION_FRAMES, generator=gen) * 2.0 - 4.0


@torch.no_grad()
def hifigan_model(config: HiFiGANConfig | None = None, seed: int = 0) -> HiFiGANReference:
    """The demo generator as a float32 reference model (eval), output level calibrated."""
    cfg = config or HiFiGANConfig()
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the calibration sum depends on the thread count
    try:
        model = HiFiGANReference(cfg)
        gen = torch.Generator().manual_seed(seed)
        for _, module in model.named_modules():
            if isinstance(module, _WeightNorm):
                _init(module, gen)
        x = model.conv_pre(calibration_mel(cfg, seed))
        for up, group in zip(model.ups, model.resblocks):
            x = up(torch.nn.functional.leaky_relu(x, 0.1))
            x = sum(block(x) for block in group) / len(group)
        pre = model.conv_post(torch.nn.functional.leaky_relu(x, FINAL_SLOPE))
        scale = float(f"{TARGET_STD / float(pre.std()):.4g}")
        shift = float(f"{float(pre.mean()):.4g}")
        model.conv_post.weight_g.mul_(scale)
        model.conv_post.bias.sub_(shift).mul_(scale)
    finally:
        torch.set_num_threads(before)
    return model.eval()


def dle_hifigan_config(cfg: HiFiGANConfig) -> dict[str, Any]:
    """DLE's generator ``config`` dict (its six architecture keys, lists as lists); fields DLE hard-codes
    (80 mels, conv_pre/conv_post kernel 7, the denoiser's STFT hop and bias frames) are added under their
    HiFiGANConfig names only when they differ (a small demo cannot be a DLE model anyway)."""
    out: dict[str, Any] = {
        "upsample_rates": list(cfg.upsample_rates), "upsample_kernel_sizes": list(cfg.upsample_kernel_sizes),
        "upsample_initial_channel": cfg.upsample_initial_channel, "resblock": cfg.resblock,
        "resblock_kernel_sizes": list(cfg.resblock_kernel_sizes),
        "resblock_dilation_sizes": [list(d) for d in cfg.resblock_dilation_sizes]}
    default = HiFiGANConfig()
    out.update({k: getattr(cfg, k) for k in NON_DLE_KEYS if getattr(cfg, k) != getattr(default, k)})
    return out


def dle_train_setup(cfg: HiFiGANConfig, seed: int) -> dict[str, Any]:
    """DLE's ``train_setup`` (audio settings as DLE names them, plus a few training entries)."""
    return {"segment_size": 8192, "filter_length": cfg.stft_filter_length, "num_mels": cfg.n_mel_channels,
            "hop_length": cfg.upsample_stride, "win_length": cfg.stft_win_length,
            "sampling_rate": cfg.sampling_rate, "mel_fmin": cfg.mel_fmin, "mel_fmax": cfg.mel_fmax,
            "mel_fmax_loss": None, "max_wav_value": 32768.0, "seed": seed, "base_lr": 3e-4, "lr_decay": 0.9998,
            "epochs_all": 0}


def hifigan_checkpoint(config: HiFiGANConfig | None = None, seed: int = 0) -> dict[str, Any]:
    """DLE ``hifigan_gen_checkpoint_<epoch>.pt`` dict: {'generator', 'gen_ema': None, 'config', 'train_setup',
    'train_state'}; weight-normed convs, nested resblock keys."""
    cfg = config or HiFiGANConfig()
    model = hifigan_model(cfg, seed)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return {"generator": state, "gen_ema": None, "config": dle_hifigan_config(cfg),
            "train_setup": dle_train_setup(cfg, seed), "train_state": {"epoch": 0, "iters_all": 0}}
