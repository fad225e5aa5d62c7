"""A self-contained model repository: everything the models open lives inside it, named by paths relative to the
repository root, so the repository can be copied or moved (another host, a shared volume, object storage).

Layout (inside the ``trtnet_tts`` model directory; Triton ignores its non-numeric subdirectories)::

    trtnet_tts/engines/{build_config.json, <network>.plan, <network>.json}    engine backend
    trtnet_tts/weights/<architecture>.h5 (the acoustic model's, the vocoder's)  eager backend

``pack`` copies (and checks) the files into a staging repository and rewrites the backend spec's paths;
``localize`` (in the model's ``initialize``) turns them back into absolute paths against the model's own directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Mapping

from trtnet.models import MODELS

PATH_KEYS = ("engine_dir", *MODELS)          # the BackendSpec fields that hold paths: one weights file per model
ASSET_MODEL = "trtnet_tts"          # the model directory holding the assets (both models read them)


def localize(spec: Mapping[str, Any], model_dir: str | Path) -> dict[str, Any]:
    """``spec`` with each relative path in PATH_KEYS resolved against the repository root (the parent of
    ``model_dir``, Triton's ``args['model_repository']``); absolute paths (older exports) are kept."""
    root = Path(model_dir).resolve().parent
    out = dict(spec)
    for key in PATH_KEYS:
        if out.get(key) and not Path(out[key]).is_absolute():
            out[key] = str(root / out[key])
    return out


def _copy_verified(src: Path, dst: Path) -> None:
    from trtnet.files import file_sha256
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    if file_sha256(src) != file_sha256(dst):
        raise OSError(f"{dst}: copy of {src} differs from its source")


def pack_engines(engine_dir: str | Path, stage: Path) -> str:
    """Copy build_config.json and every plan it lists with its sidecar into ``stage/trtnet_tts/engines``, each
    plan first verified against its sidecar and the index (SidecarError names a truncated or edited plan);
    returns the relative path."""
    from trtnet.runtime.engine_dir import read_build_config
    from trtnet.sidecar import sidecar_path, verified_sidecar
    root = Path(engine_dir).resolve()
    cfg = read_build_config(root)
    rel = f"{ASSET_MODEL}/engines"
    for name, entry in sorted(cfg["engines"].items()):
        plan = root / entry["plan"]
        verified_sidecar(plan)
        for f in (plan, sidecar_path(plan)):
            _copy_verified(f, stage / rel / f.name)
    _copy_verified(root / "build_config.json", stage / rel / "build_config.json")
    for name, entry in cfg["engines"].items():          # the copies pass the same checks
        verified_sidecar(stage / rel / entry["plan"])
    return rel


def pack_weights(h5_paths: Mapping[str, str], stage: Path) -> dict[str, str]:
    """Copy each architecture's .h5 into ``stage/trtnet_tts/weights/<arch>.h5``; {arch: relative path}."""
    out = {}
    for arch, src in h5_paths.items():
        rel = f"{ASSET_MODEL}/weights/{arch}.h5"
        _copy_verified(Path(src), stage / rel)
        out[arch] = rel
    return out
