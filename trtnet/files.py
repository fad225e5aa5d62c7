"""File safety for everything that writes: atomic writes (``atomic_write_bytes``: ``.<name>.tmp-<pid>`` then a
rename), an exclusive lock per output directory, and clean-up of the temp files a killed writer leaves behind;
and the one file hash every reader checks against (``file_sha256``, remembered per file state)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

LOCK_NAME = ".trtnet.lock"
_TEMP = re.compile(r"^\..+\.tmp-(\d+)$")


class DirectoryBusyError(RuntimeError):
    """Another trtnet process holds the directory's lock."""


@contextlib.contextmanager
def locked_dir(path: str | os.PathLike, what: str) -> Iterator[Path]:
    """Hold ``path``'s exclusive lock (``flock`` on ``.trtnet.lock``, released by the kernel even on SIGKILL)
    while the block writes there; a second writer fails at once, naming the holder.  Re-entrant within a
    process (a command may lock before the library function that locks again)."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    key = str(root.resolve())
    if key in _HELD:
        yield root
        return
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise DirectoryBusyError(f"{root}: {holder} is writing here; wait for it to finish or choose another "
                                     f"output directory") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()})".encode(), 0)
        _HELD.add(key)
        remove_stale_temp_files(root)
        yield root
    finally:
        _HELD.discard(key)
        os.close(fd)   # closing releases the lock


_HELD: set[str] = set()


def remove_stale_temp_files(root: Path) -> list[Path]:
    """Delete ``.<name>.tmp-<pid>`` files in ``root`` whose writer is no longer running; returns them."""
    gone = []
    for p in root.iterdir():
        m = _TEMP.match(p.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            gone.append(p)
    if gone:
        log.info("%s: removed %d temp file(s) left by interrupted runs", root, len(gone))
    return gone


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (this one always)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to ``path.tmp-<pid>`` then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


_DIGESTS: dict[tuple, str] = {}


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes (checkpoints, weights files, plans and sidecars alike).  Remembered per file
    state (:func:`file_state`) for the process, so building six engines from one 350 MB file hashes it once;
    another process hashes again."""
    key = file_state(path)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def forget_digests() -> None:
    """Drop the remembered hashes (tests use it to act as a fresh process)."""
    _DIGESTS.clear()


def file_state(path: str | os.PathLike) -> tuple:
    """One state of a file within a process: (real path, size, mtime_ns, inode, ctime_ns); any rewrite,
    replacement or ``os.utime`` changes it."""
    st = os.stat(path)
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
