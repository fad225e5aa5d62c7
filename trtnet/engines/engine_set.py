"""Build a set of engines from the two weight files: the library behind ``trtnet build-engines``.

Each engine is cached: a plan whose sidecar carries the same cache key (network, weights hash, options, build
config, TensorRT flavour/version/targets, trtnet version and the digest of its network-defining code) is reused and reported as such.  Progress (stage and
elapsed time) goes to ``logging``.  ``build_config.json`` beside the engines records inputs and their hashes,
hparams, options, flavour and targets, and every engine's files, sizes and build times.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from trtnet import flavor as flavor_mod
from trtnet.build import BuildConfig, build, layers_path
from trtnet.graph import Graph
from trtnet.files import locked_dir
from trtnet.files import atomic_write_bytes, file_sha256
from trtnet.models import ACOUSTIC_KIND, MODELS, VOCODER_KIND, models
from trtnet.sidecar import INDEX_FORMAT, Sidecar, SidecarError, sidecar_path, verified_sidecar
from trtnet.version import __version__, code_digest
from trtnet.weights.sources import WeightSource
from trtnet.weights.store import WeightStore

from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions

log = logging.getLogger(__name__)

TACOTRON2_ENGINES = MODELS["tacotron2"].engines                                # all from trtnet.models
VOCODER_ENGINES = {m.architecture: m.engines for m in models(VOCODER_KIND)}
ACOUSTIC_ENGINES = {m.architecture: m.engines for m in models(ACOUSTIC_KIND)}
DEFAULT_ENGINES = TACOTRON2_ENGINES + VOCODER_ENGINES["waveglow"]


def default_engines(vocoder: str, acoustic: str = "tacotron2") -> tuple[str, ...]:
    """What ``build-engines`` builds by default with ``vocoder``: the acoustic model's networks (Tacotron 2:
    encoder, decoder-loop, decoder-step, postnet; FastPitch: fastpitch), the vocoder and its denoiser."""
    return ACOUSTIC_ENGINES[acoustic] + VOCODER_ENGINES[vocoder]
BUILD_CONFIG = "build_config.json"


@dataclass(frozen=True)
class EngineRecord:
    name: str
    plan: Path
    cached: bool
    seconds: float                 # TensorRT build time (the sidecar's build_seconds; cached: the original build's)
    plan_bytes: int
    sidecar: Sidecar


def build_key(name: str, opts: NetworkOptions, config: BuildConfig, flavor: Any) -> str:
    """Everything an engine's plan depends on but its weights: network, options, build config, TensorRT
    flavour and version, trtnet version and the digest of its network-defining code."""
    blob = json.dumps({"network": name, "options": opts.to_json(),
                       "build": {k: v for k, v in config.to_json().items() if k != "heartbeat_seconds"},
                       "flavor": flavor.name, "trt": str(flavor.version), "trtnet": __version__,
                       "code": code_digest()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def weights_key(build: str, weights_sha: str) -> str:
    """The cache key of a plan with ``build_key`` ``build`` carrying weights ``weights_sha``: what a build
    from those weights writes, and what a refit to them writes (a refitted plan is reused like a built one)."""
    return hashlib.sha256(f"{build}:{weights_sha}".encode()).hexdigest()


def cache_key(name: str, weights_sha: str, opts: NetworkOptions, config: BuildConfig, flavor: Any) -> str:
    return weights_key(build_key(name, opts, config, flavor), weights_sha)


def _plans(out: Path, name: str, previous: Mapping[str, Any]) -> list[Path]:
    """Where an engine's current plan may be: the one the directory's previous index names (a refit's
    ``<engine>.refit-<sha>.plan``), then ``<engine>.plan``."""
    named = (previous.get("engines") or {}).get(name)
    plan = named.get("plan") if isinstance(named, dict) else None
    found = [out / plan] if isinstance(plan, str) and "/" not in plan and plan != f"{name}.plan" else []
    return found + [out / f"{name}.plan"]


def _cached(plan: Path, key: str) -> Sidecar | None:
    """The plan's sidecar when the plan is the one its sidecar describes (hash checked) and was built with the
    same cache key; None means: build it."""
    if not plan.exists():
        return None
    try:
        side = verified_sidecar(plan)
    except SidecarError as e:
        log.warning("%s; rebuilding", e)
        return None
    return side if side.extra.get("cache_key") == key else None


def build_engine(name: str, source: WeightSource, out_dir: Path, opts: NetworkOptions, config: BuildConfig, *,
                 flavor: str | None = None, force: bool = False, previous: Mapping[str, Any] | None = None
                 ) -> EngineRecord:
    """Build (or reuse) one engine; the weights it reads are checked strictly (missing and unused keys).
    ``previous``: the directory's index before this build (the plan it names is reused too if it matches)."""
    fl = flavor_mod.resolve(flavor)
    nd = networks.NETWORKS[name]
    with WeightStore.open(source.h5_path, nd.architecture) as store:
        build_k = build_key(name, opts, config, fl)
        key = weights_key(build_k, store.file_sha256)
        for plan in [] if force else _plans(out_dir, name, previous or {}):
            side = _cached(plan, key)
            if side is not None:
                log.info("%s: up to date (%s, cache key %s…), not rebuilt", name, plan, key[:12])
                return EngineRecord(name, plan, True, side.build_seconds or 0.0, plan.stat().st_size, side)
        plan = out_dir / f"{name}.plan"
        t0 = time.perf_counter()
        g = Graph.trt(name, flavor=flavor)
        networks.define(name, g, store, opts)
        store.check_all_used(nd.prefixes)
        log.info("%s: network defined (%d layers) in %.1f s", name, g.num_layers,
                 time.perf_counter() - t0)
        extra = {"cache_key": key, "build_key": build_k, "code_sha256": code_digest(), "architecture": nd.architecture, "config": store.config.to_dict(),
                 "options": opts.to_json(), "weights_file": str(source.h5_path)}
        res = build(g, plan, config, weights_sha256=store.file_sha256, extra=extra)
    return EngineRecord(name, plan, False, res.sidecar.build_seconds, res.plan_bytes, res.sidecar)   # the builder's


