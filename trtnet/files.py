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
import shutil
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
    process (a command may lock before the library function that locks again).  Every directory trtnet writes
    (engine directories, ``synthesize`` outputs) is written under this lock.

    On release the lock file is removed (a waiting process re-checks that the file it locked is still the
    directory's, so removal cannot let two writers in), and a directory this call created is removed again when
    the block left nothing in it (a refused or failed run leaves no empty directory behind)."""
    root = Path(path)
    key = str(root.resolve())
    if key in _HELD:
        yield root
        return
    created = _make_dir(root)
    fd = _acquire(root, what)
    try:
        _HELD.add(key)
        remove_stale_temp_files(root)
        yield root
    finally:
        _HELD.discard(key)
        with contextlib.suppress(OSError):
            os.unlink(root / LOCK_NAME)
        os.close(fd)   # closing releases the lock
        if created:
            with contextlib.suppress(OSError):   # not empty (or gone): keep it
                root.rmdir()


def _make_dir(root: Path) -> bool:
    """Create ``root`` (and its parents); True when it did not exist.  OSError names the directory."""
    if root.is_dir():
        return False
    try:
        root.mkdir(parents=True)
    except FileExistsError:
        if not root.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(root)) from None
        return False
    except OSError as e:
        raise type(e)(e.errno, f"directory cannot be created ({e.strerror})", str(root)) from None
    return True


def check_creatable_dir(root: Path) -> None:
    """OSError naming ``root`` unless it is a directory or can be made one (its nearest existing ancestor is a
    writable directory); nothing is created."""
    if root.is_dir():
        return
    if root.exists():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(root))
    parent = next(p for p in root.absolute().parents if p.exists())
    if not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"directory cannot be created ({parent} is not a directory)",
                                 str(root))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"directory cannot be created ({parent} is not writable)", str(root))


def _acquire(root: Path, what: str) -> int:
    """The file descriptor of ``root/.trtnet.lock``, exclusively locked and still linked there."""
    lock = root / LOCK_NAME
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise OSError(e.errno, f"cannot create the lock file ({e.strerror})", str(lock)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            raise DirectoryBusyError(f"{root}: {holder} is writing here; wait for it to finish or choose another "
                                     f"output directory") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{what} (pid {os.getpid()})".encode(), 0)
            return fd
        os.close(fd)   # the holder released and removed it between our open and flock: lock the new one


_HELD: set[str] = set()


def remove_stale_temp_files(root: Path) -> list[Path]:
    """Delete ``.<name>.tmp-<pid>`` files in ``root`` whose writer is no longer running; returns them."""
    gone = []
    for p in root.iterdir():
        m = _TEMP.match(p.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
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


def temp_path(path: Path) -> Path:
    """``dir/.name.tmp-<pid>``: where ``path`` is written before its rename (removed by the next locked writer
    of the directory if this process dies)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to ``path.tmp-<pid>`` then rename, so a reader never sees half a file.  OSError (a full disk, a
    file-size limit) names ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise named_os_error(e, path) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def named_os_error(e: OSError, path: Path) -> OSError:
    """``e`` as an OSError naming ``path`` (``[Errno 27] File too large: 'out/audio_0.wav'``), not a temp file."""
    return e if e.errno is None else type(e)(e.errno, e.strerror, str(path))


class StreamedFile:
    """A binary file written progressively under ``path``'s temp name: :meth:`commit` renames it to ``path``,
    :meth:`abort` removes it with a message naming ``path``, so ``path`` is either complete or absent (Ctrl-C
    included).  OSError names ``path``."""

    def __init__(self, path: Path) -> None:
        self.path, self.tmp = path, temp_path(path)
        try:
            self.file = open(self.tmp, "wb")
        except OSError as e:
            raise named_os_error(e, path) from None

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.tmp, self.path)
        except OSError as e:
            self.abort("failed")
            raise named_os_error(e, self.path) from None

    def abort(self, why: str) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        if self.tmp.exists():
            self.tmp.unlink()
            log.warning("%s: %s before it was complete; its partial audio was removed", self.path, why)


def remove_all_or_none(root: Path, paths: list[Path], *, directories: bool = False) -> None:
    """Delete ``paths`` (files in ``root``, or also directories with ``directories``) as a unit: each is checked,
    then all are moved into one temp directory in ``root`` (a rename) and that is deleted.  If any cannot be
    moved, those already moved are put back and OSError names the file: an earlier run is either wholly there or
    wholly gone."""
    if not paths:
        return
    for p in paths:
        if not directories and p.is_dir() and not p.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "is a directory, not a file of an earlier run; move it away "
                                    "yourself (nothing was removed)", str(p))
    aside = temp_path(root / "replaced")
    aside.mkdir()
    moved: list[Path] = []
    try:
        for p in paths:
            os.rename(p, aside / p.name)
            moved.append(p)
    except OSError as e:
        for q in moved:
            os.rename(aside / q.name, q)
        aside.rmdir()
        raise type(e)(e.errno, f"cannot be replaced ({e.strerror}); nothing was removed", str(p)) from None
    shutil.rmtree(aside, onerror=lambda *a: log.warning("%s: could not remove %s", aside, a[1]))


def check_writable(path: Path) -> None:
    """OSError naming ``path`` unless a file can be written there now (a temp-file probe in its directory; a
    directory is not created)."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory; give a file name", str(path))
    probe = temp_path(path)
    try:
        probe.open("wb").close()
    except OSError as e:
        raise type(e)(e.errno, f"cannot be written ({e.strerror})", str(path)) from None
    probe.unlink()


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
