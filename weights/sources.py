"""Where a model's weights come from: a DLE checkpoint (extracted once to HDF5), an HDF5 file, or — only when
the user names none — the built-in demo checkpoints (random weights, clearly reported, never a silent fallback
for a missing user file)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

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
    demo = path is None
    if demo:
        from .demo import write_demo_checkpoints
        log.info("no %s checkpoint given: using the built-in demo checkpoint (%s size, random weights)",
                 architecture, demo_size)
        path = write_demo_checkpoints(work / "checkpoints", demo_size)[architecture]
    p = Path(path)
    if not p.exists():
        raise CheckpointError(str(p), f"no such file (the {architecture} weights)")
    if p.suffix.lower() in H5_SUFFIXES:
        return WeightSource(architecture, p, None, False)
    out = work / f"{architecture}{'_demo_' + demo_size if demo else ''}.h5"
    sha = file_sha256(p)
    if out.exists() and not overrides and _source_sha(out) == sha:
        log.info("reusing %s (extracted from %s, sha256 %s…)", out, p.name, sha[:12])
    else:
        from .extract import extract
        extract(p, out, model=architecture, overrides=overrides)
    return WeightSource(architecture, out, p, demo)


def _source_sha(h5: Path) -> str | None:
    import h5py
    try:
        with h5py.File(h5, "r") as f:
            value = f.attrs.get("source_sha256")
    except OSError:
        return None
    return value.decode() if isinstance(value, bytes) else value
