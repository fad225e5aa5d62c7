"""Shared pieces of the plain-PyTorch reference: DLE wrapper modules and checkpoint loading.

The wrappers exist only to give ``state_dict()`` DLE's key names (``LinearNorm.linear_layer``,
``ConvNorm.conv``).  Loading accepts a path or an already loaded object, ``{'state_dict': ...}`` or a bare
state dict, and removes every ``module.`` occurrence from the keys, as DLE's ``inference.py`` does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Union

import torch
from torch import nn

log = logging.getLogger(__name__)

CheckpointSource = Union[str, os.PathLike, Mapping[str, Any]]


class ReferenceLoadError(ValueError):
    """A checkpoint does not fit the reference model; the message names the source, keys and shapes."""


class LinearNorm(nn.Module):
    """DLE ``LinearNorm``: one ``nn.Linear`` stored as ``linear_layer``.  y = x·Wᵀ (+ b)."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True):
        super().__init__()
        self.linear_layer = nn.Linear(in_dim, out_dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


class ConvNorm(nn.Module):
    """DLE ``ConvNorm``: one ``nn.Conv1d`` stored as ``conv``, 'same' padding for odd kernels."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 1, dilation: int = 1, bias: bool = True):
        super().__init__()
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv1d(in_ch, out_ch, kernel_size, padding=padding, dilation=dilation, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def read_checkpoint(source: CheckpointSource) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None, str]:
    """(state_dict with every ``module.`` removed, ckpt['config'] or None, a name for messages)."""
    if isinstance(source, (str, os.PathLike)):
        name = str(Path(source))
        obj = torch.load(name, map_location="cpu", weights_only=True)
    else:
        name, obj = "<in-memory checkpoint>", source
    if not isinstance(obj, Mapping):
        raise ReferenceLoadError(f"{name}: expected a dict checkpoint, got {type(obj).__name__}")
    config = None
    if "state_dict" in obj:
        state = obj["state_dict"]
        config = obj.get("config")
        if config is not None and not isinstance(config, Mapping):
            raise ReferenceLoadError(f"{name}: ckpt['config'] is a {type(config).__name__}, expected a dict")
    else:
        state = obj
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ReferenceLoadError(f"{name}: state_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        out[key.replace("module.", "")] = value
    return out, (dict(config) if config is not None else None), name


def strict_load(model: nn.Module, state: Mapping[str, torch.Tensor], name: str) -> None:
    """load_state_dict(strict=True) after checking keys and shapes ourselves, for errors that carry values."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
             for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if wrong:
            parts.append("shape mismatches [" + "; ".join(wrong) + "]")
        raise ReferenceLoadError(f"{name} does not fit {type(model).__name__}: " + ", ".join(parts))
    model.load_state_dict(state, strict=True)


def config_from_dle(config_cls: type, dle: Mapping[str, Any] | None, renames: Mapping[str, str] | None = None) -> Any:
    """Map a DLE constructor-kwargs dict onto ``config_cls`` fields; keys with no field are ignored (logged)."""
    if dle is None:
        return config_cls()
    known = set(config_cls.__dataclass_fields__)
    picked, ignored = {}, []
    for key, value in dle.items():
        field = (renames or {}).get(key, key)
        if field in known:
            picked[field] = value
        else:
            ignored.append(key)
    if ignored:
        log.debug("%s: ignoring checkpoint config keys %s", config_cls.__name__, sorted(ignored))
    return config_cls(**picked)
