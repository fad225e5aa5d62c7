"""Plain-PyTorch WaveGlow (DLE ``waveglow/model.py`` inference semantics; NVIDIA/waveglow ``glow_old.py``'s where
``config.variant`` is ``glow_old``: odd flows transform the first half conditioned on the second, early channels
are injected after every 4th flow).

Shapes: B batch, T mel frames, S = upsample_stride, G = n_group, T' = S·T/G grouped time steps,
C = wn_n_channels, c_k = audio channels still flowing at flow k, h_k = c_k / 2.
``start``/``in_layers``/``cond_layers``/``res_skip_layers`` are weight-normed with DLE's key names
(``weight_g``, ``weight_v``); the effective weight w[o] = g[o]·v[o]/‖v[o]‖ is recomputed on every call.
"""

from __future__ import annotations

import logging
import re
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..config import GLOW_OLD_EARLY_EVERY, WaveGlowConfig
from ._common import CheckpointSource, config_from_dle, read_checkpoint, strict_load

log = logging.getLogger(__name__)

_WN_RENAMES = {"n_layers": "wn_n_layers", "n_channels": "wn_n_channels", "kernel_size": "wn_kernel_size"}
_SHARED_COND = re.compile(r"^(WN\.\d+)\.cond_layer\.(weight_g|weight_v|bias)$")


class WeightNormConv1d(nn.Module):
    """Conv1d whose weight is g·v/‖v‖ (norm over all but the output dim); parameters weight_g, weight_v, bias."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, dilation: int = 1):
        super().__init__()
        self.dilation, self.padding = dilation, dilation * (kernel_size - 1) // 2
        self.weight_g = nn.Parameter(torch.ones(out_ch, 1, 1))
        self.weight_v = nn.Parameter(torch.empty(out_ch, in_ch, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        nn.init.normal_(self.weight_v, std=0.02)

    @property
    def weight(self) -> torch.Tensor:
        v = self.weight_v
        return self.weight_g * v / v.norm(dim=(1, 2), keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, padding=self.padding, dilation=self.dilation)


class Invertible1x1Conv(nn.Module):
    """1×1 channel mixing W [c, c] (stored as ``conv.weight`` [c, c, 1]); inference applies W⁻¹."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 1, bias=False)

    def inverse_weight(self) -> torch.Tensor:
        """W⁻¹ computed in float64, cast to W's dtype: [c, c]."""
        w = self.conv.weight.squeeze(-1)
        return torch.linalg.inv(w.double()).to(w.dtype)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, c, T'] → W⁻¹·x."""
        return F.conv1d(x, self.inverse_weight().unsqueeze(-1))


class WN(nn.Module):
    """WaveNet-like coupling network: (audio half [B, h, T'], spect [B, n_mel·G, T']) → [B, 2h, T'] = (b ‖ s)."""

    def __init__(self, n_in: int, cond_channels: int, n_layers: int, n_channels: int, kernel_size: int):
        super().__init__()
        c = n_channels
        self.n_channels = c
        self.start = WeightNormConv1d(n_in, c)
        self.in_layers = nn.ModuleList(WeightNormConv1d(c, 2 * c, kernel_size, dilation=2 ** i)
                                       for i in range(n_layers))
        self.cond_layers = nn.ModuleList(WeightNormConv1d(cond_channels, 2 * c) for _ in range(n_layers))
        self.res_skip_layers = nn.ModuleList(WeightNormConv1d(c, 2 * c if i < n_layers - 1 else c)
                                             for i in range(n_layers))
        self.end = nn.Conv1d(c, 2 * n_in, 1)

    def forward(self, audio: torch.Tensor, spect: torch.Tensor) -> torch.Tensor:
        c = self.n_channels
        a = self.start(audio)
        out = torch.zeros_like(a)
        last = len(self.in_layers) - 1
        for i in range(len(self.in_layers)):
            t = self.in_layers[i](a) + self.cond_layers[i](spect)  # [B, 2C, T']
            rs = self.res_skip_layers[i](torch.tanh(t[:, :c]) * torch.sigmoid(t[:, c:]))
            if i < last:
                a = a + rs[:, :c]
                out = out + rs[:, c:]
            else:
                out = out + rs
        return self.end(out)


