"""DLE checkpoint → neutral HDF5 weights file (``docs/hdf5_schema.md``).

Steps: check the output path (not the input itself; no silent overwrite; writable) → read the checkpoint
safely → detect the architecture → infer the config (cross-checked with the checkpoint's own config and the
overrides) → check the symbol table → WaveGlow: split a shared ``cond_layer`` → check the full key set against
``schema.dle_shapes`` → refuse NaN/Inf → WaveGlow: refuse a singular ``convinv`` → convert to the HDF5 layout →
write atomically with the ``content_sha256`` of the result.  HiFi-GAN: ``weights.hifigan`` (every conv folded,
``denoiser.bias_spec`` from the generator's zero-mel output).

WaveGlow math (fold and inverse in float64, bias_spec through the float32 reference; all stored float32):
  weight norm  w[o] = g[o] · v[o] / ‖v[o]‖₂   (norm over every dim but the output channel o)
  1×1 inverse  W_inverse = W⁻¹, W = ``convinv.{k}.conv.weight`` [Ck, Ck, 1] squeezed (in its stored precision)
  denoiser     bias_spec = |STFT| (first frame) of WaveGlow(zero mel of ``denoiser_bias_frames``, sigma 0)
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .checkpoint import Checkpoint, load_checkpoint, source_description
from .checks import check_symbol_table, nonfinite_counts
from .config import ConfigError, FastPitchConfig, HiFiGANConfig, WaveGlowConfig, _ConfigBase
from .errors import NonFiniteWeightError, SingularWeightError, WeightKeysError
from .hdf5 import check_output_path, write_weights
from .hparams import infer_config
from .schema import check_shapes, dle_shapes, weight_norm_convs
from .transforms import first_frame_magnitude, fold_weight_norm

log = logging.getLogger(__name__)

MODELS = ("auto", "tacotron2", "waveglow", "hifigan", "fastpitch")
_SHARED_COND = re.compile(r"^WN\.(\d+)\.cond_layer\.(weight_g|weight_v|bias)$")


@dataclass(frozen=True)
class ExtractReport:
    """What ``extract`` wrote: the inferred config, counts, wall time and the output path."""

    config: _ConfigBase
    tensor_count: int
    value_count: int
    seconds: float
    out_path: Path


def invert_1x1(w: np.ndarray, key: str = "W", source: str = "<state_dict>") -> np.ndarray:
    """W⁻¹ [C, C] of a 1×1 conv weight W [C, C, 1], inverted in float64, stored float32; SingularWeightError
    (naming ``source`` and ``key``) when W has no finite inverse."""
    try:
        inverse = np.linalg.inv(w.reshape(w.shape[0], w.shape[1]).astype(np.float64))
    except np.linalg.LinAlgError as e:
        raise SingularWeightError(source, key, str(e).lower()) from None
    if not np.isfinite(inverse).all():
        raise SingularWeightError(source, key, "the inverse is not finite")
    return inverse.astype(np.float32)


def split_shared_cond_layer(sd: Mapping[str, np.ndarray], n_layers: int, source: str) -> dict[str, np.ndarray]:
    """Original NVIDIA/waveglow ``WN.k.cond_layer`` [2C·L, ...] → DLE ``WN.k.cond_layers.i`` (rows 2C·i … 2C·(i+1)).

    Row slices are exact: weight norm is per output row.  Other keys pass through; slices are views.
    """
    out = {}
    for key, value in sd.items():
        m = _SHARED_COND.match(key)
        if m is None:
            out[key] = value
            continue
        rows = value.shape[0] // n_layers
        if rows * n_layers != value.shape[0]:
            raise WeightKeysError(source, mismatched=[(key, (f"{n_layers}·2C",), tuple(value.shape))],
                                  context=f"shared cond_layer does not split into {n_layers} layers")
        for i in range(n_layers):
            out[f"WN.{m.group(1)}.cond_layers.{i}.{m.group(2)}"] = value[i * rows:(i + 1) * rows]
    return out


def _check_finite(arrays: Mapping[str, np.ndarray], source: str, allow: bool) -> None:
    counts = nonfinite_counts(arrays)
    if counts and not allow:
        raise NonFiniteWeightError(source, counts)
    if counts:
        log.warning("%s: NaN/Inf in %d tensor(s), extracting anyway: %s", source, len(counts), sorted(counts)[:12])


def reference_waveglow(sd: Mapping[str, np.ndarray], config: WaveGlowConfig) -> Any:
    """The PyTorch reference WaveGlow (float32, eval) on a checked DLE-layout state_dict; fp32 weights are
    shared with ``sd`` (``load_state_dict(assign=True)``), not copied."""
    import torch

    from .reference import WaveGlowReference

    model = WaveGlowReference(config)
    model.load_state_dict({k: torch.from_numpy(v).float() for k, v in sd.items()}, strict=True, assign=True)
    return model.eval()


def denoiser_bias_spec(sd: Mapping[str, np.ndarray], config: WaveGlowConfig) -> np.ndarray:
    """bias_spec [N//2+1] float32 = |STFT| frame 0 of WaveGlow(zero mel of ``denoiser_bias_frames``, sigma 0).

    Equal to ``reference.bias_spectrum`` (tested), at about a third of the cost, with two exact shortcuts:
    the zero mel makes the conditioning input constant in time (one column, broadcast in WN); and frame 0 of
    the reflect-padded STFT reads only audio samples 0 … N/2, so each inverse flow runs on the prefix its
    successors need: one WN widens the dependency by r = (K−1)/2 · (2^L − 1) grouped steps.
    """
    import torch

    c = config
    model = reference_waveglow(sd, c)
    with torch.inference_mode():
        spect = model.upsample_and_group(torch.zeros(1, c.n_mel_channels, c.denoiser_bias_frames))
        steps = spect.shape[2]  # T' = frames · stride / G
        spect = spect[:, :, :1]  # [1, n_mel·G, 1]: constant in time
        need = -(-(c.stft_filter_length // 2 + 1) // c.n_group)  # grouped steps frame 0 reads
        radius = (c.wn_kernel_size - 1) // 2 * (2 ** c.wn_n_layers - 1)
        audio = torch.zeros(1, c.n_remaining_channels, steps)
        injections = set(model.injection_flows())
        for j, k in enumerate(reversed(range(c.n_flows))):
            n = min(steps, need + radius * (c.n_flows - j))
            audio = model.flow_inverse(k, audio[:, :, :n], spect)  # exact on [0, n − r)
            if k in injections:  # sigma 0: the injected noise channels are zeros
                audio = torch.cat([audio.new_zeros(1, c.n_early_size, n), audio], dim=1)
        audio = audio[0].T.reshape(-1)  # [G·n], sample = G·t + channel
    return first_frame_magnitude(audio.numpy(), c).astype(np.float32)


def waveglow_hdf5_arrays(sd: dict[str, np.ndarray], config: WaveGlowConfig,
                         inverses: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """HDF5 layout from a checked DLE-layout state_dict and each flow's checked 1×1 inverse
    (:func:`invert_1x1`); pops the g/v pairs from ``sd`` as they are folded."""
    out = {"upsample.weight": sd.pop("upsample.weight"), "upsample.bias": sd.pop("upsample.bias")}
    for k in range(config.n_flows):
        out[f"convinv.{k}.conv.weight"] = sd.pop(f"convinv.{k}.conv.weight")
        out[f"convinv.{k}.W_inverse"] = inverses[k]
        for name in ("weight", "bias"):
            out[f"WN.{k}.end.{name}"] = sd.pop(f"WN.{k}.end.{name}")
    for prefix in weight_norm_convs(config):
        out[f"{prefix}.weight"] = fold_weight_norm(sd.pop(f"{prefix}.weight_g"), sd.pop(f"{prefix}.weight_v"))
        out[f"{prefix}.bias"] = sd.pop(f"{prefix}.bias")
    return out


def _check_upsample(config: WaveGlowConfig, source: str, meta: Mapping[str, Any]) -> None:
    """ConfigError naming ``source`` when the upsample stride cannot work with the shapes (the stride is not in
    the tensors: it comes from a pickled model, the checkpoint's config, --upsample-stride or the default)."""
    try:
        config.check_upsample()
    except ConfigError as e:
        stated = "upsample_stride" in (meta.get("config") or {})
        hint = "" if stated else (f" (the checkpoint does not state its stride, so the default "
                                  f"{WaveGlowConfig.upsample_stride} was used: pass --upsample-stride)")
        raise ConfigError(f"{source}: {e}{hint}", e.field, e.value) from None


def _load(checkpoint: str | os.PathLike | Checkpoint, use_ema: bool = False) -> Checkpoint:
    return checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, use_ema=use_ema)


def extract(checkpoint: str | os.PathLike | Checkpoint, out_path: str | os.PathLike, *, model: str = "auto",
            allow_nonfinite: bool = False, overrides: Mapping[str, Any] | None = None,
            overwrite: bool = False, use_ema: bool = False) -> ExtractReport:
    """Convert a DLE checkpoint to ``out_path`` (HDF5).  Nothing is written unless every check passes; an
    existing ``out_path`` is replaced only with ``overwrite``, and never when it is the checkpoint itself.
    ``use_ema``: a HiFi-GAN checkpoint's ``gen_ema`` weights instead of ``generator``, a FastPitch checkpoint's
    ``ema_state_dict`` (when it has one) instead of ``state_dict``."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    start = time.perf_counter()
    check_output_path(out_path, input_path=None if isinstance(checkpoint, Checkpoint) else checkpoint,
                      overwrite=overwrite)
    ckpt = _load(checkpoint, use_ema)
    source, sha, meta = ckpt.path, ckpt.sha256, ckpt.meta
    sd = dict(ckpt.state_dict)
    del ckpt, checkpoint  # only ``sd`` keeps the tensors, so folding below can release them one by one
    config = infer_config(sd, model, ckpt_config=meta.get("config"), overrides=overrides, source=source)
    check_symbol_table(config, source)
    if isinstance(config, WaveGlowConfig):
        _check_upsample(config, source, meta)
        sd = split_shared_cond_layer(sd, config.wn_n_layers, source)
    check_shapes({k: tuple(v.shape) for k, v in sd.items()}, dle_shapes(config), source)
    _check_finite(sd, source, allow_nonfinite)
    if isinstance(config, WaveGlowConfig):
        inverses = [invert_1x1(sd[f"convinv.{k}.conv.weight"], f"convinv.{k}.conv.weight", source)
                    for k in range(config.n_flows)]   # checked before the reference model inverts them
        raw_keys = set(sd)
        bias_spec = denoiser_bias_spec(sd, config)
        arrays = waveglow_hdf5_arrays(sd, config, inverses)
        arrays["denoiser.bias_spec"] = bias_spec
        _check_finite({k: v for k, v in arrays.items() if k not in raw_keys}, f"{source} (derived tensors)",
                      allow_nonfinite)
    elif isinstance(config, HiFiGANConfig):
        from .hifigan import hifigan_hdf5_arrays
        arrays = hifigan_hdf5_arrays(sd, config)
        _check_finite({k: v for k, v in arrays.items() if k.endswith((".weight", "bias_spec"))},
                      f"{source} (derived tensors)", allow_nonfinite)
    elif isinstance(config, FastPitchConfig):
        from .fastpitch import fastpitch_hdf5_arrays
        arrays = fastpitch_hdf5_arrays(sd, config)
    else:
        arrays = sd
    path = write_weights(out_path, config, arrays, source, sha, overwrite=overwrite,
                         source_format=source_description(meta))
    report = ExtractReport(config=config, tensor_count=len(arrays), value_count=sum(a.size for a in arrays.values()),
                           seconds=time.perf_counter() - start, out_path=path)
    log.info("%s → %s: %s, %d tensors, %d values, %.2f s", source, path, config.architecture, report.tensor_count,
             report.value_count, report.seconds)
    return report
