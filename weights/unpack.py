"""A downloaded archive (NGC's ``.../zip`` downloads) → the one checkpoint inside it.

A PyTorch checkpoint is itself a zip (``<name>/data.pkl``) and is returned as is.  Any other zip must hold
exactly one checkpoint-like member (``.pt``, ``.pth``, ``.ckpt``, ``.pkl`` or no suffix, outside ``__MACOSX``),
or the one ``member`` named; it is streamed (CRC-32 checked by ``zipfile``) to a temp file beside the archive
under its own base name and renamed, with a ``<member>.json`` record {archive_sha256, member, size, sha256}.
Member paths are never joined onto the output directory, and one that is absolute or climbs (``..``) is
refused, so no archive can write outside it.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path, PurePosixPath

from ..files import atomic_write_bytes, file_sha256
from .errors import CheckpointError

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", "")


def is_torch_checkpoint(names: list[str]) -> bool:
    """Members laid out as ``torch.save`` writes them: ``<folder>/data.pkl`` at the top."""
    return any(PurePosixPath(n).parts[1:] == ("data.pkl",) for n in names)


def _looks_like_checkpoint(name: str) -> bool:
    p = PurePosixPath(name)
    return p.parts[0] != "__MACOSX" and not p.name.startswith(".") and p.suffix.lower() in CHECKPOINT_SUFFIXES


def _safe(archive: Path, name: str) -> str:
    """The member's base name, after refusing absolute, climbing or drive-letter paths."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]) or not p.name:
        raise CheckpointError(str(archive), f"member {name!r} has an unsafe path; not unpacked")
    return p.name


def unpack(archive: str | os.PathLike, member: str | None = None) -> Path:
    """The checkpoint ``archive`` holds (module docstring); ``archive`` itself when it is not an archive."""
    archive = Path(archive)
    if not zipfile.is_zipfile(archive):
        if member:
            raise CheckpointError(str(archive), f"is not a zip archive; expected one holding {member!r}")
        return archive
    try:
        with zipfile.ZipFile(archive) as z:
            files = [i for i in z.infolist() if not i.is_dir()]
            names = [i.filename for i in files]
            if is_torch_checkpoint(names) and not member:
                return archive
            found = ([i for i in files if i.filename == member or PurePosixPath(i.filename).name == member]
                     if member else [i for i in files if _looks_like_checkpoint(i.filename)])
            if len(found) != 1:
                want = f"the member {member!r}" if member else "exactly one checkpoint (.pt, .pth, .ckpt, .pkl)"
                raise CheckpointError(str(archive), f"holds {len(found)} matching members "
                                                    f"({', '.join(i.filename for i in found) or 'none'}; all: "
                                                    f"{', '.join(names[:8]) or 'none'}); expected {want}")
            info = found[0]
            target = archive.with_name(_safe(archive, info.filename))
            if target == archive:
                raise CheckpointError(str(archive), f"member {info.filename!r} has the archive's own name")
            return _extract(z, info, archive, target)
    except zipfile.BadZipFile as e:
        raise CheckpointError(str(archive), f"corrupt zip archive ({e})") from None


def _extract(z: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path, target: Path) -> Path:
    record_path = target.with_name(target.name + ".json")
    archive_sha = file_sha256(archive)
    want = {"archive_sha256": archive_sha, "member": info.filename}
    try:
        record = json.loads(record_path.read_text())
        if {k: record.get(k) for k in want} == want and target.stat().st_size == record["size"] \
                and file_sha256(target) == record["sha256"]:
            log.info("reusing %s (unpacked from %s, sha256 checked)", target, archive.name)
            return target
    except (OSError, ValueError, KeyError, TypeError):
        pass
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with z.open(info) as src, open(tmp, "wb") as dst:
            while block := src.read(1 << 20):
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        record = {**want, "size": tmp.stat().st_size, "sha256": file_sha256(tmp)}
        atomic_write_bytes(record_path, json.dumps(record, indent=1).encode())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("unpacked %s from %s", target.name, archive)
    return target
