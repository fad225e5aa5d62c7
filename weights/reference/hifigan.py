"""Plain-PyTorch HiFi-GAN generator and its bias denoiser (DLE ``hifigan/models.py`` inference semantics).

Shapes: B batch, T mel frames, C = upsample_initial_channel, stage i: C/2^i → C/2^(i+1) channels, time × u_i.
Every conv is weight-normed with DLE's key names (``weight_g``, ``weight_v``, ``bias``); the effective weight
w = g·v/‖v‖ (norm over all dims but dim 0; for ConvTranspose1d dim 0 is the input channel) is recomputed on
every call.

  x = conv_pre(mel)                                            (k = pre_kernel_size, 'same')
  for stage i: x = ups_i(lrelu(x, 0.1))                        (ConvTranspose1d stride u_i, padding (k_i − u_i)/2)
               x = mean_j resblock_ij(x)
  audio = tanh(conv_post(lrelu(x, 0.01)))                      (PyTorch's default slope, as DLE)
  ResBlock1: for each dilation d: x = x + c2_d(lrelu(c1_d(lrelu(x, 0.1)), 0.1)), c1 dilation d, c2 dilation 1
  ResBlock2: for each dilation d: x = x + c_d(lrelu(x, 0.1))
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..config import HiFiGANConfig
from ._common import ReferenceLoadError, strict_load
from .stft import STFT

SLOPE = 0.1        # DLE LRELU_SLOPE
FINAL_SLOPE = 0.01  # F.leaky_relu default, used once before conv_post


class _WeightNorm(nn.Module):
    """Parameters weight_g [d0, 1, 1], weight_v [d0, d1, K], bias; weight = g·v/‖v‖ per index of dim 0."""

    def __init__(self, d0: int, d1: int, k: int, n_bias: int):
        super().__init__()
        self.weight_g = nn.Parameter(torch.ones(d0, 1, 1))
        self.weight_v = nn.Parameter(torch.randn(d0, d1, k) * 0.01)
        self.bias = nn.Parameter(torch.zeros(n_bias))

    @property
    def weight(self) -> torch.Tensor:
        v = self.weight_v
        return self.weight_g * v / v.norm(dim=(1, 2), keepdim=True)


class WNConv1d(_WeightNorm):
    def __init__(self, c_in: int, c_out: int, k: int, dilation: int = 1):
        super().__init__(c_out, c_in, k, c_out)
        self.dilation, self.padding = dilation, dilation * (k - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, padding=self.padding, dilation=self.dilation)


class WNConvTranspose1d(_WeightNorm):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int):
        super().__init__(c_in, c_out, k, c_out)
        self.stride, self.padding = stride, (k - stride) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)


class ResBlock1(nn.Module):
    def __init__(self, ch: int, k: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(WNConv1d(ch, ch, k, d) for d in dilations)
        self.convs2 = nn.ModuleList(WNConv1d(ch, ch, k, 1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, SLOPE)), SLOPE))
        return x


class ResBlock2(nn.Module):
    def __init__(self, ch: int, k: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(WNConv1d(ch, ch, k, d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in self.convs:
            x = x + c(F.leaky_relu(x, SLOPE))
        return x


class HiFiGANReference(nn.Module):
    """DLE's HiFi-GAN Generator: mel [B, n_mel, T] → audio [B, hop·T] in [−1, 1]."""

    def __init__(self, config: HiFiGANConfig | None = None):
        super().__init__()
        cfg = self.config = config or HiFiGANConfig()
        c = cfg.upsample_initial_channel
        self.conv_pre = WNConv1d(cfg.n_mel_channels, c, cfg.pre_kernel_size)
        self.ups = nn.ModuleList(WNConvTranspose1d(cfg.stage_channels(i - 1), cfg.stage_channels(i), k, u)
                                 for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)))
        block = ResBlock1 if cfg.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList(
            nn.ModuleList(block(cfg.stage_channels(i), k, d)
                          for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes))
            for i in range(cfg.num_upsamples))
        self.conv_post = WNConv1d(cfg.stage_channels(cfg.num_upsamples - 1), 1, cfg.post_kernel_size)
        self.eval()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(mel)
        for up, group in zip(self.ups, self.resblocks):
            x = up(F.leaky_relu(x, SLOPE))
            x = sum(block(x) for block in group) / len(group)
        return torch.tanh(self.conv_post(F.leaky_relu(x, FINAL_SLOPE)))[:, 0]

    @torch.no_grad()
    def infer(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, n_mel, T] → audio [B, hop·T]."""
        return self.forward(mel)

    @classmethod
    def from_checkpoint(cls, source: str | os.PathLike | Mapping[str, Any], config: HiFiGANConfig,
                        ema: bool = False) -> "HiFiGANReference":
        """Strict load of a DLE generator checkpoint ({'generator': sd, 'gen_ema': ..., 'config': ...}, path or
        dict) or a bare state dict.  As DLE's ``Generator.load_state_dict``: ``module.`` removed, flat
        ``resblocks.<i·num_kernels + j>.`` keys renamed to ``resblocks.<i>.<j>.``, and a trailing unit axis
        squeezed (or a missing one added) where the model's tensor has one dim less (more)."""
        name = str(source) if isinstance(source, (str, os.PathLike)) else "<in-memory checkpoint>"
        obj = torch.load(name, map_location="cpu", weights_only=True) if isinstance(source, (str, os.PathLike)) \
            else source
        key = "gen_ema" if ema else "generator"
        state = obj.get(key) if isinstance(obj, Mapping) and key in obj else obj
        if not isinstance(state, Mapping):
            raise ReferenceLoadError(f"{name}: no {key!r} state dict")
        model = cls(config)
        wanted = model.state_dict()
        out = {}
        for k, v in state.items():
            k = k.replace("module.", "")
            parts = k.split(".")
            if parts[0] == "resblocks" and len(parts) == 5:  # flat: resblocks.<n>.convs1.<m>.weight_g
                n = int(parts[1])
                k = ".".join(["resblocks", str(n // config.num_kernels), str(n % config.num_kernels)] + parts[2:])
            if k in wanted and v.dim() == wanted[k].dim() + 1 and v.shape[-1] == 1:
                v = v.squeeze(-1)
            elif k in wanted and v.dim() == wanted[k].dim() - 1:
                v = v.unsqueeze(-1)
            out[k] = v
        strict_load(model, out, name)
        return model.eval()


@torch.no_grad()
def bias_spectrum(model: HiFiGANReference, config: HiFiGANConfig | None = None) -> torch.Tensor:
    """DLE's HiFi-GAN denoiser bias: |STFT| frame 0 [filter/2 + 1] of the generator's output for a zero mel of
    ``denoiser_bias_frames`` frames (88), in the model's dtype."""
    cfg = config or model.config
    p = next(model.parameters())
    stft = STFT(cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length).to(p.device)
    audio = model(torch.zeros(1, cfg.n_mel_channels, cfg.denoiser_bias_frames, dtype=p.dtype, device=p.device))
    magnitude, _ = stft.transform(audio)
    return magnitude[0, :, 0]


class HiFiGANDenoiser(nn.Module):
    """forward(audio [B, L], strength) → [B, 1, hop·(L//hop)]: |X| − strength·bias, clamped ≥ 0, phase kept."""

    def __init__(self, model: HiFiGANReference, config: HiFiGANConfig | None = None):
        super().__init__()
        cfg = config or model.config
        self.stft = STFT(cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length)
        self.register_buffer("bias_spec", bias_spectrum(model, cfg)[None, :, None])

    @torch.no_grad()
    def forward(self, audio: torch.Tensor, strength: float = 0.0) -> torch.Tensor:
        magnitude, phase = self.stft.transform(audio)
        magnitude = torch.clamp(magnitude - self.bias_spec.to(magnitude.dtype) * strength, min=0.0)
        return self.stft.inverse(magnitude, phase)
