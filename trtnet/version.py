"""trtnet's own version, and a digest of the code that defines networks; the sidecar and build_config.json
record both, and the engine cache keys on both (a code change under the same version must not reuse a plan)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__version__ = "0.1.0"

#: Subpackages of the ``trtnet`` directory left out of the core's digest: those that never take part in defining a
#: network, and ``layers``/``weights``, hashed as roots of their own (an installed copy nests them in ``trtnet/``,
#: an editable one does not; both give the same digest).
_NOT_NETWORK_CODE = ("serve", "verify", "emulate", "interpret", "tools", "runtime", "layers", "weights")


def code_digest(roots: tuple[Path, ...] | None = None) -> str:
    """sha256 over the relative path and bytes of every ``.py`` file under ``roots`` (sorted), default: the
    installed network-defining code.  Computed once per process for the default roots."""
    return _digest(tuple(roots)) if roots is not None else _default_digest()


@functools.lru_cache(maxsize=1)
def _default_digest() -> str:
    core = Path(__file__).resolve().parent
    return _digest((core, _package_dir("trtnet.layers"), _package_dir("trtnet.weights")), skip=_NOT_NETWORK_CODE)


def _package_dir(name: str) -> Path:
    """Where package ``name`` lives, found without importing it (weights/ imports this module)."""
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package {name} is not installed")
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def _digest(roots: tuple[Path, ...], skip: tuple[str, ...] = ()) -> str:
    h = hashlib.sha256()
    for i, root in enumerate(roots):
        for f in sorted(p for p in root.rglob("*.py") if p.relative_to(root).parts[0] not in skip):
            data = f.read_bytes()
            h.update(f"{i}/{f.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()
