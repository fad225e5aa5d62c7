"""HiFi-GAN generator checkpoints: recognition, key layouts, hparams from shapes, shapes, extraction arrays.

A DLE generator checkpoint ``hifigan_gen_checkpoint_<epoch>.pt`` is ``{'generator': state_dict, 'gen_ema':
state_dict or None, 'config': {upsample_rates, upsample_kernel_sizes, upsample_initial_channel, resblock,
resblock_kernel_sizes, resblock_dilation_sizes}, 'train_setup': {sampling_rate, filter_length, num_mels,
hop_length, win_length, mel_fmin, mel_fmax, ...}, 'train_state': {...}}``.  ``gen_ema`` is read only when asked
(``use_ema``).  The discriminator checkpoint (``mpd``, ``msd``, ...) is refused with a message naming the file.

Layouts (``upgrade_layout``, as DLE's ``Generator.load_state_dict``): resblock keys nested
``resblocks.<i>.<j>.`` (DLE) or flat ``resblocks.<i·num_kernels + j>.`` (the original code); a conv tensor may
carry an extra trailing unit axis ([O, I, K, 1], squeezed) or miss one ([O, 1] weight_g, one added).

Every conv is weight-normed: w = g·v/‖v‖ with the norm over all dims but dim 0 (for ``ups`` ConvTranspose1d,
dim 0 is the input channel), folded at extraction (float64 → float32).  ``denoiser.bias_spec`` [N/2 + 1] is
|STFT| frame 0 of the generator's output for a zero mel of ``denoiser_bias_frames`` frames (DLE's HiFi-GAN
``Denoiser``), computed with the float32 reference.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np

from .config import HiFiGANConfig
from .errors import CheckpointError, HParamMismatchError, WeightKeysError

Shapes = dict[str, tuple[int, ...]]

PREFIXES = ("conv_pre.", "ups.", "resblocks.", "conv_post.")
SOURCE_FORMAT = "dle-hifigan"  # meta['source_format'] of a {'generator', 'config', ...} checkpoint
CHECKPOINT_KEYS = ("generator", "gen_ema", "mpd", "msd", "train_setup", "train_state")
DISCRIMINATOR_KEYS = ("mpd", "msd", "mpd_ema", "msd_ema", "optim_d")
# DLE train_setup audio settings → HiFiGANConfig fields (hop_length is checked against Π upsample_rates)
TRAIN_SETUP_FIELDS = {"num_mels": "n_mel_channels", "sampling_rate": "sampling_rate",
                      "filter_length": "stft_filter_length", "win_length": "stft_win_length",
                      "mel_fmin": "mel_fmin", "mel_fmax": "mel_fmax", "hop_length": "hop_length"}
DENOISER_OVERLAP = 4  # DLE's HiFi-GAN Denoiser: STFT hop = filter_length / n_overlap
_FLAT = re.compile(r"^resblocks\.(\d+)\.(convs1|convs2|convs)\.(.+)$")
_NESTED = re.compile(r"^resblocks\.(\d+)\.(\d+)\.(convs1|convs2|convs)\.(.+)$")
_CONV_TENSORS = ("weight_g", "weight_v", "weight")


def is_hifigan_checkpoint(obj: Mapping[str, Any]) -> bool:
    """A DLE HiFi-GAN training checkpoint (generator or discriminator), not a ``state_dict`` one."""
    return "state_dict" not in obj and any(k in obj for k in CHECKPOINT_KEYS)


def pick_generator(obj: Mapping[str, Any], path: str, use_ema: bool = False) -> tuple[Mapping[str, Any], dict]:
    """(raw generator state_dict, meta) of a DLE HiFi-GAN checkpoint dict; CheckpointError names the file and
    what was found.  meta['config'] is the DLE config with the train_setup's audio settings filled in."""
    keys = [str(k) for k in obj]
    if "generator" not in obj and any(k in obj for k in DISCRIMINATOR_KEYS):
        raise CheckpointError(path, f"a HiFi-GAN discriminator checkpoint (keys {keys}); trtnet needs the generator "
                                    "checkpoint, hifigan_gen_checkpoint_<epoch>.pt")
    key = "gen_ema" if use_ema else "generator"
    sd = obj.get(key)
    if sd is None:
        what = "is None (trained without EMA): extract 'generator' instead" if key in obj else "is missing"
        raise CheckpointError(path, f"a HiFi-GAN checkpoint whose {key!r} state dict {what} (keys {keys})")
    if not isinstance(sd, Mapping):
        raise CheckpointError(path, f"{key!r} is a {type(sd).__name__}, expected a dict of tensors")
    config, setup = obj.get("config"), obj.get("train_setup")
    if isinstance(config, Mapping) and isinstance(setup, Mapping):
        config = {**{k: v for k, v in setup.items() if k in TRAIN_SETUP_FIELDS}, **config}
    meta = {"top_level_keys": keys, "source_format": SOURCE_FORMAT, "generator_key": key}
    if config is not None:
        meta["config"] = config
    if "train_state" in obj and isinstance(obj["train_state"], Mapping) and "epoch" in obj["train_state"]:
        meta["epoch"] = obj["train_state"]["epoch"]
    return sd, meta