class WaveGlowReference(nn.Module):
    """DLE WaveGlow, inverse (inference) direction: mel [B, n_mel, T] → audio [B, S·T] (``config.variant``
    chooses the coupling semantics; G ∤ S or K < S is a ConfigError)."""

    def __init__(self, config: WaveGlowConfig | None = None):
        super().__init__()
        cfg = config or WaveGlowConfig()
        cfg.check_upsample()
        self.config = cfg
        self.upsample = nn.ConvTranspose1d(cfg.n_mel_channels, cfg.n_mel_channels, cfg.upsample_kernel_size,
                                           stride=cfg.upsample_stride)
        self.WN = nn.ModuleList()
        self.convinv = nn.ModuleList()
        for k in range(cfg.n_flows):
            channels = cfg.remaining_channels(k)
            self.convinv.append(Invertible1x1Conv(channels))
            self.WN.append(WN(channels // 2, cfg.cond_channels, cfg.wn_n_layers, cfg.wn_n_channels, cfg.wn_kernel_size))
        self.eval()

    @classmethod
    def from_checkpoint(cls, source: CheckpointSource, config: WaveGlowConfig | None = None) -> "WaveGlowReference":
        """Strict load of a DLE checkpoint (path or dict; ``module.`` stripped).

        Config: given, else ckpt['config'] (DLE kwargs with ``WN_config``, or WaveGlowConfig field names),
        else defaults.  A shared ``WN.k.cond_layer`` (original NVIDIA/waveglow layout, 2C·L output rows) is
        split row-wise into the per-layer ``cond_layers.i`` (rows 2C·i … 2C·(i+1)); exact, since the weight
        norm is per output row.
        """
        state, dle_config, name = read_checkpoint(source)
        if config is None:
            flat = dict(dle_config or {})
            flat.update(flat.pop("WN_config", None) or {})
            config = config_from_dle(WaveGlowConfig, flat, _WN_RENAMES)
        model = cls(config)
        strict_load(model, split_shared_cond_layers(state, config.wn_n_layers), name)
        return model.eval()

    # ----- blocks usable on their own -----
    def upsample_and_group(self, mel: torch.Tensor) -> torch.Tensor:
        """mel [B, n_mel, T] → spect [B, n_mel·G, T'] (channel = mel_bin·G + position in group)."""
        cfg = self.config
        spect = self.upsample(mel)  # [B, n_mel, S·T + K − S]
        spect = spect[:, :, : mel.shape[2] * cfg.upsample_stride]
        b, n_mel, length = spect.shape
        spect = spect.unfold(2, cfg.n_group, cfg.n_group)  # [B, n_mel, T', G]
        return spect.permute(0, 2, 1, 3).reshape(b, length // cfg.n_group, n_mel * cfg.n_group).transpose(1, 2)

    def flow_inverse(self, k: int, audio: torch.Tensor, spect: torch.Tensor) -> torch.Tensor:
        """Inverse of flow k on audio [B, c_k, T']: affine coupling undone, then W⁻¹."""
        h = audio.shape[1] // 2
        if self.config.variant == "glow_old" and k % 2 == 1:  # glow_old.py: odd flows swap the halves' roles
            a1, a0 = audio[:, :h], audio[:, h:]
        else:
            a0, a1 = audio[:, :h], audio[:, h:]
        out = self.WN[k](a0, spect)
        b, s = out[:, :h], out[:, h:]
        a1 = (a1 - b) / torch.exp(s)
        if self.config.variant == "glow_old" and k % 2 == 1:
            return self.convinv[k].infer(torch.cat([a1, a0], dim=1))
        return self.convinv[k].infer(torch.cat([a0, a1], dim=1))

    def injection_flows(self) -> list[int]:
        """Flows after whose inverse early channels are prepended, in inverse-pass order (8, 4 for DLE)."""
        every = GLOW_OLD_EARLY_EVERY if self.config.variant == "glow_old" else self.config.n_early_every
        return [k for k in reversed(range(self.config.n_flows)) if k % every == 0 and k > 0]

    def draw_noise(self, batch: int, steps: int, dtype: torch.dtype, device: torch.device | str = "cpu",
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """z [B, G, T'] drawn (float32 randn, then cast) in DLE's order: initial channels, then each injection."""
        cfg = self.config
        sizes = [cfg.n_remaining_channels] + [cfg.n_early_size] * len(self.injection_flows())
        parts = [torch.randn(batch, n, steps, generator=generator, device=device) for n in sizes]
        return torch.cat(parts, dim=1).to(dtype)

    # ----- inference -----
    @torch.no_grad()
    def infer(self, mel: torch.Tensor, sigma: float | None = None, z: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> torch.Tensor:
        """mel [B, n_mel, T] → audio [B, S·T]; z [B, G, T'] (initial channels, then injections), all × sigma."""
        cfg = self.config
        sigma = cfg.sigma if sigma is None else float(sigma)
        spect = self.upsample_and_group(mel)
        batch, steps = spect.shape[0], spect.shape[2]
        if z is None:
            z = self.draw_noise(batch, steps, spect.dtype, spect.device, generator)
        elif tuple(z.shape) != (batch, cfg.n_group, steps):
            raise ValueError(f"noise z has shape {tuple(z.shape)}, expected {(batch, cfg.n_group, steps)} "
                             f"for mel {tuple(mel.shape)}")
        z = z.to(spect.dtype)
        pos = cfg.n_remaining_channels
        audio = sigma * z[:, :pos]
        injections = set(self.injection_flows())
        for k in reversed(range(cfg.n_flows)):
            audio = self.flow_inverse(k, audio, spect)
            if k in injections:
                audio = torch.cat([sigma * z[:, pos:pos + cfg.n_early_size], audio], dim=1)
                pos += cfg.n_early_size
        return audio.permute(0, 2, 1).reshape(batch, -1)  # sample n = G·t + c


def split_shared_cond_layers(state: Mapping[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """Rewrite ``WN.k.cond_layer.*`` [2C·L, …] into ``WN.k.cond_layers.i.*`` [2C, …]; other keys unchanged."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        match = _SHARED_COND.match(key)
        if match is None:
            out[key] = value
            continue
        if value.shape[0] % n_layers:
            raise ValueError(f"{key}: {value.shape[0]} output rows do not split into {n_layers} layers")
        for i, part in enumerate(value.chunk(n_layers, dim=0)):
            out[f"{match.group(1)}.cond_layers.{i}.{match.group(2)}"] = part.clone()
        log.debug("split %s %s into %d per-layer cond_layers", key, tuple(value.shape), n_layers)
    return out
