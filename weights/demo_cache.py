"""The demo checkpoints' file names and cache records, without importing PyTorch (so a warm start is fast)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from .checks import file_sha256
from .config import Tacotron2Config, WaveGlowConfig

DEMO_FORMAT = 2  # bump whenever the generated weights change (part of the cache key)
SIZES = ("full", "small")
KINDS = ("tacotron2", "waveglow")


def demo_configs(size: str) -> tuple[Tacotron2Config, WaveGlowConfig]:
    """(Tacotron2Config, WaveGlowConfig) of a demo size: "full" (DLE defaults) or "small" (``.small()``)."""
    if size == "full":
        return Tacotron2Config(), WaveGlowConfig()
    if size == "small":
        return Tacotron2Config.small(), WaveGlowConfig.small()
    raise ValueError(f"demo size must be one of {SIZES}, got {size!r}")


def content_key(kind: str, config: Any, seed: int) -> str:
    """Hash of everything the generated tensors depend on (format, kind, config, seed, torch version)."""
    blob = json.dumps({"format": DEMO_FORMAT, "kind": kind, "config": config.to_dict(), "seed": seed,
                       "torch": metadata.version("torch")}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def demo_path(out_dir: str | Path, kind: str, size: str) -> Path:
    return Path(out_dir) / f"{kind}_demo_{size}.pt"


def key_path(path: Path) -> Path:
    return path.with_name(path.name + ".key")


def key_record(path: Path, key: str) -> dict[str, Any]:
    """What the ``.key`` file beside a written checkpoint holds: the content key and the file's sha256."""
    return {"key": key, "sha256": file_sha256(path)}


def is_cached(path: Path, key: str) -> bool:
    """The file exists and its ``.key`` record holds this key and the sha256 of the file's current bytes
    (hashed once per process and file state; the extraction that follows reuses that hash)."""
    try:
        record = json.loads(key_path(path).read_text())
        return record.get("key") == key and record == key_record(path, key)
    except (OSError, ValueError, AttributeError):
        return False


def cached_demo_checkpoints(out_dir: str | Path, size: str, seed: int = 0) -> dict[str, Path] | None:
    """Both demo checkpoints when they are already written and current, else None."""
    configs = dict(zip(KINDS, demo_configs(size)))
    paths = {k: demo_path(out_dir, k, size) for k in KINDS}
    ok = all(is_cached(paths[k], content_key(k, configs[k], seed)) for k in KINDS)
    return paths if ok else None
