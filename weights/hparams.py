"""Architecture and hyper-parameters from tensor shapes alone (DLE issues #365/#986: configs drift, shapes don't).

Each architecture field is read off one tensor, e.g. WN channels C from
``WN.0.start.weight_v`` [C, n_group/2, 1], early outputs from where ``convinv.{k}`` [Ck, Ck, 1] shrinks.
A ``config`` stored in the checkpoint (DLE constructor kwargs) is cross-checked field by field; ``overrides``
set what shapes cannot tell (runtime settings, ``upsample_stride``, STFT sizes) and must agree with the rest.
The full key set is checked afterwards against ``schema.dle_shapes(config)``.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any, Mapping

from .architectures import ARCHITECTURES
from .config import ConfigError, Tacotron2Config, WaveGlowConfig, _ConfigBase
from .errors import ArchitectureError, HParamMismatchError, WeightKeysError

log = logging.getLogger(__name__)

ARCHITECTURE_PREFIXES = {a.name: a.key_prefixes for a in ARCHITECTURES.values()}
NOT_INFERRED = {a.name: a.not_inferred for a in ARCHITECTURES.values()}
# DLE WaveGlow nests the WN sizes: WaveGlow(..., WN_config={n_layers, n_channels, kernel_size}).
DLE_WN_CONFIG = {"n_layers": "wn_n_layers", "n_channels": "wn_n_channels", "kernel_size": "wn_kernel_size"}


def detect_architecture(state_dict: Mapping[str, Any], source: str = "<state_dict>") -> str:
    """``"tacotron2"``, ``"waveglow"``, ``"hifigan"`` or ``"fastpitch"`` from the key prefixes (an architecture
    another one found overshadows is dropped); ArchitectureError if none or several."""
    found = [arch for arch, prefixes in ARCHITECTURE_PREFIXES.items()
             if any(k.startswith(prefixes) for k in state_dict)]
    found = [arch for arch in found if not any(arch in ARCHITECTURES[f].overshadows for f in found)]
    if len(found) == 1:
        return found[0]
    sample = sorted(state_dict)[:6]
    what = f"keys of several models {found}" if found else "neither Tacotron 2, WaveGlow, HiFi-GAN nor FastPitch keys"
    raise ArchitectureError(source, f"the state_dict has {what} (first keys: {sample})")


def count_indexed(keys: Any, template: str) -> int:
    """How many consecutive indices 0, 1, ... have ``template.format(i)`` in ``keys``."""
    n = 0
    while template.format(n) in keys:
        n += 1
    return n


class _Shapes:
    """Shape lookup that turns a missing key into WeightKeysError naming the key and the hparam it sets."""

    def __init__(self, sd: Mapping[str, Any], source: str):
        self.sd, self.source = sd, source

    def __call__(self, key: str, what: str) -> tuple[int, ...]:
        if key not in self.sd:
            raise WeightKeysError(self.source, missing=[key], context=f"cannot infer {what}")
        return tuple(self.sd[key].shape)


def infer_tacotron2_config(sd: Mapping[str, Any], *, ckpt_config: Mapping[str, Any] | None = None,
                           overrides: Mapping[str, Any] | None = None, source: str = "<state_dict>") -> Tacotron2Config:
    """Tacotron2Config from a DLE state_dict (keys without ``module.``)."""
    shape = _Shapes(sd, source)
    n_symbols, sym_dim = shape("embedding.weight", "n_symbols")
    enc_dim, _, enc_k = shape("encoder.convolutions.0.0.conv.weight", "encoder sizes")
    prenet_dim, _ = shape("decoder.prenet.layers.0.linear_layer.weight", "prenet_dim")
    att_dim, att_rnn = shape("decoder.attention_layer.query_layer.linear_layer.weight", "attention sizes")
    n_filters, _, loc_k = shape("decoder.attention_layer.location_layer.location_conv.conv.weight",
                                "attention location sizes")
    _, dec_rnn = shape("decoder.decoder_rnn.weight_hh", "decoder_rnn_dim")
    post_dim, n_mel, post_k = shape("postnet.convolutions.0.0.conv.weight", "postnet sizes")
    frame_dim, _ = shape("decoder.linear_projection.linear_layer.weight", "n_frames_per_step")
    inferred = dict(
        n_mel_channels=n_mel, n_symbols=n_symbols, symbols_embedding_dim=sym_dim, encoder_kernel_size=enc_k,
        encoder_n_convolutions=count_indexed(sd, "encoder.convolutions.{}.0.conv.weight"),
        encoder_embedding_dim=enc_dim, attention_rnn_dim=att_rnn, attention_dim=att_dim,
        attention_location_n_filters=n_filters, attention_location_kernel_size=loc_k,
        n_frames_per_step=max(1, frame_dim // n_mel), decoder_rnn_dim=dec_rnn, prenet_dim=prenet_dim,
        postnet_embedding_dim=post_dim, postnet_kernel_size=post_k,
        postnet_n_convolutions=count_indexed(sd, "postnet.convolutions.{}.0.conv.weight"),
    )
    return _finish(Tacotron2Config, inferred, _checkpoint_config(ckpt_config, source), overrides, source)


def _early_outputs(ck: list[int], n_group: int, ckpt: Mapping[str, Any]) -> tuple[int, int]:
    """(n_early_every, n_early_size) from the channel counts Ck of the convinv layers (8,8,8,8,6,... in DLE).

    The first k > 0 where Ck shrinks is ``n_early_every``, the drop is ``n_early_size``.  With no drop the two
    are not identifiable: keep the checkpoint's values, else the defaults, if they reproduce ``ck``.
    """
    drops = [k for k in range(1, len(ck)) if ck[k] != ck[k - 1]]
    if drops:
        return drops[0], ck[drops[0] - 1] - ck[drops[0]]
    default = WaveGlowConfig()
    for every, size in ((ckpt.get("n_early_every"), ckpt.get("n_early_size")),
                        (default.n_early_every, default.n_early_size)):
        if isinstance(every, int) and isinstance(size, int) and every > 0 and 0 <= size < n_group:
            trial = WaveGlowConfig(n_flows=len(ck), n_group=n_group, n_early_every=every, n_early_size=size,
                                   upsample_stride=n_group, upsample_kernel_size=n_group)
            if [trial.remaining_channels(k) for k in range(len(ck))] == ck:
                return every, size
    return len(ck), default.n_early_size


def infer_waveglow_config(sd: Mapping[str, Any], *, ckpt_config: Mapping[str, Any] | None = None,
                          overrides: Mapping[str, Any] | None = None, source: str = "<state_dict>") -> WaveGlowConfig:
    """WaveGlowConfig from a DLE state_dict (weight-normed, per-layer ``cond_layers``)."""
    shape = _Shapes(sd, source)
    n_mel, _, up_k = shape("upsample.weight", "n_mel_channels / upsample_kernel_size")
    n_flows = count_indexed(sd, "convinv.{}.conv.weight")
    ck = [shape(f"convinv.{k}.conv.weight", "n_group")[0] for k in range(max(n_flows, 1))]
    n_channels = shape("WN.0.start.weight_v", "wn_n_channels")[0]
    _, _, wn_k = shape("WN.0.in_layers.0.weight_v", "wn_kernel_size")
    ckpt = _flatten_dle_waveglow(_checkpoint_config(ckpt_config, source))
    every, size = _early_outputs(ck, ck[0], ckpt)
    inferred = dict(
        n_mel_channels=n_mel, n_flows=n_flows, n_group=ck[0], n_early_every=every, n_early_size=size,
        wn_n_layers=count_indexed(sd, "WN.0.in_layers.{}.weight_v"), wn_n_channels=n_channels,
        wn_kernel_size=wn_k, upsample_kernel_size=up_k,
    )
    return _finish(WaveGlowConfig, inferred, ckpt, overrides, source)


def _flatten_dle_waveglow(cfg: dict[str, Any]) -> dict[str, Any]:
    """DLE ``{..., WN_config: {n_layers, n_channels, kernel_size}}`` → flat trtnet field names."""
    wn = cfg.pop("WN_config", None)
    if isinstance(wn, Mapping):
        cfg.update({DLE_WN_CONFIG[k]: v for k, v in wn.items() if k in DLE_WN_CONFIG})
    return cfg


def _finish(cls: type, inferred: dict[str, Any], ckpt: Mapping[str, Any], overrides: Mapping[str, Any] | None,
            source: str) -> Any:
    """Cross-check the inferred fields against the checkpoint config and the overrides, then build ``cls``.

    Known = inferred fields + non-inferable architecture fields the checkpoint config states (e.g. a trtnet demo
    WaveGlow's ``upsample_stride``, a pickled WaveGlow's stride and ``variant``); overrides must agree with what
    is known, or HParamMismatchError names the field and both values.  Runtime settings are never
    taken from the checkpoint (DLE takes them from argparse too): defaults unless overridden.
    """
    mismatches = [(f, v, ckpt[f]) for f, v in inferred.items() if f in ckpt and ckpt[f] != v]
    if mismatches:
        raise HParamMismatchError(source, "checkpoint config", mismatches)
    known = {**inferred, **{f: ckpt[f] for f in NOT_INFERRED[cls.architecture] if f in ckpt}}
    for f in cls.runtime_fields:
        if f in ckpt and ckpt[f] != getattr(cls, f):
            log.info("%s: run-time setting %s is %r (DLE's inference default; the checkpoint's config says %r, "
                     "which DLE also ignores); pass --%s to choose", source, f, getattr(cls, f), ckpt[f],
                     f.replace("_", "-"))
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"{source}: {cls.architecture} has no setting(s) {unknown}")
    mismatches = [(f, inferred[f], v) for f, v in overrides.items() if f in inferred and inferred[f] != v]
    if mismatches:
        raise HParamMismatchError(source, "override", mismatches)
    mismatches = [(f, known[f], v) for f, v in overrides.items() if f in known and known[f] != v]
    if mismatches:  # a value the checkpoint states itself (a pickled module's stride, its class's variant)
        raise HParamMismatchError(source, "override", mismatches, against="the checkpoint's own config",
                                  known_as="checkpoint")
    try:
        return cls(**{**known, **overrides})
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}", e.field, e.value, e.allowed) from None


def _checkpoint_config(ckpt_config: Any, source: str) -> dict[str, Any]:
    """The checkpoint's ``config`` entry as a dict (absent: empty); anything else is refused, named."""
    if ckpt_config is None:
        return {}
    if not isinstance(ckpt_config, Mapping):
        raise ConfigError(f"{source}: the checkpoint's 'config' entry is a {type(ckpt_config).__name__}, expected a "
                          f"dict of DLE constructor arguments; re-save the checkpoint with a dict config or none")
    return {str(k): v for k, v in ckpt_config.items()}


def infer_config(sd: Mapping[str, Any], architecture: str = "auto", *, ckpt_config: Mapping[str, Any] | None = None,
                 overrides: Mapping[str, Any] | None = None, source: str = "<state_dict>") -> _ConfigBase:
    """Detect (or check) the architecture, then infer its config."""
    found = detect_architecture(sd, source)
    if architecture not in ("auto", found):
        raise ArchitectureError(source, f"a {architecture} model was asked for, but the state_dict is a {found} "
                                        f"(keys such as {sorted(sd)[:3]})", found=found, wanted=architecture)
    infer = ARCHITECTURES[found].function("infer")
    return infer(sd, ckpt_config=ckpt_config, overrides=overrides, source=source)
