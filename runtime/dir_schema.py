"""The schema of an engine directory's index (``build_config.json``, format 1) and of its sidecars against it.

Every command that opens an engine directory reads it through ``engine_dir.read_build_config``, which calls
:func:`check_index` and :func:`check_sidecars` before any work: types and ranges of every value the runtime uses
(``options``, ``runtime_defaults``, ``hparams``), plan and sidecar names confined to the directory, and each plan's
sidecar (verified against the plan's sha256 and the index's record of it) built for this slot with these options.
A failure names the file and the key, expected vs found.  An index without ``format`` was written before the key
existed, with the same layout, and is read as format 1.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Mapping

from ..sidecar import INDEX_FORMAT
from . import ranges
from .engine import EngineLoadError
from .ranges import INT32_MAX          # TensorRT shape values (steps, batch, tokens) are int32
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class IndexSchemaError(EngineLoadError):
    """A value of build_config.json is out of its schema; the message names the file and the key."""


def _int(lo: int, hi: int = INT32_MAX) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            return f"a whole number in [{lo}, {hi}]"
        return None
    return check


def _in(r: ranges.Range) -> Callable[[Any], str | None]:
    """A run-time setting in its one shared range (``runtime/ranges.py``)."""
    return lambda v: None if not isinstance(v, bool) and isinstance(v, (int, float)) and r.contains(v) \
        else r.describe()


def _one_of(*choices: Any) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"one of {list(choices)}"


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda v: None if v is None else check(v)


def _option_checks() -> dict[str, Callable[[Any], str | None]]:
    from trtnet.layers.options import DROPOUT_MODES, NOISE_MODES, PRECISIONS
    boolean = _one_of(True, False)
    return {"precision": _one_of(*PRECISIONS), "max_batch": _int(1), "opt_batch": _int(1), "max_text_len": _int(1),
            "opt_text_len": _int(1), "max_decoder_steps": _optional(_int(1)), "opt_decoder_steps": _int(1),
            "dropout": _one_of(*DROPOUT_MODES), "noise": _one_of(*NOISE_MODES), "alignments": boolean,
            "fuse_denoiser": boolean}


def default_checks() -> dict[str, Callable[[Any], str | None]]:
    """Run-time defaults (and the CLI flags that override them): their one range each."""
    return {"gate_threshold": _in(ranges.GATE_THRESHOLD), "max_decoder_steps": _int(1),
            "sigma": _in(ranges.SIGMA), "denoiser_strength": _in(ranges.DENOISER_STRENGTH),
            "pace": _in(ranges.PACE), "pitch_scale": _in(ranges.PITCH_SCALE), "pitch_shift": _in(ranges.PITCH_SHIFT)}


def _check_map(f: Path, where: str, values: Any, checks: Mapping[str, Callable[[Any], str | None]],
               required: tuple[str, ...] = ()) -> None:
    if not isinstance(values, dict):
        raise IndexSchemaError(f"{f}: '{where}' must be an object, found {type(values).__name__}")
    missing = [k for k in required if k not in values]
    if missing:
        raise IndexSchemaError(f"{f}: {where} lack {missing}")
    for key, v in values.items():
        if key not in checks:
            raise IndexSchemaError(f"{f}: {where}.{key}: unknown key (this trtnet reads {sorted(checks)})")
        want = checks[key](v)
        if want:
            raise IndexSchemaError(f"{f}: {where}.{key} must be {want}, found {v!r}")


def confined_name(f: Path, key: str, name: Any, suffix: str) -> str:
    """``name`` if it is a plain file name ending in ``suffix`` (so the file is inside the directory)."""
    if (not isinstance(name, str) or not name.endswith(suffix) or "/" in name or "\\" in name
            or name.startswith(".") or "\0" in name):
        raise IndexSchemaError(f"{f}: {key} must be a file name in the engine directory ending in {suffix}, "
                          f"found {name!r}")
    return name


def check_finite(value: Any, f: Path, where: str = "") -> None:
    """Refuse NaN and Infinity anywhere in a parsed index (they are not JSON), naming the key."""
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
        raise IndexSchemaError(f"{f}: {where} is {name}, which is not JSON (build_config.json is strict JSON); "
                               "rebuild the engines or correct the value")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        check_finite(v, f, f"{where}.{k}" if where else str(k))


def check_index(cfg: dict[str, Any], f: Path) -> None:
    """Schema of a parsed build_config.json ``f`` (its required top-level keys already checked)."""
    fmt = cfg.get("format", INDEX_FORMAT)
    if fmt != INDEX_FORMAT:
        raise IndexSchemaError(f"{f}: format {fmt!r}; this trtnet reads format {INDEX_FORMAT}: rebuild the engines")
    _check_map(f, "options", cfg["options"], _option_checks(),
               required=("max_batch", "max_text_len", "dropout", "noise"))
    _check_map(f, "runtime_defaults", cfg.get("runtime_defaults", {}), default_checks())
    steps, cap = cfg.get("runtime_defaults", {}).get("max_decoder_steps"), cfg["options"].get("max_decoder_steps")
    if steps is not None and cap is not None and steps > cap:
        raise IndexSchemaError(f"{f}: runtime_defaults.max_decoder_steps {steps} exceeds options.max_decoder_steps {cap}")
    for name, entry in cfg["engines"].items():
        if not isinstance(entry, dict):
            raise IndexSchemaError(f"{f}: engines.{name} must be an object, found {type(entry).__name__}")
        confined_name(f, f"engines.{name}.plan", entry.get("plan"), ".plan")
        if "sidecar" in entry:
            confined_name(f, f"engines.{name}.sidecar", entry["sidecar"], ".json")
        if entry.get("sidecar_sha256") is not None and not _SHA256.match(str(entry["sidecar_sha256"])):
            raise IndexSchemaError(f"{f}: engines.{name}.sidecar_sha256 must be a sha256 hex digest")
    _check_hparams(cfg["hparams"], f)


def _check_hparams(hparams: dict[str, Any], f: Path) -> None:
    from trtnet.weights.config import CONFIG_CLASSES
    for arch, values in hparams.items():
        if arch not in CONFIG_CLASSES:
            raise IndexSchemaError(f"{f}: hparams.{arch}: unknown architecture (known: {sorted(CONFIG_CLASSES)})")
        try:
            CONFIG_CLASSES[arch].from_dict(values)
        except (TypeError, ValueError, KeyError) as e:
            raise IndexSchemaError(f"{f}: hparams.{arch}: {e}") from None


def check_sidecars(root: Path, cfg: dict[str, Any], names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The verified sidecar of each engine in ``names`` (default: all listed): the plan is a regular file, the one
    its sidecar describes, the sidecar the one the index records, built as this slot's network with these options
    by code whose digest it records."""
    from trtnet.sidecar import SidecarError, verified_sidecar
    f = root / "build_config.json"
    out = {}
    for name in names or tuple(cfg["engines"]):
        plan = root / cfg["engines"][name]["plan"]
        if plan.exists() and not plan.is_file():
            raise IndexSchemaError(f"{plan}: not a regular file (engines.{name}.plan of {f})")
        side = verified_sidecar(plan)
        if side.network != name:
            raise SidecarError(f"{plan}: holds the {side.network} network, but {f} lists it as the {name} engine; "
                               "rebuild it")
        built = side.extra.get("options")
        if built is not None and built != cfg["options"]:
            diff = sorted(k for k in set(built) | set(cfg["options"]) if built.get(k) != cfg["options"].get(k))
            what = ", ".join(f"{k} {built.get(k)!r} vs {cfg['options'].get(k)!r}" for k in diff)
            raise SidecarError(f"{plan}: built with other options than {f} records ({what}); rebuild it")
        out[name] = side
    return out
