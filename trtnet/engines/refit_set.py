"""Refit an engine directory with new weights: the library behind ``trtnet refit``.

``refit_engine_dir(engine_dir, {"tacotron2": WeightSource, "waveglow": ...})``:

1. checks, before any engine is touched, that each new weights file has the architecture and config
   (hparams) the directory's engines were built for, that every engine of that architecture is refittable,
   and that every weight of every engine's manifest can be recomputed with the shape and dtype it was built
   with (RefitError: one line naming the first key that differs);
2. under the directory lock, loads each engine (emulated or real), refits it through the refitter by name
   (:func:`trtnet.refit.refit_engine`: missing weights named), serializes it and writes the new plan, its
   layer table and its sidecar (new weights file and hash, plan hash, the refit's time) under new names,
   ``<engine>.refit-<weights sha256[:12]>.plan`` (temp name + rename each);
3. commits by replacing ``build_config.json`` atomically (new file names, sidecar hashes, inputs), then
   removes the old files.  A refit interrupted before the commit leaves the old index and the old, untouched
   files: the directory stays valid (the next refit removes the orphans); after it, the new one is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from trtnet import refit as refit_mod
from trtnet.build import layers_path
from trtnet.files import atomic_write_bytes, file_sha256, locked_dir
from trtnet.refit import RefitError
from trtnet.sidecar import Sidecar, sidecar_path, verified_sidecar
from trtnet.weights.sources import WeightSource
from trtnet.weights.store import WeightStore

from trtnet.layers import networks

from .engine_set import BUILD_CONFIG, remove_plan, weights_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefitRecord:
    name: str
    plan: Path
    weights: int             # weights set by name
    seconds: float           # load + refit + serialize + write
    build_seconds: float | None   # the engine's recorded build time (a rebuild with the same options)
    plan_bytes: int
    weights_bytes: int       # the refitted weights' bytes (what a weight-stripped plan leaves out)
    mode: str                # "refittable" or "stripped"


def _index(root: Path) -> dict[str, Any]:
    try:
        cfg = json.loads((root / BUILD_CONFIG).read_text())
    except FileNotFoundError:
        raise RefitError(f"{root}: no {BUILD_CONFIG} (not an engine directory; build it with trtnet build-engines)"
                         ) from None
    except (OSError, ValueError) as e:
        raise RefitError(f"{root / BUILD_CONFIG}: unreadable: {e}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("engines"), dict):
        raise RefitError(f"{root / BUILD_CONFIG}: no 'engines' table; rebuild the engines")
    return cfg


def first_difference(new: Any, old: Any, path: str = "") -> str | None:
    """The first key (dotted path) whose value differs between two JSON-like values, or None."""
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        for k in sorted(set(new) | set(old), key=str):
            d = first_difference(new.get(k), old.get(k), f"{path}.{k}" if path else str(k))
            if d is not None:
                return d
        return None
    if isinstance(new, (list, tuple)) and isinstance(old, (list, tuple)) and len(new) == len(old):
        return next((d for i, (a, b) in enumerate(zip(new, old))
                     if (d := first_difference(a, b, f"{path}[{i}]")) is not None), None)
    return None if new == old else path or "<value>"


def _plan_of(root: Path, cfg: Mapping[str, Any], name: str) -> Path:
    return root / cfg["engines"][name]["plan"]


def check_refit(root: Path, cfg: Mapping[str, Any], sources: Mapping[str, WeightSource]
                ) -> dict[str, tuple[Sidecar, dict[str, Any], str]]:
    """Engine name → (sidecar, new weight values, weights sha256) for every engine the sources refit; RefitError
    (one line, before anything is written) when a source does not fit the engines.  Engines that already carry
    these weights are left out."""
    out = {}
    for arch, src in sorted(sources.items()):
        names = [n for n in cfg["engines"] if networks.NETWORKS.get(n) and networks.NETWORKS[n].architecture == arch]
        if not names:
            raise RefitError(f"{root}: no {arch} engine to refit (engines: {sorted(cfg['engines'])})")
        recorded = (cfg.get("hparams") or {}).get(arch)
        with WeightStore.open(src.h5_path) as store:
            if store.architecture != arch:
                raise RefitError(f"{src.h5_path}: holds {store.architecture} weights, the --{arch} engines need {arch}")
            diff = first_difference(store.config.to_dict(), recorded or {})
            if diff is not None:
                new_v, old_v = _at(store.config.to_dict(), diff), _at(recorded or {}, diff)
                raise RefitError(f"{src.h5_path}: {arch} config key '{diff}' is {new_v!r}, the engines were built "
                                 f"with {old_v!r}; refit needs the same architecture: rebuild instead")
            for name in names:
                plan = _plan_of(root, cfg, name)
                side = verified_sidecar(plan)
                if refit_mod.refit_mode(side.build_config) is None:
                    raise RefitError(f"{plan}: built without --refittable or --strip-weights, so TensorRT cannot "
                                     "refit it; rebuild with build-engines --refittable")
                values = _values(plan, side, store)
                if side.weights_sha256 == store.file_sha256:
                    log.info("%s: already has the weights of %s; left as it is", name, src.h5_path)
                    continue
                out[name] = (side, values, store.file_sha256)
    return out


def _at(d: Any, path: str) -> Any:
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            d = d[int(part[1:-1])] if isinstance(d, list) else None
        else:
            d = d.get(part) if isinstance(d, Mapping) else None
    return d


def _values(plan: Path, side: Sidecar, store: WeightStore) -> dict[str, Any]:
    entries = side.manifest() or {}
    for layer, e in entries.items():
        for key in e.keys:
            if key not in store:
                raise RefitError(f"{store.name}: key '{key}' (weights '{layer}' of {plan.name}) is missing")
    try:
        return refit_mod.manifest_weights(side, store.get)
    except RefitError as e:
        raise RefitError(f"{plan.name}: {e}") from None


def refit_engine_dir(engine_dir: str | Path, sources: Mapping[str, WeightSource | str | Path], *,
                     emulate: bool = False, flavor: str | None = None, cache_dir: str | Path | None = None,
                     fail_after: Callable[[str], None] | None = None) -> list[RefitRecord]:
    """Refit every engine of ``engine_dir`` whose architecture ``sources`` gives new weights for (see the module
    docstring): architecture → a resolved :class:`WeightSource`, or a checkpoint / ``.h5`` path (extracted into
    the weights cache ``cache_dir``, default ``$TRTNET_CACHE`` or ``~/.cache/trtnet``).  Returns one record per
    engine.  ``emulate``: on the emulated runtime.  ``fail_after(name)`` is called after each engine's new files
    are written (tests interrupt a refit there)."""
    from trtnet.runtime.engine import Engine
    from trtnet.weights.cache import cache_dir as default_cache
    from trtnet.weights.sources import resolve
    sources = {a: s if isinstance(s, WeightSource) else resolve(s, a, default_cache(cache_dir))
               for a, s in sources.items()}
    root = Path(engine_dir)
    _index(root)                                    # not an engine directory: say so before creating the lock
    records = []
    with locked_dir(root, "trtnet refit"):
        cfg = _index(root)
        work = check_refit(root, cfg, sources)
        _remove_orphans(root, cfg)
        new_cfg = json.loads(json.dumps(cfg))
        provider = None
        if emulate:
            from trtnet.emulate import Emulator
            provider = Emulator()
        for name, (side, values, sha) in work.items():
            t0 = time.perf_counter()
            plan = _plan_of(root, cfg, name)
            mode = refit_mod.refit_mode(side.build_config)
            with Engine.load(plan, flavor=flavor, provider=provider, refit_stripped=False) as engine:
                n = refit_mod.refit_engine(engine.trt_engine, side, values, engine.trt, engine.logger)
                data = refit_mod.serialize(engine.trt_engine, engine.trt, mode == "stripped")
            new_plan = root / f"{name}.refit-{sha[:12]}.plan"
            src = sources[networks.NETWORKS[name].architecture]
            new_side = _new_sidecar(side, data, sha, src, time.perf_counter() - t0)
            atomic_write_bytes(new_plan, data)
            new_side.write(sidecar_path(new_plan))
            if layers_path(plan).exists():
                atomic_write_bytes(layers_path(new_plan), layers_path(plan).read_bytes())
            seconds = time.perf_counter() - t0
            entry = new_cfg["engines"][name]
            entry.update(plan=new_plan.name, sidecar=sidecar_path(new_plan).name,
                         sidecar_sha256=file_sha256(sidecar_path(new_plan)), plan_bytes=len(data),
                         refit_seconds=round(seconds, 2))
            records.append(RefitRecord(name, new_plan, n, seconds, side.build_seconds, len(data),
                                       sum(int(v.nbytes) for v in values.values()), mode))
            log.info("%s: refitted %d weights in %.1f s → %s", name, n, seconds, new_plan)
            if fail_after is not None:
                fail_after(name)
        for arch, src in sources.items():
            new_cfg.setdefault("inputs", {})[arch] = _input(src)
        atomic_write_bytes(root / BUILD_CONFIG, (json.dumps(new_cfg, indent=2, allow_nan=False) + "\n").encode())
        _remove_orphans(root, new_cfg)
    return records


def _new_sidecar(side: Sidecar, data: bytes, sha: str, src: WeightSource, seconds: float) -> Sidecar:
    extra = dict(side.extra)
    extra["refit"] = {"from_weights_sha256": side.weights_sha256, "seconds": round(seconds, 3)}
    extra["weights_file"] = str(src.h5_path)
    if "build_key" in extra:         # build-engines reuses it as it would a build from these weights
        extra["cache_key"] = weights_key(extra["build_key"], sha)
    else:                            # built before build keys were recorded: not reusable
        extra.pop("cache_key", None)
    return replace(side, weights_sha256=sha, extra=extra, plan_sha256=hashlib.sha256(data).hexdigest())


def _input(src: WeightSource) -> dict[str, Any]:
    with WeightStore.open(src.h5_path) as store:
        return {"checkpoint": str(src.checkpoint) if src.checkpoint else None,
                "checkpoint_sha256": store.source_sha256, "weights": str(src.h5_path),
                "weights_sha256": store.file_sha256, "demo": src.demo}


def _remove_orphans(root: Path, cfg: Mapping[str, Any]) -> None:
    """Delete plan files (and their sidecars and layer tables) the index does not name: those a refit
    replaced, or wrote before it was interrupted.  Plans ``build-engines`` names ``<engine>.plan`` are kept
    unless an index entry for that engine names a refitted plan instead."""
    named = {e.get("plan") for e in cfg["engines"].values() if isinstance(e, Mapping)}
    refitted = {n for n, e in cfg["engines"].items() if isinstance(e, Mapping) and ".refit-" in str(e.get("plan"))}
    for plan in root.glob("*.plan"):
        engine = plan.name.split(".")[0]
        if plan.name in named or (".refit-" not in plan.name and engine not in refitted):
            continue
        remove_plan(plan, f"no longer in {BUILD_CONFIG}")
