"""What ``--tacotron2`` / ``--waveglow`` / ``--hifigan`` / ``extract-weights`` accept: a local path, an
``http(s)://`` URL, or the name of a published checkpoint (``weights/published.json``).  URLs and names are
downloaded into the weights cache, ``downloads/<sha256(url)[:16]>/`` (``weights/download.py``), and an archive is
unpacked to the checkpoint inside it (``weights/unpack.py``); the result is a local checkpoint path."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from .download import Progress, download, no_progress
from .errors import ArchitectureError, CheckpointError
from .published import Published, lookup
from .unpack import unpack

URL_SCHEMES = ("http://", "https://")


def is_url(spec: str) -> bool:
    return str(spec).lower().startswith(URL_SCHEMES)


def download_dir(cache: str | os.PathLike, url: str) -> Path:
    return Path(cache) / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:16]


def url_file_name(url: str) -> str:
    """The last path segment of ``url``, reduced to ``[A-Za-z0-9._-]`` (``download`` when nothing is left)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", unquote(urlparse(url).path.rsplit("/", 1)[-1])).lstrip(".")
    return name or "download"


def locate(spec: str | os.PathLike, cache: str | os.PathLike, *, model: str | None = None, flag: str = "",
           progress: Progress = no_progress) -> Path:
    """A local checkpoint for ``spec``: an existing path as is; a URL or a published name downloaded (and
    unpacked) into ``cache``.  ``model`` refuses a published checkpoint of another architecture; ``flag`` names
    the option in messages."""
    text = str(spec)
    path = Path(text).expanduser()
    hint = f" (e.g. {flag} /path/to/checkpoint)" if flag else ""
    if is_url(text):
        return _fetch(text, url_file_name(text), None, None, None, cache, progress, hint)
    if path.exists():
        return path
    published = lookup(text)
    if published is None:
        if os.sep not in text and not path.suffix:
            raise CheckpointError(text, "no such file, and no published checkpoint has this name "
                                        "(trtnet fetch --list names them)")
        return path                         # the caller reports the missing file
    if model and published.model != model:
        raise ArchitectureError(f"{flag or 'checkpoint'} {text}", f"the published checkpoint {text!r} is a "
                                f"{published.model} model, not {model}", found=published.model, wanted=model)
    return fetch_published(published, cache, progress=progress, hint=hint)


def fetch_published(p: Published, cache: str | os.PathLike, *, progress: Progress = no_progress,
                    hint: str = "") -> Path:
    return _fetch(p.url, p.file, p.member, p.sha256, p.size, cache, progress, hint)


def _fetch(url: str, file: str, member: str | None, sha256: str | None, size: int | None,
           cache: str | os.PathLike, progress: Progress, hint: str) -> Path:
    got = download(url, download_dir(cache, url) / file, sha256=sha256, size=size, progress=progress, hint=hint)
    return unpack(got, member)
