"""HTTP(S) downloads into the weights cache, with the Python standard library only (``urllib``).

``download(url, path)`` streams into ``<path>.part``; a ``.part`` left by an interrupted run is resumed with
``Range: bytes=<have>-`` (and ``If-Range`` with the ETag / Last-Modified it was started with, so a file changed on
the server restarts), a server that answers the range with a whole ``200`` body restarts from zero, a ``416`` on
a stale part restarts, and a body cut short of its ``Content-Length`` is resumed up to ``attempts`` times.  Only a
complete body whose size (and pinned sha256, when one is known) checks out is renamed onto ``path``, with a
sidecar ``<path>.json`` recording {url, size, sha256}; a later call reuses the file only while its bytes still
hash to the recorded sha256.  Proxies: ``urllib``'s ``ProxyHandler`` reads ``http_proxy`` / ``https_proxy`` /
``no_proxy`` from the environment on every call.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from ..files import atomic_write_bytes, file_sha256, locked_dir
from .errors import WeightsError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
#: progress(total_bytes_or_None, description) -> context manager yielding an object with update(n)
Progress = Callable[[Any, str], ContextManager[Any]]


class DownloadError(WeightsError):
    """A download failed; names the URL and what happened, in one line."""

    def __init__(self, url: str, problem: str):
        self.url, self.problem = url, " ".join(str(problem).split())
        super().__init__(f"cannot download {url}: {self.problem}")


class _Cut(Exception):
    """The body ended before its Content-Length (the part file is kept, to resume)."""

    def __init__(self, have: int, want: int | None):
        self.have, self.want = have, want


class _Quiet:
    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def no_progress(total: Any, desc: str) -> Iterator[_Quiet]:
    yield _Quiet()


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def reusable(path: Path, sha256: str | None = None) -> dict | None:
    """The sidecar record of ``path`` when the file is there, its size and sha256 still equal the record, and the
    record equals the pinned ``sha256`` (if any); else None."""
    try:
        record = json.loads(record_path(path).read_text())
        ok = (path.stat().st_size == record["size"] and file_sha256(path) == record["sha256"]
              and (sha256 is None or record["sha256"] == sha256))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not ok:
        log.warning("%s does not match its record %s: downloading again", path, record_path(path))
    return record if ok else None


def download(url: str, path: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
             progress: Progress = no_progress, attempts: int = 3, timeout: float = 60.0, hint: str = "") -> Path:
    """``url`` → ``path`` (module docstring); returns ``path``.  ``hint`` ends the offline message (how to pass a
    local file instead)."""
    path = Path(path)
    with locked_dir(path.parent, "trtnet download"):
        if reusable(path, sha256) is not None:
            log.info("reusing %s (downloaded from %s, sha256 checked)", path, url)
            return path
        part = path.with_name(path.name + ".part")
        for attempt in range(1, attempts + 1):
            try:
                _transfer(url, part, progress, timeout, hint)
                break
            except _Cut as cut:
                log.warning("%s: the body ended after %d of %s bytes (attempt %d of %d)%s", url, cut.have,
                            cut.want or "?", attempt, attempts, "; resuming" if attempt < attempts else "")
                if attempt == attempts:
                    raise DownloadError(url, f"the body ended after {cut.have} of {cut.want or '?'} bytes "
                                             f"{attempts} times; run again to resume from {part}") from None
        got = part.stat().st_size
        digest = file_sha256(part)
        bad = (f"size {got} bytes is not the expected {size}" if size is not None and got != size else
               f"sha256 {digest} is not the pinned {sha256}" if sha256 is not None and digest != sha256 else None)
        if bad:
            part.unlink()
            raise DownloadError(url, f"{bad}; the download was deleted")
        record = {"url": url, "size": got, "sha256": digest}
        atomic_write_bytes(record_path(path), json.dumps(record, indent=1).encode())
        os.replace(part, path)
        _validators(part).unlink(missing_ok=True)
        log.info("downloaded %s → %s (%.1f MB, sha256 %s…)", url, path, got / 1e6, digest[:12])
        return path


def _validators(part: Path) -> Path:
    """What the part file was started from (url, ETag, Last-Modified): the ``If-Range`` of a resume."""
    return part.with_name(part.name + ".json")


def _open(url: str, have: int, part: Path, timeout: float, hint: str):
    headers = {"User-Agent": "trtnet", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
        with contextlib.suppress(OSError, ValueError):
            v = json.loads(_validators(part).read_text())
            if v.get("url") == url and (v.get("etag") or v.get("last_modified")):
                headers["If-Range"] = v.get("etag") or v["last_modified"]
    opener = urllib.request.build_opener()      # a ProxyHandler from the current environment
    try:
        return opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            return None
        raise DownloadError(url, f"HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", None) or e
        raise DownloadError(url, f"{reason}; without network access, download it another way and pass the local "
                                 f"file instead{hint}") from None


def _transfer(url: str, part: Path, progress: Progress, timeout: float, hint: str) -> None:
    """One request: append to ``part`` (206 from its size) or rewrite it (200); raises _Cut when short."""
    have = part.stat().st_size if part.exists() else 0
    resp = _open(url, have, part, timeout, hint)
    if resp is None:                        # 416: the stale part does not fit the file on the server
        log.info("%s: the server refused to resume %s; starting again", url, part)
        part.unlink()
        have, resp = 0, _open(url, 0, part, timeout, hint)
    with resp:
        if resp.headers.get("Content-Type", "").startswith("text/html"):
            raise DownloadError(url, "the server sent an HTML page, not a checkpoint (a sign-in or confirmation "
                                     f"page?); download it in a browser and pass the local file instead{hint}")
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        start = _range_start(resp.headers.get("Content-Range")) if resp.status == 206 else None
        if resp.status == 206 and start != have:     # a range we did not ask for: start again
            part.unlink(missing_ok=True)
            raise _Cut(0, None)
        if start != have:
            if have:
                log.info("%s: the server sent the whole file instead of resuming at byte %d; starting again", url,
                         have)
            have = 0
        total = None if length is None else have + length
        atomic_write_bytes(_validators(part), json.dumps({"url": url, "etag": resp.headers.get("ETag"),
                                                          "last_modified": resp.headers.get("Last-Modified")}).encode())
        with open(part, "ab" if have else "wb") as f, progress(total, part.name[:-len(".part")]) as bar:
            bar.update(have)
            try:
                while block := resp.read(CHUNK):
                    f.write(block)
                    bar.update(len(block))
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError):
                pass                        # judged by the byte count below
            f.flush()
            os.fsync(f.fileno())
    got = part.stat().st_size
    if total is not None and got != total:
        raise _Cut(got, total)


def _range_start(content_range: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", content_range or "")
    return int(m.group(1)) if m else None
