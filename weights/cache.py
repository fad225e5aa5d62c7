"""The weights cache: demo checkpoints and HDF5 files extracted from checkpoints, outside any engine directory.

Where: ``--cache-dir`` if given, else ``$TRTNET_CACHE``, else ``$XDG_CACHE_HOME/trtnet``, else
``~/.cache/trtnet``.  Content-keyed: an extracted file is named after its checkpoint's sha256 and records it
(``source_sha256``), so a changed checkpoint is extracted again and two checkpoints never share a file; demo
checkpoints carry their own content keys (``demo_cache``).  Layout: ``demo/`` (demo checkpoints and their
.h5), ``extracted/<architecture>-<sha256[:16]>.h5``, ``downloads/<sha256(url)[:16]>/`` (checkpoints fetched by
URL or published name, each with a ``.json`` size/sha256 record: ``remote``).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "TRTNET_CACHE"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The weights cache directory (not created here)."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "trtnet"