def build_engine_set(out_dir: str | Path, sources: Mapping[str, WeightSource], engines: Sequence[str],
                     opts: NetworkOptions, config: BuildConfig, *, flavor: str | None = None, force: bool = False,
                     runtime_defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build ``engines`` into ``out_dir`` and write ``build_config.json``; returns its content.

    The directory is updated as a unit under its lock (a concurrent build fails at once); temp files of killed
    runs are removed; the index keeps every engine already there that still matches (plan hash, weights,
    options, build config) — also those of the architecture not given now — and leaves out, with a warning,
    the ones that do not."""
    out = Path(out_dir)
    if not engines:
        raise ValueError(f"no engines to build; choose from {sorted(networks.NETWORKS)}")
    unknown = [e for e in engines if e not in networks.NETWORKS]
    if unknown:
        raise ValueError(f"unknown engines {unknown}; choose from {sorted(networks.NETWORKS)}")
    _check_pairs(sources)
    with locked_dir(out, "trtnet build-engines"):
        t_all = time.perf_counter()
        records = []
        previous = _previous_index(out)
        for i, name in enumerate(engines, 1):
            arch = networks.NETWORKS[name].architecture
            log.info("[%d/%d] %s (%s, %s) — %.0f s elapsed", i, len(engines), name, arch, opts.precision,
                     time.perf_counter() - t_all)
            records.append(build_engine(name, sources[arch], out, opts, config, flavor=flavor, force=force,
                                        previous=previous))
        records += _current_others(out, sources, previous, engines, opts, config, flavor)
        summary = _summary(records, sources, previous, opts, config, flavor, runtime_defaults or {})
        atomic_write_bytes(out / BUILD_CONFIG, (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode())
        for r in records:
            if not r.cached:
                _remove_superseded_refits(out, r.name)
    log.info("done: %d engines (%d rebuilt) in %.1f s → %s", len(records), sum(not r.cached for r in records),
             time.perf_counter() - t_all, out / BUILD_CONFIG)
    return summary


def remove_plan(plan: Path, why: str) -> None:
    """Delete a plan the index no longer names, with its sidecar and layer table."""
    for f in (plan, sidecar_path(plan), layers_path(plan)):
        f.unlink(missing_ok=True)
    log.info("removed %s (%s)", plan, why)


def _remove_superseded_refits(out: Path, name: str) -> None:
    """``name`` was just rebuilt as ``<name>.plan`` and the index written: its refitted plans are named nowhere."""
    for plan in out.glob(f"{name}.refit-*.plan"):
        remove_plan(plan, f"superseded by {name}.plan")


def _check_pairs(sources: Mapping[str, WeightSource]) -> None:
    """Before any build: the acoustic model's mels fit the vocoder (``runtime.acoustic.check_pair``)."""
    from trtnet.runtime.acoustic import check_pair
    acoustic = [a for a in sources if a in ACOUSTIC_ENGINES]
    vocoder = [a for a in sources if a in VOCODER_ENGINES]
    if acoustic and vocoder:
        with WeightStore.open(sources[acoustic[0]].h5_path) as a, WeightStore.open(sources[vocoder[0]].h5_path) as v:
            check_pair(a.config, v.config)


def _previous_index(out: Path) -> dict[str, Any]:
    """The directory's current build_config.json, or {} when there is none or it is unreadable."""
    try:
        data = json.loads((out / BUILD_CONFIG).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("%s: unreadable (%s); writing a new index", out / BUILD_CONFIG, e)
        return {}
    return data if isinstance(data, dict) else {}


def _weights_sha(arch: str, sources: Mapping[str, WeightSource], previous: Mapping[str, Any]) -> str | None:
    """The weights hash engines of ``arch`` must carry: the given source's, else the previous index's."""
    if arch in sources:
        return file_sha256(sources[arch].h5_path)
    return (previous.get("inputs", {}).get(arch) or {}).get("weights_sha256")


def _current_others(out: Path, sources: Mapping[str, WeightSource], previous: Mapping[str, Any],
                    built: Sequence[str], opts: NetworkOptions, config: BuildConfig, flavor: str | None
                    ) -> list[EngineRecord]:
    """Engines already in ``out`` that were not asked for now but match the weights (given now, or recorded in
    the previous index) and options, so build_config.json lists every usable engine of the directory."""
    fl = flavor_mod.resolve(flavor)
    keep = []
    for name, nd in networks.NETWORKS.items():
        plan = next((p for p in _plans(out, name, previous) if p.exists()), None)
        if name in built or plan is None:
            continue
        other = _other_model(nd.architecture, sources)
        if other:
            log.warning("%s: left out of %s (an engine directory holds one %s; this build's is %s)", plan,
                        BUILD_CONFIG, *other)
            continue
        sha = _weights_sha(nd.architecture, sources, previous)
        side = _cached(plan, cache_key(name, sha, opts, config, fl)) if sha else None
        if side is None:
            log.warning("%s: left out of %s (built from other weights or options; rebuild it to use it)",
                        plan, BUILD_CONFIG)
            continue
        keep.append(EngineRecord(name, plan, True, side.build_seconds or 0.0, plan.stat().st_size, side))
    return keep


def _other_model(arch: str, sources: Mapping[str, WeightSource]) -> tuple[str, str] | None:
    """(role, the build's architecture) when ``arch`` is a vocoder or acoustic model other than the one of this
    build's ``sources`` (an engine directory holds one of each), else None."""
    for role, archs in (("vocoder", VOCODER_ENGINES), ("acoustic model", ACOUSTIC_ENGINES)):
        given = [a for a in sources if a in archs]
        if arch in archs and given and given[0] != arch:
            return role, given[0]
    return None


def _summary(records: Sequence[EngineRecord], sources: Mapping[str, WeightSource], previous: Mapping[str, Any],
             opts: NetworkOptions, config: BuildConfig, flavor: str | None, defaults: Mapping[str, Any]
             ) -> dict[str, Any]:
    fl = flavor_mod.resolve(flavor)
    inputs, hparams = {}, {}
    kept = {networks.NETWORKS[r.name].architecture: r for r in records}
    for arch in set(kept) - set(sources):   # engines kept from the previous index: their inputs and hparams too
        inputs[arch], hparams[arch] = previous["inputs"][arch], dict(kept[arch].sidecar.extra["config"])
    defaults = {**previous.get("runtime_defaults", {}), **defaults} if set(kept) - set(sources) else defaults
    for arch, src in sources.items():
        with WeightStore.open(src.h5_path) as store:
            hparams[arch] = store.config.to_dict()
            inputs[arch] = {"checkpoint": str(src.checkpoint) if src.checkpoint else None,
                            "checkpoint_sha256": store.source_sha256, "weights": str(src.h5_path),
                            "weights_sha256": store.file_sha256, "demo": src.demo}
    targets = records[0].sidecar.targets if records else {}
    return {
        "format": INDEX_FORMAT, "trtnet_version": __version__, "trtnet_code_sha256": code_digest(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "flavor": fl.name, "trt_version": str(fl.version), "targets": dict(targets), "inputs": inputs,
        "hparams": hparams, "vocoder": next((a for a in sorted(hparams) if a in VOCODER_ENGINES), None),
        "acoustic": next((a for a in sorted(hparams) if a in ACOUSTIC_ENGINES), None),
        "options": opts.to_json(), "build": config.to_json(), "runtime_defaults": dict(defaults),
        "engines": {r.name: {"plan": r.plan.name, "sidecar": sidecar_path(r.plan).name,
                             "sidecar_sha256": file_sha256(sidecar_path(r.plan)), "cached": r.cached,
                             "build_seconds": r.seconds, "plan_bytes": r.plan_bytes,
                             "inputs": [s.to_json() for s in r.sidecar.io.inputs],
                             "outputs": [s.to_json() for s in r.sidecar.io.outputs]} for r in records},
    }
