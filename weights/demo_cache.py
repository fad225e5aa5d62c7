"""The demo checkpoints' file names and cache records, without importing PyTorch (so a warm start is fast)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from ..files import file_sha256
from .config import CONFIG_CLASSES, Tacotron2Config, WaveGlowConfig

DEMO_FORMAT = 2  # bump whenever the generated weights change (part of the cache key)
SIZES = ("full", "small")
KINDS = ("tacotron2", "waveglow", "hifigan", "fastpitch")
PAIR = ("tacotron2", "waveglow")          # what a demo run needs unless a vocoder is named


def demo_configs(size: str) -> tuple[Tacotron2Config, WaveGlowConfig]:
    """(Tacotron2Config, WaveGlowConfig) of a demo size: "full" (DLE defaults) or "small" (``.small()``)."""
    return tuple(demo_config(kind, size) for kind in PAIR)


def demo_config(kind: str, size: str) -> Any:
    """The config of one demo model: the architecture's defaults ("full") or its ``.small()``."""
    if kind not in KINDS:
        raise ValueError(f"demo kind must be one of {KINDS}, got {kind!r}")
    if size not in SIZES:
        raise ValueError(f"demo size must be one of {SIZES}, got {size!r}")
    cls = CONFIG_CLASSES[kind]
    return cls() if size == "full" else cls.small()


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


def cached_demo_checkpoints(out_dir: str | Path, size: str, seed: int = 0, kinds: tuple[str, ...] = PAIR
                            ) -> dict[str, Path] | None:
    """The demo checkpoints of ``kinds`` when they are all written and current, else None."""
    paths = {k: demo_path(out_dir, k, size) for k in kinds}
    ok = all(is_cached(paths[k], content_key(k, demo_config(k, size), seed)) for k in kinds)
    return paths if ok else None