def upgrade_layout(sd: dict[str, np.ndarray], source: str) -> tuple[dict[str, np.ndarray], str]:
    """Flat resblock keys → nested, trailing unit axis squeezed / missing one added; (state_dict, layout)."""
    flat = {k: m for k, m in ((k, _FLAT.match(k)) for k in sd) if m}
    nested = [k for k in sd if _NESTED.match(k)]
    layout = "nested"
    if flat and nested:
        raise WeightKeysError(source, unexpected=sorted(flat)[:3] + nested[:3],
                              context="resblock keys mix the flat and the nested layout")
    if flat:
        stages = sum(1 for k in sd if re.fullmatch(r"ups\.\d+\.bias", k))
        blocks = 1 + max(int(m.group(1)) for m in flat.values())
        if stages == 0 or blocks % stages:
            raise WeightKeysError(source, context=f"{blocks} flat resblocks do not split evenly over {stages} "
                                                  "upsample stages")
        per = blocks // stages
        sd = {(f"resblocks.{int(flat[k].group(1)) // per}.{int(flat[k].group(1)) % per}."
               f"{flat[k].group(2)}.{flat[k].group(3)}" if k in flat else k): v for k, v in sd.items()}
        layout = f"flat resblocks ({per} per stage)"
    out, changed = {}, False
    for k, v in sd.items():
        if k.rsplit(".", 1)[-1] in _CONV_TENSORS and v.ndim == 4 and v.shape[-1] == 1:
            v, changed = v[..., 0], True
        elif k.rsplit(".", 1)[-1] in _CONV_TENSORS and v.ndim == 2:
            v, changed = v[..., None], True
        out[k] = v
    return out, layout + (", unit axis" if changed else "")


def weight_norm_convs(c: HiFiGANConfig) -> dict[str, tuple[int, int, int]]:
    """Prefix → weight shape of every conv: Conv1d [O, I, K], ConvTranspose1d (``ups.i``) [I, O, K]."""
    convs = {"conv_pre": (c.upsample_initial_channel, c.n_mel_channels, c.pre_kernel_size)}
    conv_names = ("convs1", "convs2") if c.resblock == "1" else ("convs",)
    for i, k in enumerate(c.upsample_kernel_sizes):
        ch = c.stage_channels(i)
        convs[f"ups.{i}"] = (c.stage_channels(i - 1), ch, k)
        for j, kj in enumerate(c.resblock_kernel_sizes):
            for name in conv_names:
                for n in range(c.convs_per_resblock(j)):
                    convs[f"resblocks.{i}.{j}.{name}.{n}"] = (ch, ch, kj)
    convs["conv_post"] = (1, c.stage_channels(c.num_upsamples - 1), c.post_kernel_size)
    return convs


