"""Where a model's weights come from: a DLE checkpoint (extracted once to HDF5), an HDF5 file, or — only when
the user names none — the built-in demo checkpoints (random weights, clearly reported, never a silent fallback
for a missing user file)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .demo_cache import cached_demo_checkpoints
from .errors import CheckpointError, WeightsError
from ..files import file_sha256
from .hdf5 import peek_attrs, read_weights

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
    """The HDF5 file for ``architecture``: ``path`` as given (.h5, checked to hold ``architecture`` and to pass
    every check of ``read_weights``), extracted from a checkpoint into the cache ``work_dir`` (``extracted/``,
    named after the checkpoint's sha256 and reused only while it records that hash and passes those checks), or
    the demo checkpoint (``demo/``) when ``path`` is None.  See ``weights.cache``."""
    work = Path(work_dir)
    demo = path is None
    if not demo:
        _check_input(Path(path), architecture)
    if demo or Path(path).suffix.lower() not in H5_SUFFIXES:   # only a checkpoint or the demo uses the cache
        _make_cache(work)
    if demo:
        log.info("no %s checkpoint given: using the built-in demo checkpoint (%s size, random weights)",
                 architecture, demo_size)
        paths = cached_demo_checkpoints(work / "demo", demo_size, kinds=(architecture,))
        if paths is None:
            from .demo import write_demo_checkpoints  # imports torch: only when the files must be (re)made
            paths = write_demo_checkpoints(work / "demo", demo_size, kinds=(architecture,))
        path = paths[architecture]
    p = Path(path)
    if p.suffix.lower() in H5_SUFFIXES:
        _check(p, architecture)
        return WeightSource(architecture, p, None, False)
    sha = file_sha256(p)
    out = work / "demo" / f"{architecture}_demo_{demo_size}.h5" if demo else \
        work / "extracted" / f"{architecture}-{sha[:16]}.h5"     # content-keyed: one file per checkpoint content
    if not overrides and _current(out, sha, architecture):
        log.info("reusing %s (extracted from %s, sha256 %s… unchanged)", out, p.name, sha[:12])
    else:
        from .extract import extract
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            extract(p, out, model=architecture, overrides=overrides, overwrite=True)  # the work dir's own cache
        except PermissionError as e:
            raise CheckpointError(str(out), f"cannot write the extracted weights into the cache ({e.strerror}); "
                                  "pass --cache-dir DIR or set TRTNET_CACHE to a writable directory") from None
        _legacy_stamp(out).unlink(missing_ok=True)
        log.info("extracted %s → %s", p, out)
        _check(out, architecture)
    return WeightSource(architecture, out, p, demo)


def _check_input(p: Path, architecture: str) -> None:
    """A given weights path exists and is a regular file (a directory or FIFO is named as such)."""
    if not p.exists():
        raise CheckpointError(str(p), f"no such file (the {architecture} weights)")
    if p.is_dir():
        raise CheckpointError(str(p), f"is a directory, not the {architecture} weights file")
    if not p.is_file():
        raise CheckpointError(str(p), f"is not a regular file (a FIFO or device?), not the {architecture} weights")


def _make_cache(work: Path) -> None:
    if work.exists() and not work.is_dir():
        raise CheckpointError(str(work), "the weights cache is not a directory; pass --cache-dir DIR or set "
                              "TRTNET_CACHE to a directory")
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(str(work), f"the weights cache cannot be created ({e.strerror}); pass --cache-dir DIR "
                              "or set TRTNET_CACHE to a writable directory") from None


def _check(h5: Path, architecture: str) -> None:
    """Every check of ``read_weights`` (remembered per file state, so later opens are cheap)."""
    _, arrays, _ = read_weights(h5, architecture)
    arrays.close()


def _current(h5: Path, checkpoint_sha256: str, architecture: str) -> bool:
    """``h5`` was extracted from a checkpoint with this content hash and still passes every check."""
    if not h5.exists():
        return False
    try:
        attrs = peek_attrs(h5)
        recorded = attrs.get("source_sha256")
        if architecture == "waveglow" and '"variant"' not in str(attrs.get("config")):
            log.info("%s was extracted before trtnet read the WaveGlow variant from the checkpoint: extracting "
                     "again", h5)
            return False
        if recorded != checkpoint_sha256:
            log.info("%s was extracted from another checkpoint (sha256 %s…, now %s…): extracting again", h5,
                     str(recorded)[:12], checkpoint_sha256[:12])
            return False
        _check(h5, architecture)
    except WeightsError as e:
        log.warning("%s cannot be reused (%s): extracting again", h5, e)
        return False
    return True


def _legacy_stamp(h5: Path) -> Path:
    """The size/mtime record older versions kept beside the file; no longer trusted, removed on extraction."""
    return h5.with_name(h5.name + ".source.json")
