"""Checkpoint reading: ``torch.load(weights_only=True)`` only, never arbitrary unpickling.

Accepted (README "Checkpoint formats"): a dict with ``state_dict`` (DLE / NGC / torch hub: plus ``config``,
``epoch``, ...; NVIDIA/tacotron2: plus ``iteration``, ``optimizer``, ``learning_rate``), a bare state_dict, or an
NVIDIA/waveglow full-model pickle (``{'model': <WaveGlow>, ...}``, read through inert stand-ins, ``weights.pickles``;
its class and sizes become ``meta['config']``, ``weights.pickled_config``).
Keys may carry ``module.`` (DDP): every occurrence is removed, as DLE ``inference.py`` does; ``num_batches_tracked``
is dropped; older WaveGlow layouts are upgraded (``weights.layouts``).  A zip checkpoint's CRCs are verified
before its tensors are trusted; it is then memory-mapped, and tensors become numpy arrays over that memory (no
copy) that keep their precision (fp16 stays fp16; bf16, which numpy lacks, is widened to fp32).
``Checkpoint.meta['source_format']`` says which format was recognised.
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from . import hifigan, legacy, pickles
from .errors import CheckpointError, UnsafeCheckpointError
from .fastpitch import pick_state_dict
from ..files import file_sha256
from .layouts import upgrade_waveglow
from .pickled_config import pickled_waveglow_config

log = logging.getLogger(__name__)

DROPPED_SUFFIXES = ("num_batches_tracked",)
META_KEYS = ("config", "epoch", "iteration")  # kept in Checkpoint.meta; optimizer/rng states are released
# meta['source_format']: which kind of file it was (README "Checkpoint formats")
DLE = "dle"  # {'state_dict', 'config'/'epoch', ...}: DLE training, NGC, torch hub
NVIDIA_TACOTRON2 = "nvidia-tacotron2"  # {'iteration', 'state_dict', 'optimizer', 'learning_rate'}
FULL_MODEL = "nvidia-waveglow-pickle"  # {'model': <glow.WaveGlow>, 'iteration', ...}, read through stand-ins
BARE = "state-dict"  # a bare {key: tensor}
_LEGACY_MODULE_IDS = "Only persistent_load of storage is allowed"  # torch's refusal of legacy module records


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: normalised state_dict (numpy), small metadata, the file and its sha256."""

    state_dict: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = "<memory>"
    sha256: str = ""


def _refusal_reason(message: str) -> str:
    """The line of torch's weights-only error that says what was refused (e.g. ``GLOBAL posix.system``)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or "Unsupported" in line:
            return line
    tail = message.split("WeightsUnpickler error:", 1)[1:]  # torch puts the unpickler's reason after this
    reason = [line.strip() for line in "".join(tail).splitlines() if line.strip()]
    if reason:
        return reason[0]
    return lines[0] if lines else "unknown reason"


def _check_zip(path: str) -> None:
    """Every zip member's bytes against its CRC-32 (torch never checks them); CheckpointError names the member."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as e:  # noqa: BLE001 - zipfile/zlib/OSError: each means the archive cannot be trusted
        raise CheckpointError(path, f"corrupt zip archive ({type(e).__name__}: {e}); copy or download the file "
                                    "again") from None
    if bad is not None:
        raise CheckpointError(path, f"zip member {bad!r} fails its CRC-32 check: its bytes changed after it was "
                                    "saved (corrupt copy?); copy or download the file again")