def hifigan_shapes(c: HiFiGANConfig, folded: bool) -> Shapes:
    """DLE layout (``weight_g`` [d0, 1, 1] + ``weight_v``) or the HDF5 layout (folded ``weight``, plus
    ``denoiser.bias_spec``); biases [O] (for ``ups.i``, O = dim 1)."""
    s: Shapes = {}
    for prefix, shape in weight_norm_convs(c).items():
        if folded:
            s[f"{prefix}.weight"] = shape
        else:
            s.update({f"{prefix}.weight_g": (shape[0], 1, 1), f"{prefix}.weight_v": shape})
        s[f"{prefix}.bias"] = (shape[1] if prefix.startswith("ups.") else shape[0],)
    if folded:
        s["denoiser.bias_spec"] = (c.stft_filter_length // 2 + 1,)
    return s


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def infer_hifigan_config(sd: Mapping[str, Any], *, ckpt_config: Mapping[str, Any] | None = None,
                         overrides: Mapping[str, Any] | None = None, source: str = "<state_dict>") -> HiFiGANConfig:
    """HiFiGANConfig from a nested-layout generator state_dict; sizes from shapes, ``upsample_rates`` and the
    dilations (invisible in shapes) from the checkpoint config, else the overrides, else DLE's defaults."""
    from .hparams import _checkpoint_config, _finish, _Shapes, count_indexed

    shape = _Shapes(sd, source)
    channels, n_mel, k_pre = shape("conv_pre.weight_v", "n_mel_channels / upsample_initial_channel")[:3]
    stages = count_indexed(sd, "ups.{}.weight_v")
    k_up = tuple(shape(f"ups.{i}.weight_v", "upsample_kernel_sizes")[2] for i in range(max(stages, 1)))
    kind = "1" if "resblocks.0.0.convs1.0.weight_v" in sd else "2"
    conv = "convs1" if kind == "1" else "convs"
    blocks = count_indexed(sd, "resblocks.0.{}." + conv + ".0.weight_v")
    k_res = tuple(shape(f"resblocks.0.{j}.{conv}.0.weight_v", "resblock_kernel_sizes")[2]
                  for j in range(max(blocks, 1)))
    n_convs = [count_indexed(sd, f"resblocks.0.{j}.{conv}.{{}}.weight_v") for j in range(blocks)]
    k_post = shape("conv_post.weight_v", "post_kernel_size")[2]
    raw = _checkpoint_config(ckpt_config, source)
    ckpt = {TRAIN_SETUP_FIELDS.get(k, k): _tuples(v) for k, v in raw.items() if k not in TRAIN_SETUP_FIELDS}
    ckpt.update({TRAIN_SETUP_FIELDS[k]: v for k, v in raw.items() if k in TRAIN_SETUP_FIELDS})
    given = {k: _tuples(v) for k, v in (overrides or {}).items() if v is not None}
    rates = ckpt.get("upsample_rates", given.get("upsample_rates"))
    if rates is None:
        rates = HiFiGANConfig.upsample_rates
        if len(rates) != stages:
            raise HParamMismatchError(source, "default upsample_rates", [("upsample stages", stages, list(rates))])
    dilations = ckpt.get("resblock_dilation_sizes", given.get("resblock_dilation_sizes"))
    if dilations is None:
        dilations = tuple(HiFiGANConfig.resblock_dilation_sizes[0] for _ in range(blocks))
    if len(dilations) != blocks or any(len(d) < n for d, n in zip(dilations, n_convs)):
        raise HParamMismatchError(source, "checkpoint config", [("resblock convs per block", n_convs,
                                                                 [list(d) for d in dilations])])
    ckpt["upsample_rates"] = tuple(rates)
    ckpt["resblock_dilation_sizes"] = tuple(tuple(d[:n]) for d, n in zip(dilations, n_convs))  # as DLE: extra unused
    if "stft_filter_length" in ckpt and "stft_hop_length" not in ckpt:
        ckpt["stft_hop_length"] = ckpt["stft_filter_length"] // DENOISER_OVERLAP
    hop = ckpt.pop("hop_length", None)
    inferred = dict(n_mel_channels=n_mel, upsample_kernel_sizes=k_up, upsample_initial_channel=channels,
                    resblock=kind, resblock_kernel_sizes=k_res, pre_kernel_size=k_pre, post_kernel_size=k_post)
    given.pop("resblock_dilation_sizes", None)
    if "upsample_rates" in given and given["upsample_rates"] == ckpt["upsample_rates"]:
        given.pop("upsample_rates")
    config = _finish(HiFiGANConfig, inferred, ckpt, given, source)
    if hop is not None and hop != config.upsample_stride:
        raise HParamMismatchError(source, "checkpoint train_setup", [("hop_length = Π upsample_rates",
                                                                      config.upsample_stride, hop)])
    return config


def reference_generator(sd: Mapping[str, np.ndarray], config: HiFiGANConfig) -> Any:
    """The float32 reference generator (eval) over a checked DLE-layout state_dict (tensors shared)."""
    import torch

    from .reference.hifigan import HiFiGANReference

    model = HiFiGANReference(config)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)).float() for k, v in sd.items()}, strict=True,
                          assign=True)
    return model.eval()


def denoiser_bias_spec(sd: Mapping[str, np.ndarray], config: HiFiGANConfig) -> np.ndarray:
    """bias_spec [N//2+1] float32: |STFT| frame 0 of the generator's output for a zero mel of
    ``denoiser_bias_frames`` frames (reflect padding N/2, periodic Hann)."""
    import torch

    from .transforms import first_frame_magnitude

    model = reference_generator(sd, config)
    with torch.inference_mode():
        audio = model(torch.zeros(1, config.n_mel_channels, config.denoiser_bias_frames))[0]
    return first_frame_magnitude(audio.numpy(), config).astype(np.float32)


def hifigan_hdf5_arrays(sd: dict[str, np.ndarray], config: HiFiGANConfig) -> dict[str, np.ndarray]:
    """HDF5 layout from a checked DLE-layout state_dict: bias_spec first (it needs g/v), then every conv folded
    (popping the g/v pairs from ``sd`` as they go)."""
    from .transforms import fold_weight_norm

    out = {"denoiser.bias_spec": denoiser_bias_spec(sd, config)}
    for prefix in weight_norm_convs(config):
        out[f"{prefix}.weight"] = fold_weight_norm(sd.pop(f"{prefix}.weight_g"), sd.pop(f"{prefix}.weight_v"))
        out[f"{prefix}.bias"] = sd.pop(f"{prefix}.bias")
    return out
