"""The registry of published checkpoints (``published.json`` beside this module: data, not code) and the table
that ``trtnet fetch --list`` prints and the README shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from .config import CONFIG_CLASSES
from .errors import WeightsError

REGISTRY = Path(__file__).with_name("published.json")
COLUMNS = ("name", "model", "precision", "size", "sha256", "URL", "source")


@dataclass(frozen=True)
class Published:
    name: str
    model: str            # architecture: tacotron2 | waveglow | hifigan
    precision: str        # as trained: AMP, FP32, or unknown
    url: str
    file: str             # local file name of the download (the archive's, for a zip)
    member: str | None    # the checkpoint inside the archive, when the download is one
    size: int | None      # bytes of the download, when known
    sha256: str | None    # pinned hash of the download, when known
    source: str           # where the URL comes from

    def row(self) -> tuple[str, ...]:
        """The table row: unknown size/sha256 shown as ``unknown`` / ``not pinned``."""
        size = f"{self.size / 1e6:.1f} MB" if self.size else "unknown"
        return (self.name, self.model, self.precision, size, self.sha256 or "not pinned", self.url, self.source)


@lru_cache(maxsize=1)
def registry() -> dict[str, Published]:
    """Every published checkpoint by name, checked: known architecture, http(s) URL, sha256 of 64 hex digits."""
    try:
        entries = json.loads(REGISTRY.read_text())["checkpoints"]
    except (OSError, ValueError, KeyError) as e:
        raise WeightsError(f"{REGISTRY}: unreadable registry ({e})") from None
    names = {f.name for f in fields(Published)}
    out: dict[str, Published] = {}
    for i, entry in enumerate(entries):
        if set(entry) != names:
            raise WeightsError(f"{REGISTRY}: entry {i} has keys {sorted(entry)}, expected {sorted(names)}")
        p = Published(**entry)
        sha_ok = p.sha256 is None or (len(p.sha256) == 64 and all(c in "0123456789abcdef" for c in p.sha256))
        if p.model not in CONFIG_CLASSES or not p.url.startswith(("http://", "https://")) or not sha_ok \
                or p.name in out:
            raise WeightsError(f"{REGISTRY}: entry {p.name!r} is invalid (model {p.model!r}, URL {p.url!r}, "
                               f"sha256 {p.sha256!r}, or a repeated name)")
        out[p.name] = p
    return out


def lookup(name: str) -> Published | None:
    return registry().get(name)


def markdown_table() -> str:
    """The registry as a Markdown table (the README's, kept equal by a test)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for p in registry().values():
        cells = list(p.row())
        cells[0], cells[5] = f"`{cells[0]}`", f"<{cells[5]}>"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_table() -> str:
    """The registry as aligned plain-text columns (``trtnet fetch --list``)."""
    rows = [COLUMNS] + [p.row() for p in registry().values()]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 2)]
    return "\n".join("  ".join([c.ljust(w) for c, w in zip(r, widths)] + list(r[-2:])).rstrip() for r in rows)
