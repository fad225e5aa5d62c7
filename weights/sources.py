"""Where a model's weights come from: a DLE checkpoint (extracted once to HDF5), an HDF5 file, or — only when
the user names none — the built-in demo checkpoints (random weights, clearly reported, never a silent fallback
for a missing user file)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..sidecar import atomic_write_bytes
from .demo_cache import cached_demo_checkpoints
from .errors import CheckpointError
from .hdf5 import file_sha256

log = logging.getLogger(__name__)

H5_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class WeightSource:
    architecture: str
    h5_path: Path
    checkpoint: Path | None       # None when the user gave an HDF5 file
    demo: bool


def resolve(path: str | os.PathLike | None, architecture: str, work_dir: str | os.PathLike, *,
            demo_size: str = "full", overrides: dict | None = None) -> WeightSource:
    """The HDF5 file for ``architecture``: ``path`` as given (.h5), extracted from a checkpoint into
    ``work_dir`` (reused while the checkpoint's sha256 matches), or the demo checkpoint when ``path`` is None."""
    work = Path(work_dir)
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(str(work), f"work directory cannot be created: {e.strerror}") from None
    demo = path is None
    if demo:
        log.info("no %s checkpoint given: using the built-in demo checkpoint (%s size, random weights)",
                 architecture, demo_size)
        paths = cached_demo_checkpoints(work / "checkpoints", demo_size)
        if paths is None:
            from .demo import write_demo_checkpoints  # imports torch: only when the files must be (re)made
            paths = write_demo_checkpoints(work / "checkpoints", demo_size)
        path = paths[architecture]
    p = Path(path)
    if not p.exists():
        raise CheckpointError(str(p), f"no such file (the {architecture} weights)")
    if p.suffix.lower() in H5_SUFFIXES:
        return WeightSource(architecture, p, None, False)
    out = work / f"{architecture}{'_demo_' + demo_size if demo else ''}.h5"
    if out.exists() and not overrides and _stamp(p) == _read_stamp(out):
        log.info("reusing %s (extracted from %s, unchanged since)", out, p.name)
    else:
        from .extract import extract
        extract(p, out, model=architecture, overrides=overrides)
        log.info("extracted %s → %s", p, out)
        stamp = {**_stamp(p), "h5": out.name, "sha256": file_sha256(p)}
        atomic_write_bytes(_stamp_path(out), json.dumps(stamp).encode())
    return WeightSource(architecture, out, p, demo)


def _stamp(checkpoint: Path) -> dict:
    """What identifies a checkpoint cheaply (no hashing of hundreds of MB on every start)."""
    st = checkpoint.stat()
    return {"checkpoint": str(checkpoint.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stamp_path(h5: Path) -> Path:
    return h5.with_name(h5.name + ".source.json")


def _read_stamp(h5: Path) -> dict | None:
    try:
        record = json.loads(_stamp_path(h5).read_text())
    except (OSError, ValueError):
        return None
    return {k: record.get(k) for k in ("checkpoint", "bytes", "mtime_ns")}
