"""trtnet inspect PLAN: the sidecar, the I/O spec and the layers grouped by scope (or a weights file's attributes
and config, ``inspect_weights``).

The layer table comes from ``PLAN.layers.json`` (written at build time, readable without a GPU); with a GPU that
can deserialize the plan, ``--engine-info`` adds TensorRT's engine-inspector JSON grouped the same way."""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from .inspect_loops import print_loop_layers
from .inspect_weights import is_weights_file, print_weights

from .argtypes import POSITIVE_INT


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("plan", help="a .plan file written by trtnet, or a weights file (.h5) from extract-weights")
    p.add_argument("--depth", type=POSITIVE_INT, default=2, help="scope levels to group layers by (default 2)")
    p.add_argument("--engine-info", action="store_true", help="also print TensorRT's engine inspector (needs a GPU; default off)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables (default: tables)")


def group_layers(rows: list[dict], depth: int) -> dict[str, Counter]:
    groups: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        scope = "/".join(row["name"].split("/")[:depth]) if "/" in row["name"] else "(top)"
        groups[scope][row["type"]] += 1
    return dict(sorted(groups.items()))


def run(args: argparse.Namespace) -> int:
    from trtnet.build import layers_path
    from trtnet.sidecar import verified_sidecar
    plan = Path(args.plan)
    if not plan.exists():
        raise FileNotFoundError(f"{plan}: no such plan")
    if is_weights_file(plan):
        print_weights(plan, args.json)
        return 0
    if plan.is_dir() or plan.suffix != ".plan":
        hint = f" (e.g. {next(iter(sorted(plan.glob('*.plan'))), plan / 'encoder.plan')})" if plan.is_dir() else ""
        raise ValueError(f"{plan}: not a .plan file; inspect takes a plan written by trtnet build-engines{hint} or a "
                         "weights file (.h5)")
    side = verified_sidecar(plan)   # the plan is the one its sidecar describes (sha256), or an error
    lp = layers_path(plan)
    rows = json.loads(lp.read_text()) if lp.exists() else []
    groups = group_layers(rows, args.depth)
    info, why_not = _engine_info(plan) if args.engine_info else (None, None)
    if args.json:
        print(json.dumps({"sidecar": side.to_json(), "layers_by_scope": {k: dict(v) for k, v in groups.items()},
                          "engine_info": info, "engine_info_unavailable": why_not}, indent=2, default=str))
        return 0
    print(f"{plan}: network {side.network}, {side.flavor} {side.trt_version}, trtnet {side.trtnet_version}, "
          f"{plan.stat().st_size / 1e6:.1f} MB, built in {_duration(side.build_seconds)}")
    print(f"targets: {side.targets}; weights sha256: {side.weights_sha256}")
    for kind, specs in (("input", side.io.inputs), ("output", side.io.outputs)):
        for s in specs:
            extra = " (shape tensor)" if s.is_shape_tensor else ""
            print(f"  {kind:6s} {s.name:24s} {s.dtype:8s} {list(s.shape)}{extra}")
    for name, r in side.io.dims.items():
        print(f"  dim    {name:24s} min {r.min}  opt {r.opt}  max {r.max}")
    print(f"layers: {len(rows)} (from {lp.name})" if rows else f"layers: no {lp.name} beside the plan")
    for scope, counts in groups.items():
        print(f"  {scope:40s} {sum(counts.values()):5d}  " + ", ".join(f"{t} {n}" for t, n in counts.most_common(5)))
    print_loop_layers(side)
    if why_not:
        print(f"engine layers after fusion: not available here ({why_not})")
    if info is not None:
        engine_rows = [{"name": str(layer.get("Name", layer)) if isinstance(layer, dict) else str(layer),
                        "type": str(layer.get("LayerType", "?")) if isinstance(layer, dict) else "?"}
                       for layer in info.get("Layers", [])]
        print(f"engine layers after fusion: {len(engine_rows)} (TensorRT engine inspector)")
        for scope, counts in group_layers(engine_rows, args.depth).items():
            print(f"  {scope:40s} {sum(counts.values()):5d}  " + ", ".join(f"{t} {n}" for t, n in counts.most_common(5)))
    return 0


def _engine_info(plan: Path) -> tuple[dict | None, str | None]:
    """(TensorRT's engine inspector JSON, None), or (None, why not) where the plan cannot be loaded here (no GPU,
    another flavour): the rest of ``inspect`` still prints."""
    from trtnet.runtime.engine import Engine, EngineLoadError
    try:
        with Engine.load(plan) as engine:
            trt = engine.trt
            insp = engine.trt_engine.create_engine_inspector()
            return json.loads(insp.get_engine_information(trt.LayerInformationFormat.JSON)), None
    except EngineLoadError as e:
        return None, str(e)


def _duration(seconds: float | None) -> str:
    from trtnet.runtime.measures import fmt_duration
    return "an unrecorded time" if seconds is None else fmt_duration(seconds)