def _legacy_load(path: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # TypedStorage deprecation noise
            return legacy.load_legacy(path)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(path, f"refused: a legacy full-model pickle that needs more than the supported "
                                          f"module classes ({e}); nothing in it was executed") from None
    except Exception as e:  # noqa: BLE001 - malformed data surfaces as many types; each becomes CheckpointError
        raise CheckpointError(path, f"cannot read as a legacy PyTorch checkpoint (truncated or corrupt?): "
                                    f"{type(e).__name__}: {e}") from None


def _torch_load(path: str) -> Any:
    is_zip = zipfile.is_zipfile(path)
    if is_zip:
        _check_zip(path)
    try:
        with warnings.catch_warnings(), pickles.stand_ins_allowed():
            warnings.simplefilter("ignore", UserWarning)  # "Detected pickle protocol 4" noise on raw pickles
            # zip checkpoints are memory-mapped: tensors are read lazily, straight from the page cache
            return torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad files; each becomes CheckpointError
        msg = str(e)
        if not is_zip and _LEGACY_MODULE_IDS in msg:  # a legacy full-model pickle: torch cannot, legacy.py can
            return _legacy_load(path)
        if "Weights only load failed" in msg:
            raise UnsafeCheckpointError(
                path, f"refused by torch.load(weights_only=True): not a plain weights checkpoint nor a "
                      f"supported full-model pickle, or corrupt ({_refusal_reason(msg)}); nothing in it was "
                      "executed. If you trust the file, re-save only its tensors: "
                      "torch.save({'state_dict': sd}, new_path)") from None
        detail = msg.strip().splitlines()[0] if msg.strip() else "unexpected end of data"
        raise CheckpointError(path, f"cannot read as a PyTorch checkpoint (truncated or corrupt?): "
                                    f"{type(e).__name__}: {detail}") from None


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = [str(k) for k in list(obj)[:8]]
        return f"a dict with keys {keys}{' ...' if len(obj) > 8 else ''}"
    return pickles.describe(obj)


def _model_tensors(model: Any, path: str) -> Mapping[str, Any]:
    """The flat state dict of a full-model pickle's model object (a supported root stand-in)."""
    if pickles.root_architecture(model) is None:
        raise CheckpointError(path, f"'model' is {_describe(model)}, expected a pickled "
                                    f"{' or '.join(n for n, a in pickles.MODULE_CLASSES.items() if a)}")
    return pickles.module_tensors(model, path)


def _pick_state_dict(obj: Any, path: str, use_ema: bool = False) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """(raw state_dict, meta) from the unpickled object, or CheckpointError saying what was found."""
    if isinstance(obj, Mapping) and hifigan.is_hifigan_checkpoint(obj):  # {'generator', 'gen_ema', 'config', ...}
        return hifigan.pick_generator(obj, path, use_ema)
    if pickles.is_module(obj):  # torch.save(model, path)
        return _model_tensors(obj, path), {"top_level_keys": [], "source_format": FULL_MODEL,
                                           "model_class": obj.qualified_name,
                                           "config": pickled_waveglow_config(obj, path)}
    if not isinstance(obj, Mapping):
        raise CheckpointError(path, f"not a checkpoint: found {_describe(obj)}, expected a dict with 'state_dict'"
                                    " or a state_dict")
    meta: dict[str, Any] = {k: obj[k] for k in META_KEYS if k in obj}
    meta["top_level_keys"] = [str(k) for k in obj]
    if "state_dict" in obj:
        key, extra = pick_state_dict(obj, use_ema)  # FastPitch: ema_state_dict, train_setup's text settings
        meta.update(extra)
        sd = obj[key]
        if not isinstance(sd, Mapping):
            raise CheckpointError(path, f"{key!r} is {_describe(sd)}, expected a dict of tensors")
        trainer = "iteration" in obj and "config" not in obj and "epoch" not in obj
        meta["source_format"] = NVIDIA_TACOTRON2 if trainer else DLE
        return sd, meta
    if "model" in obj and pickles.is_module(obj["model"]):
        tensors = _model_tensors(obj["model"], path)  # checks the root class first
        meta.update(source_format=FULL_MODEL, model_class=obj["model"].qualified_name,
                    config=pickled_waveglow_config(obj["model"], path))  # the model's own sizes and class
        return tensors, meta
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, {"top_level_keys": [], "source_format": BARE}
    raise CheckpointError(path, f"not a checkpoint: found {_describe(obj)} with no 'state_dict' entry, no "
                                "pickled 'model' and not a dict of tensors")


def _normalise(sd: Mapping[str, Any], path: str) -> dict[str, np.ndarray]:
    """Strip every ``module.``, drop ``num_batches_tracked``, tensors → numpy (shared memory)."""
    out: dict[str, np.ndarray] = {}
    for raw_key, t in sd.items():
        key = str(raw_key).replace("module.", "")
        if key.endswith(DROPPED_SUFFIXES):
            continue
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(path, f"state_dict entry {raw_key!r} is {_describe(t)}, not a tensor")
        if key in out:
            raise CheckpointError(path, f"two state_dict keys become {key!r} once 'module.' is removed")
        if t.dtype == torch.bfloat16:
            t = t.float()
        try:
            out[key] = t.detach().numpy()
        except (TypeError, RuntimeError) as e:
            raise CheckpointError(path, f"tensor {raw_key!r} ({t.dtype}, {t.layout}) has no numpy form: {e}") from None
    if not out:
        raise CheckpointError(path, "the state_dict holds no tensors")
    return out


def load_checkpoint(path: str | os.PathLike, *, use_ema: bool = False) -> Checkpoint:
    """Read a checkpoint safely; ``CheckpointError`` names the file and what was wrong or found.

    ``meta`` holds ``source_format`` (:data:`DLE`, :data:`NVIDIA_TACOTRON2`, :data:`FULL_MODEL`, :data:`BARE`),
    ``serialization`` (``zip`` / ``legacy``), ``module_prefix`` (keys had ``module.``) and, for WaveGlow, the
    ``layout`` it was saved in (``weights.layouts``), plus ``config``/``epoch``/``iteration`` when present.
    A DLE HiFi-GAN generator checkpoint gives its ``generator`` (``gen_ema`` with ``use_ema``), its resblock
    layout in ``layout`` (``weights.hifigan``).
    """
    path = str(path)
    if not os.path.exists(path):
        raise CheckpointError(path, "no such file")
    if not os.path.isfile(path):
        raise CheckpointError(path, "not a regular file")
    digest = file_sha256(path)
    serialization = "zip" if zipfile.is_zipfile(path) else "legacy"
    sd, meta = _pick_state_dict(_torch_load(path), path, use_ema)
    meta.update(serialization=serialization, module_prefix=any("module." in str(k) for k in sd))
    state_dict = _normalise(sd, path)
    if any(k.startswith(("WN.", "convinv.")) for k in state_dict):
        state_dict, meta["layout"] = upgrade_waveglow(state_dict, path)
    elif any(k.startswith(hifigan.PREFIXES) for k in state_dict):
        state_dict, meta["layout"] = hifigan.upgrade_layout(state_dict, path)
    dtypes = sorted({str(a.dtype) for a in state_dict.values()})
    log.debug("%s: %s (%s), %d tensors (%s), meta keys %s", path, meta["source_format"], serialization,
              len(state_dict), "/".join(dtypes), meta["top_level_keys"])
    return Checkpoint(state_dict=state_dict, meta=meta, path=path, sha256=digest)


def source_description(meta: Mapping[str, Any]) -> str:
    """One line for logs and the HDF5 ``source_format`` attribute, e.g. ``nvidia-waveglow-pickle (legacy,
    glow_old.WaveGlow, layout cond_layer)``."""
    details = [str(meta.get("serialization", "?"))]
    if "model_class" in meta:
        details.append(str(meta["model_class"]))
    if meta.get("module_prefix"):
        details.append("module. prefixes")
    if "layout" in meta:
        details.append(f"layout {meta['layout']}")
    return f"{meta.get('source_format', '?')} ({', '.join(details)})"


def save_checkpoint(path: str | os.PathLike, state_dict: Mapping[str, Any], *, config: Mapping | None = None,
                    epoch: int = 0, fp16: bool = False, ddp: bool = False, bare: bool = False) -> Path:
    """Write ``state_dict`` in a DLE layout: ``{'epoch','config','state_dict','optimizer'}`` (or bare with
    ``bare=True``), keys prefixed ``module.`` when ``ddp``, float tensors halved when ``fp16``."""
    sd = {}
    for k, v in state_dict.items():
        t = torch.as_tensor(v)
        sd[f"module.{k}" if ddp else k] = t.half() if fp16 and t.is_floating_point() else t
    obj: Any = sd if bare else {"epoch": epoch, "config": dict(config or {}), "state_dict": sd,
                                "optimizer": {"state": {}, "param_groups": [{"lr": 1e-3, "params": []}]}}
    torch.save(obj, str(path))
    return Path(path)

