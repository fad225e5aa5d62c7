"""Small WaveGlow modules pickled the way NVIDIA/waveglow's ``train.py`` pickles its model (``{'model': <WaveGlow>,
...}``), in the three layouts it has saved, under the module names its pickles carry (``glow``, ``glow_old``).

The classes are written here from the layouts documented in ``weights/layouts.py``; they exist under those module
names only while :func:`save_full_model` writes the file, so loading it cannot import them.
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Any, Iterator

import torch
from torch import nn

from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.layouts import FUSED_COND, PER_LAYER_COND, RES_SKIP_SPLIT

LAYOUTS = (FUSED_COND, PER_LAYER_COND, RES_SKIP_SPLIT)


def _wn_conv(c_in: int, c_out: int, kernel: int = 1, dilation: int = 1) -> nn.Module:
    conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
    return nn.utils.weight_norm(conv, name="weight")


class WN(nn.Module):
    def __init__(self, n_in: int, cfg: WaveGlowConfig, layout: str):
        super().__init__()
        c, n = cfg.wn_n_channels, cfg.wn_n_layers
        self.n_layers, self.n_channels = n, c
        self.start = _wn_conv(n_in, c)
        self.end = nn.Conv1d(c, 2 * n_in, 1)
        self.in_layers = nn.ModuleList(_wn_conv(c, 2 * c, cfg.wn_kernel_size, 2 ** i) for i in range(n))
        if layout == FUSED_COND:
            self.cond_layer = _wn_conv(cfg.cond_channels, 2 * c * n)
        else:
            self.cond_layers = nn.ModuleList(_wn_conv(cfg.cond_channels, 2 * c) for _ in range(n))
        if layout == RES_SKIP_SPLIT:
            self.res_layers = nn.ModuleList(_wn_conv(c, c) for _ in range(n - 1))
            self.skip_layers = nn.ModuleList(_wn_conv(c, c) for _ in range(n))
        else:
            self.res_skip_layers = nn.ModuleList(_wn_conv(c, 2 * c if i < n - 1 else c) for i in range(n))


class Invertible1x1Conv(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv1d(c, c, 1, bias=False)
        q = torch.linalg.qr(torch.randn(c, c))[0]
        self.conv.weight.data = q[:, :, None].contiguous()


class WaveGlow(nn.Module):
    def __init__(self, cfg: WaveGlowConfig, layout: str):
        super().__init__()
        self.upsample = nn.ConvTranspose1d(cfg.n_mel_channels, cfg.n_mel_channels, cfg.upsample_kernel_size,
                                           stride=cfg.upsample_stride)
        self.WN, self.convinv = nn.ModuleList(), nn.ModuleList()
        for k in range(cfg.n_flows):
            ck = cfg.remaining_channels(k)
            self.convinv.append(Invertible1x1Conv(ck))
            self.WN.append(WN(ck // 2, cfg, layout))
        self.n_flows = cfg.n_flows


def build(cfg: WaveGlowConfig, layout: str, seed: int = 0) -> WaveGlow:
    """Random weights: every weight-norm g scaled by U(0.8, 1.2) (so folding matters), ``end`` small."""
    torch.manual_seed(seed)
    model = WaveGlow(cfg, layout)
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "weight_g"):
                module.weight_g.mul_(torch.empty_like(module.weight_g).uniform_(0.8, 1.2))
        for wn in model.WN:
            wn.end.weight.mul_(0.1)
    return model


def module_names(layout: str) -> tuple[str, str]:
    """(module of WaveGlow and WN, module of Invertible1x1Conv): ``glow_old`` imports the latter from ``glow``."""
    return ("glow_old", "glow") if layout == PER_LAYER_COND else ("glow", "glow")


@contextlib.contextmanager
def registered(names: dict[str, list[type]]) -> Iterator[None]:
    """Classes importable as ``module.Class`` (what pickle records) only inside the block."""
    for module, classes in names.items():
        mod = types.ModuleType(module)
        for cls in classes:
            cls.__module__, cls.__qualname__ = module, cls.__name__
            setattr(mod, cls.__name__, cls)
        sys.modules[module] = mod
    try:
        yield
    finally:
        for module in names:
            del sys.modules[module]


def save_full_model(path: Any, model: nn.Module, layout: str, *, zip_format: bool = True,
                    extra_classes: dict[str, list[type]] | None = None, **entries: Any) -> None:
    """``torch.save({'model': model, 'iteration', 'optimizer', 'learning_rate', **entries})`` as train.py does."""
    outer, inner = module_names(layout)
    names: dict[str, list[type]] = {outer: [WaveGlow, WN]}
    names.setdefault(inner, []).append(Invertible1x1Conv)
    for module, classes in (extra_classes or {}).items():
        names.setdefault(module, []).extend(classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4).state_dict()
    obj = {"model": model, "iteration": 1200, "optimizer": optimizer, "learning_rate": 1e-4, **entries}
    with registered(names):
        torch.save(obj, str(path), _use_new_zipfile_serialization=zip_format)


def folded(model: nn.Module, cfg: WaveGlowConfig, layout: str) -> dict[str, torch.Tensor]:
    """What the original ``remove_weightnorm`` gives (float64), keyed as trtnet's HDF5 (``WN.k.in_layers.i.weight``,
    ...): the fused ``cond_layer`` split row-wise, ``res_layers``/``skip_layers`` stacked as ``convert_model.py``
    stacks them; ``upsample``, ``convinv`` and ``end`` as they are."""
    m = WaveGlow(cfg, layout)  # a copy (deepcopy refuses weight norm's derived tensors)
    m.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    m.double()
    for module in list(m.modules()):
        if hasattr(module, "weight_g"):
            nn.utils.remove_weight_norm(module)
    out: dict[str, torch.Tensor] = {"upsample.weight": m.upsample.weight, "upsample.bias": m.upsample.bias}

    def put(prefix: str, weight: torch.Tensor, bias: torch.Tensor) -> None:
        out[f"{prefix}.weight"], out[f"{prefix}.bias"] = weight, bias

    for k, wn in enumerate(m.WN):
        n = wn.n_layers
        out[f"convinv.{k}.conv.weight"] = m.convinv[k].conv.weight
        put(f"WN.{k}.start", wn.start.weight, wn.start.bias)
        put(f"WN.{k}.end", wn.end.weight, wn.end.bias)
        for i in range(n):
            put(f"WN.{k}.in_layers.{i}", wn.in_layers[i].weight, wn.in_layers[i].bias)
            if layout == FUSED_COND:
                put(f"WN.{k}.cond_layers.{i}", wn.cond_layer.weight.chunk(n)[i], wn.cond_layer.bias.chunk(n)[i])
            else:
                put(f"WN.{k}.cond_layers.{i}", wn.cond_layers[i].weight, wn.cond_layers[i].bias)
            if layout == RES_SKIP_SPLIT:
                parts = ([wn.res_layers[i]] if i < n - 1 else []) + [wn.skip_layers[i]]
                put(f"WN.{k}.res_skip_layers.{i}", torch.cat([p.weight for p in parts]),
                    torch.cat([p.bias for p in parts]))
            else:
                put(f"WN.{k}.res_skip_layers.{i}", wn.res_skip_layers[i].weight, wn.res_skip_layers[i].bias)
    return {key: w.detach() for key, w in out.items()}


def reference_state(weights: dict[str, torch.Tensor], weight_normed: list[str]) -> dict[str, torch.Tensor]:
    """A DLE-layout state dict for ``WaveGlowReference`` from folded weights: g = ‖w‖ per row, v = w."""
    sd = dict(weights)
    for prefix in weight_normed:
        w = sd.pop(f"{prefix}.weight")
        sd[f"{prefix}.weight_v"], sd[f"{prefix}.weight_g"] = w, w.norm(dim=(1, 2), keepdim=True)
    return sd
