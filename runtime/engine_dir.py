"""Open a directory written by ``trtnet build-engines``: one Session per engine, with configs and limits read
from the sidecars (never retyped)."""

from __future__ import annotations

import json
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sidecar import Sidecar, sidecar_path
from ..weights.config import CONFIG_CLASSES
from .acoustic import ACOUSTIC, acoustic_architecture
from .vocoder import VOCODERS, vocoder_architecture
from .dir_schema import check_finite, check_index, check_sidecars
from .engine import Engine, EngineLoadError, EngineProvider
from .pipeline import Limits
from .progress import ProgressEvent, ProgressHook

log = logging.getLogger(__name__)


@dataclass
class EngineDir:
    path: Path
    sessions: dict[str, Any]
    sidecars: dict[str, Sidecar]
    t2_config: Any                # the acoustic model's config (Tacotron 2 or FastPitch: its architecture names it)
    vocoder_config: Any           # the vocoder's model config (its architecture names the vocoder)
    options: dict[str, Any]
    defaults: dict[str, Any]
    limits: Limits
    _stack: ExitStack
    emulated: bool = False

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "EngineDir":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


REQUIRED = {"engines": dict, "options": dict, "hparams": dict}
REQUIRED_OPTIONS = ("max_batch", "max_text_len", "dropout", "noise")


def read_build_config(path: Path) -> dict[str, Any]:
    """``path/build_config.json``, checked against its schema and every listed plan against its sidecar
    (``dir_schema``) before any work; EngineLoadError names the file and key.  Plan hashes are remembered per
    file state, so reading it again in the same process costs little."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise EngineLoadError(f"--engine-dir {path}: not a directory (an engine directory written by "
                              "trtnet build-engines)")
    f = root / "build_config.json"
    try:
        cfg = json.loads(f.read_text())
    except FileNotFoundError:
        raise EngineLoadError(f"{path}: no build_config.json (run trtnet build-engines -o {path})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EngineLoadError(f"{f}: unreadable: {e}") from None
    if not isinstance(cfg, dict):
        raise EngineLoadError(f"{f}: expected a JSON object, found {type(cfg).__name__}; rebuild the engines")
    for key, kind in REQUIRED.items():
        if not isinstance(cfg.get(key), kind):
            raise EngineLoadError(f"{f}: key '{key}' missing or not a {kind.__name__}; rebuild the engines "
                                  f"(trtnet build-engines -o {path})")
    missing = [k for k in REQUIRED_OPTIONS if k not in cfg["options"]]
    if missing:
        raise EngineLoadError(f"{f}: options lack {missing}; rebuild the engines (trtnet build-engines -o {path})")
    check_finite(cfg, f)
    check_index(cfg, f)
    check_sidecars(root, cfg)
    return cfg


LOOPS = ("decoder-loop", "decoder-chunk")     # engines with a data-dependent trip count: no CUDA-graph capture


def resolve_names(cfg: dict[str, Any], names: tuple[str, ...], root: Path | None = None) -> tuple[str, ...]:
    """Network names for ``names``, where the roles "vocoder" and "vocoder-denoiser" stand for the directory's
    vocoder networks (the denoiser only when it was built)."""
    try:
        voc = VOCODERS[vocoder_architecture(cfg["hparams"], str(root or "the engine directory"))]
        acoustic = ACOUSTIC[acoustic_architecture(cfg["hparams"])]
    except ValueError as e:
        raise EngineLoadError(str(e)) from None
    out = acoustic.resolve(voc.resolve(names))
    return tuple(n for n in out if n != voc.denoiser or n in cfg["engines"] or "vocoder-denoiser" not in names)


def stream_decoder(engine_dir: str | Path | None) -> str:
    """The decoder network streaming runs on: decoder-chunk, or decoder-step for an engine directory built
    without it."""
    if engine_dir and "decoder-chunk" not in read_build_config(Path(engine_dir))["engines"]:
        return "decoder-step"
    return "decoder-chunk"


def open_engine_dir(path: str | Path, names: tuple[str, ...] | None = None, *, cuda_graph: bool = False,
                    provider: EngineProvider | None = None, progress: ProgressHook | None = None) -> EngineDir:
    """Load the engines of ``path`` (all listed in build_config.json, or ``names``: network names or the roles
    "vocoder" / "vocoder-denoiser") and open a session each.

    ``provider``: load them with ``Engine.load(..., provider=provider)`` (``trtnet.emulate.Emulator()``: the
    TensorRT emulator).  ``progress``: told of each engine loaded (``ProgressEvent("load", name, seconds)``)."""
    root = Path(path)
    cfg = read_build_config(root)
    wanted = resolve_names(cfg, names, root) if names else tuple(cfg["engines"])
    stack = ExitStack()
    sessions, sidecars = {}, {}
    try:
        for name in wanted:
            if name not in cfg["engines"]:
                raise EngineLoadError(f"{root}: no {name} engine (built: {sorted(cfg['engines'])})")
            plan = root / cfg["engines"][name]["plan"]
            t0 = time.perf_counter()
            engine = stack.enter_context(Engine.load(plan, provider=provider))
            sessions[name] = stack.enter_context(engine.session(cuda_graph=cuda_graph and name not in LOOPS))
            sidecars[name] = Sidecar.read(sidecar_path(plan))
            if progress is not None:
                progress(ProgressEvent("load", name, time.perf_counter() - t0))
    except BaseException:
        stack.close()
        raise
    opts = cfg["options"]
    acoustic = acoustic_architecture(cfg["hparams"])
    t2 = CONFIG_CLASSES[acoustic].from_dict(cfg["hparams"][acoustic])
    frames = next((s.io.dims["max_frames"].max for s in sidecars.values() if "max_frames" in s.io.dims), None)
    steps = int(opts.get("max_decoder_steps") or getattr(t2, "max_decoder_steps", None) or frames)
    limits = Limits(max_batch=int(opts["max_batch"]), max_text_len=int(opts["max_text_len"]), max_decoder_steps=steps)
    arch = vocoder_architecture(cfg["hparams"], str(root))
    return EngineDir(root, sessions, sidecars, t2, CONFIG_CLASSES[arch].from_dict(cfg["hparams"][arch]), opts,
                     cfg.get("runtime_defaults", {}), limits, stack, provider is not None)
