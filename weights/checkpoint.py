"""DLE checkpoint reading: ``torch.load(weights_only=True)`` only, never arbitrary unpickling.

Accepted layouts (spec §6): a dict with ``state_dict`` (plus ``config``, ``epoch``, ``optimizer``, ...) or a bare
state_dict; keys may carry ``module.`` (DDP), every occurrence is removed as DLE ``inference.py`` does;
``num_batches_tracked`` is dropped.  Zip checkpoints are memory-mapped; tensors become numpy arrays over that
memory (no copy) and keep their precision (fp16 stays fp16; bf16, which numpy lacks, is widened to fp32).
"""

from __future__ import annotations

import logging
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from .errors import CheckpointError, UnsafeCheckpointError
from .hdf5 import file_sha256

log = logging.getLogger(__name__)

DROPPED_SUFFIXES = ("num_batches_tracked",)
META_KEYS = ("config", "epoch", "iteration")  # kept in Checkpoint.meta; optimizer/rng states are released


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: normalised state_dict (numpy), small metadata, the file and its sha256."""

    state_dict: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = "<memory>"
    sha256: str = ""


def _refusal_reason(message: str) -> str:
    """The line of torch's weights-only error that says what was refused (e.g. ``GLOBAL posix.system``)."""
    for line in message.splitlines():
        if "GLOBAL" in line or "Unsupported" in line:
            return line.strip()
    return message.strip().splitlines()[0] if message.strip() else "unknown reason"


def _torch_load(path: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Detected pickle protocol 4" noise on raw pickles
            # zip checkpoints are memory-mapped: tensors are read lazily, straight from the page cache
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except Exception as e:  # noqa: BLE001 - torch raises many types for bad files; each becomes CheckpointError
        msg = str(e)
        if "Weights only load failed" in msg:
            raise UnsafeCheckpointError(
                path, f"refused by torch.load(weights_only=True): not a plain weights checkpoint, or corrupt "
                      f"({_refusal_reason(msg)}); nothing in it was executed. "
                "If you trust the file, re-save only its tensors: torch.save({'state_dict': sd}, new_path)") from None
        detail = msg.strip().splitlines()[0] if msg.strip() else "unexpected end of data"
        raise CheckpointError(path, f"cannot read as a PyTorch checkpoint (truncated or corrupt?): "
                                    f"{type(e).__name__}: {detail}") from None


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        keys = [str(k) for k in list(obj)[:8]]
        return f"a dict with keys {keys}{' ...' if len(obj) > 8 else ''}"
    return f"a {type(obj).__name__}"


def _pick_state_dict(obj: Any, path: str) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """(raw state_dict, meta) from the unpickled object, or CheckpointError saying what was found."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(path, f"not a checkpoint: found {_describe(obj)}, expected a dict with 'state_dict'"
                                    " or a state_dict")
    if "state_dict" in obj:
        sd = obj["state_dict"]
        if not isinstance(sd, Mapping):
            raise CheckpointError(path, f"'state_dict' is {_describe(sd)}, expected a dict of tensors")
        meta = {k: obj[k] for k in META_KEYS if k in obj}
        meta["top_level_keys"] = [str(k) for k in obj]
        return sd, meta
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, {"top_level_keys": []}
    raise CheckpointError(path, f"not a checkpoint: found {_describe(obj)} with no 'state_dict' entry and not "
                                "a dict of tensors")


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


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a DLE checkpoint safely; ``CheckpointError`` names the file and what was wrong or found."""
    path = str(path)
    if not os.path.exists(path):
        raise CheckpointError(path, "no such file")
    if not os.path.isfile(path):
        raise CheckpointError(path, "not a regular file")
    digest = file_sha256(path)
    sd, meta = _pick_state_dict(_torch_load(path), path)
    state_dict = _normalise(sd, path)
    dtypes = sorted({str(a.dtype) for a in state_dict.values()})
    log.debug("%s: %d tensors (%s), meta keys %s", path, len(state_dict), "/".join(dtypes), meta["top_level_keys"])
    return Checkpoint(state_dict=state_dict, meta=meta, path=path, sha256=digest)


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

