"""Progress for long commands: a tqdm bar with ETA on stderr while it is a terminal; results go to stdout
line by line either way (``bar.write``), so piped or logged runs get plain lines and no bar."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


class _Plain:
    """What the commands use of a bar when tqdm is not installed: printing only."""

    def write(self, text: str) -> None:
        print(text, flush=True)

    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def progress(total: int | None, unit: str, desc: str = "", scale: bool = False) -> Iterator[object]:
    """A bar over ``total`` ``unit``s (None: unknown), shown only when stderr is a terminal (tqdm's
    ``disable=None``); ``scale`` prints k/M/G prefixes (bytes)."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield _Plain()
        return
    with tqdm(total=total, unit=unit if scale else f" {unit}", desc=desc, file=sys.stderr, disable=None,
              dynamic_ncols=True, leave=False, unit_scale=scale) as bar:
        if bar.disable:
            yield _Plain()
        else:
            yield _Bar(bar)


class _Bar:
    def __init__(self, bar) -> None:
        self._bar = bar

    def write(self, text: str) -> None:
        self._bar.write(text, file=sys.stdout)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)


def byte_progress(total: int | None, desc: str):
    """A download's bar: bytes with k/M/G prefixes, quiet when stderr is not a terminal."""
    return progress(total, "B", desc, scale=True)
