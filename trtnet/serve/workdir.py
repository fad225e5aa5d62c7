"""``trtnet serve``'s temporary working directory (repository, assembled backends, server log): marked with the
owner's pid, removed on exit, and removed at the next start when its owner was killed; a failed server's log
kept where the user can read it."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from trtnet.files import pid_alive

PREFIX = "trtnet-serve-"
OWNER = "owner.pid"


def remove_leftovers(base: str | Path | None = None) -> list[Path]:
    """Remove ``trtnet-serve-*`` directories in ``base`` (default the temp dir) whose owner process is gone;
    returns them."""
    gone = []
    for d in Path(base or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((d / OWNER).read_text())
        except (OSError, ValueError):
            continue                     # not ours, or being created: left alone
        if not pid_alive(pid):
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone


@contextlib.contextmanager
def work_dir(base: str | Path | None = None) -> Iterator[Path]:
    """A fresh ``trtnet-serve-*`` directory holding this process's pid; removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    try:
        (d / OWNER).write_text(str(os.getpid()))
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def keep_log(log_path: Path) -> Path:
    """Copy a failed server's log out of the working directory (which is removed): ``trtnet-serve-failed-<time>
    .log`` in the temp dir; returns the kept path (``log_path`` itself if the copy fails)."""
    kept = Path(tempfile.gettempdir()) / f"trtnet-serve-failed-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    try:
        shutil.copy2(log_path, kept)
    except OSError:
        return log_path
    return kept


def served_models(repo: Path) -> str:
    """'models a, b in REPO' for a repository given as is; ValueError when it holds no model."""
    if not repo.is_dir():
        raise ValueError(f"--repository {repo}: no such directory")
    models = sorted(p.parent.name for p in repo.glob("*/config.pbtxt"))
    if not models:
        raise ValueError(f"--repository {repo}: no model (no */config.pbtxt); write one with trtnet export-triton -o")
    return f"model(s) {', '.join(models)} in {repo.resolve()}"
