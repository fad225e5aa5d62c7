"""What a pickled NVIDIA/waveglow model says about itself: its class (the inference semantics) and its sizes.

A full-model pickle keeps each module's plain attributes (``weights.pickles`` stands them in, never running
them).  These are the truth for the fields they state; tensor shapes and flags are checked against them
(``weights.hparams``).  Read, as trtnet ``WaveGlowConfig`` fields:

  variant                        the root class: ``glow.WaveGlow`` → ``glow``, ``glow_old.WaveGlow`` → ``glow_old``
  n_group, n_early_every, n_early_size, n_flows      the root's attributes of those names
  upsample_kernel_size, upsample_stride               ``upsample`` (ConvTranspose1d) ``kernel_size[0]``, ``stride[0]``
  wn_n_layers, wn_n_channels                         ``WN[0]`` attributes ``n_layers``, ``n_channels``
  wn_kernel_size                                     ``WN[0].in_layers[0].kernel_size[0]``

An attribute the pickle lacks is simply not stated (the shapes or the documented defaults decide).  Convolution
settings that no supported code ever changes, but that would change the math, are checked instead: the upsample's
padding 0, output_padding 0, dilation 1, groups 1; WN layer i's dilation 2^i and padding 2^i·(K−1)/2.
"""

from __future__ import annotations

from typing import Any, Mapping

from .errors import CheckpointError
from .pickles import StandIn, describe

#: Root class → ``WaveGlowConfig.variant``.
PICKLED_VARIANTS = {"glow.WaveGlow": "glow", "glow_old.WaveGlow": "glow_old"}
_ROOT_INTS = ("n_group", "n_early_every", "n_early_size", "n_flows")
_UPSAMPLE_FIXED = {"padding": (0,), "output_padding": (0,), "dilation": (1,), "groups": 1}


def _state(obj: Any) -> Mapping[str, Any]:
    state = obj.pickled_state if isinstance(obj, StandIn) else None
    return state if isinstance(state, Mapping) else {}


def _child(obj: Any, name: str) -> Any:
    modules = _state(obj).get("_modules")
    return modules.get(name) if isinstance(modules, Mapping) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first(value: Any) -> int | None:
    """``(n,)`` (how torch stores a Conv1d's kernel_size/stride) or ``n`` → n."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return _int(value)


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _check_upsample(up: Any, source: str) -> dict[str, int]:
    state = _state(up)
    found = {}
    for attr, want in _UPSAMPLE_FIXED.items():
        if attr in state and _as_tuple(state[attr]) != want:
            raise CheckpointError(source, f"upsample ({describe(up)}) has {attr} {state[attr]!r}; WaveGlow's "
                                          f"upsample uses {want!r} (no supported code changes it)")
    for attr, field in (("kernel_size", "upsample_kernel_size"), ("stride", "upsample_stride")):
        value = _first(state.get(attr))
        if value is not None:
            found[field] = value
    return found


def _check_wn_dilations(root: Any, kernel: int, source: str) -> None:
    flows = _state(_child(root, "WN")).get("_modules")
    for k, wn in (flows.items() if isinstance(flows, Mapping) else ()):
        layers = _state(_child(wn, "in_layers")).get("_modules")
        for i, layer in (layers.items() if isinstance(layers, Mapping) else ()):
            state, d = _state(layer), 2 ** int(i)
            for attr, want in (("dilation", (d,)), ("padding", (d * (kernel - 1) // 2,))):
                if attr in state and _as_tuple(state[attr]) != want:
                    raise CheckpointError(source, f"WN.{k}.in_layers.{i} has {attr} {state[attr]!r}, expected "
                                                  f"{want!r} (dilation 2^i, 'same' padding)")


def pickled_waveglow_config(root: StandIn, source: str) -> dict[str, Any]:
    """The config fields a pickled ``glow.WaveGlow`` / ``glow_old.WaveGlow`` states (module docstring)."""
    out: dict[str, Any] = {"variant": PICKLED_VARIANTS[root.qualified_name]}
    state = _state(root)
    out.update({a: _int(state[a]) for a in _ROOT_INTS if _int(state.get(a)) is not None})
    up = _child(root, "upsample")
    if up is not None:
        out.update(_check_upsample(up, source))
    wn0 = _child(_child(root, "WN"), "0")
    wn_state = _state(wn0)
    for attr in ("n_layers", "n_channels"):
        if _int(wn_state.get(attr)) is not None:
            out[f"wn_{attr}"] = wn_state[attr]
    kernel = _first(_state(_child(_child(wn0, "in_layers"), "0")).get("kernel_size"))
    if kernel is not None:
        out["wn_kernel_size"] = kernel
        _check_wn_dilations(root, kernel, source)
    return out
