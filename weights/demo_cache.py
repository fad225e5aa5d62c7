"""The demo checkpoints' file names and cache records, without importing PyTorch (so a warm start is fast)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

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
                       "torch": metadata.version("torch")}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def demo_path(out_dir: str | Path, kind: str, size: str) -> Path:
    return Path(out_dir) / f"{kind}_demo_{size}.pt"


def key_path(path: Path) -> Path:
    return path.with_name(path.name + ".key")


def is_cached(path: Path, key: str) -> bool:
    """The file exists and its ``.key`` record matches the key, size and mtime."""
    try:
        record = json.loads(key_path(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return record == {"key": key, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cached_demo_checkpoints(out_dir: str | Path, size: str, seed: int = 0) -> dict[str, Path] | None:
    """Both demo checkpoints when they are already written and current, else None."""
    configs = dict(zip(KINDS, demo_configs(size)))
    paths = {k: demo_path(out_dir, k, size) for k in KINDS}
    ok = all(is_cached(paths[k], content_key(k, configs[k], seed)) for k in KINDS)
    return paths if ok else None
