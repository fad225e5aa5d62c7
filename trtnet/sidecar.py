"""The JSON sidecar written beside every plan (``name.plan`` → ``name.json``).

It makes a plan self-describing: which TensorRT flavour and version built it, for which GPUs, its I/O spec
(names, dtypes, shapes, profile ranges), the build config, the hash of the weights it was built from, and the
weight manifest (every weight constant's layer → weights-file keys, transform, dtype, shape: :mod:`trtnet.manifest`;
None in sidecars written before manifests).
The runtime checks a plan against it before deserializing and never retypes names or shapes.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .files import atomic_write_bytes, file_sha256
from .iospec import IOSpec

SIDECAR_FORMAT = 1


class SidecarError(ValueError):
    """A sidecar is missing, unreadable or of an unknown format; the message names the file."""


@dataclass(frozen=True)
class Sidecar:
    network: str
    flavor: str                      # "tensorrt" or "tensorrt_rtx"
    trt_version: str
    trtnet_version: str
    io: IOSpec
    build_config: Mapping[str, Any] = field(default_factory=dict)
    # tensorrt: {"device": "NVIDIA H100", "compute_capability": "9.0"}; rtx: {"compute_capabilities": ["SM80", ...]}
    targets: Mapping[str, Any] = field(default_factory=dict)
    weights_sha256: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    plan_sha256: str | None = None
    build_seconds: float | None = None
    weights_manifest: Mapping[str, Any] | None = None   # trtnet.manifest.to_json of the graph's manifest

    def manifest(self) -> dict[str, Any] | None:
        """The weight manifest's entries by layer name (:class:`trtnet.manifest.WeightEntry`), or None."""
        from .manifest import from_json
        return from_json(self.weights_manifest)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SIDECAR_FORMAT,
            "network": self.network,
            "flavor": self.flavor,
            "trt_version": self.trt_version,
            "trtnet_version": self.trtnet_version,
            "io": self.io.to_json(),
            "build_config": dict(self.build_config),
            "targets": dict(self.targets),
            "weights_sha256": self.weights_sha256,
            "extra": dict(self.extra),
            "plan_sha256": self.plan_sha256,
            "build_seconds": self.build_seconds,
            "weights_manifest": None if self.weights_manifest is None else dict(self.weights_manifest),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any], source: str = "<sidecar>") -> "Sidecar":
        if d.get("format") != SIDECAR_FORMAT:
            raise SidecarError(f"{source}: sidecar format {d.get('format')!r}, this trtnet reads {SIDECAR_FORMAT}")
        try:
            return cls(
                network=d["network"], flavor=d["flavor"], trt_version=d["trt_version"],
                trtnet_version=d["trtnet_version"], io=IOSpec.from_json(d["io"]),
                build_config=d.get("build_config", {}), targets=d.get("targets", {}),
                weights_sha256=d.get("weights_sha256"), extra=d.get("extra", {}),
                plan_sha256=d.get("plan_sha256"), build_seconds=d.get("build_seconds"),
                weights_manifest=d.get("weights_manifest"),
            )
        except KeyError as e:
            raise SidecarError(f"{source}: sidecar lacks key {e}") from None

    def write(self, path: str | os.PathLike) -> None:
        atomic_write_bytes(Path(path), (json.dumps(self.to_json(), indent=2) + "\n").encode())

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Sidecar":
        p = Path(path)
        try:
            data = json.loads(p.read_text(), parse_constant=_refuse_constant)
        except FileNotFoundError:
            if p.with_suffix(".plan").exists():
                raise SidecarError(f"{p}: no sidecar (every plan needs the JSON written beside it by "
                                   "trtnet)") from None
            raise SidecarError(f"{p.with_suffix('.plan')}: no such plan (nor its sidecar {p.name})") from None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise SidecarError(f"{p}: unreadable sidecar: {e}") from None
        if not isinstance(data, dict):
            raise SidecarError(f"{p}: a sidecar is a JSON object, found {type(data).__name__}")
        return cls.from_json(data, str(p))


def _refuse_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not JSON (sidecars are strict JSON)", name, 0)


def verified_sidecar(plan_path: str | os.PathLike) -> Sidecar:
    """The sidecar of ``plan_path`` after checking that the plan is the one it describes (its sha256 equals the
    sidecar's ``plan_sha256``) and, where the directory's index records it, that the sidecar is the one written
    by the build.  SidecarError names the file when it is missing, empty, truncated, replaced (e.g. by a build
    killed between writing the plan and its sidecar), edited, or has no recorded hash."""
    plan = Path(plan_path)
    side = Sidecar.read(sidecar_path(plan))
    try:
        st = plan.stat()
    except FileNotFoundError:
        raise SidecarError(f"{plan}: no such plan (its sidecar {sidecar_path(plan).name} is there)") from None
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError(f"{plan}: not a regular file (a plan is one, written by trtnet build-engines)")
    if st.st_size == 0:
        raise SidecarError(f"{plan}: empty plan file; rebuild it (trtnet build-engines --force)")
    if not side.plan_sha256:
        raise SidecarError(f"{sidecar_path(plan)}: records no plan_sha256, so {plan.name} cannot be checked; "
                           "rebuild it")
    digest = file_sha256(plan)
    if digest != side.plan_sha256:
        raise SidecarError(f"{plan}: sha256 {digest[:12]}… differs from its sidecar's {side.plan_sha256[:12]}… "
                           "(truncated, edited, or a build was interrupted); rebuild it")
    recorded = _indexed_sidecar_sha256(plan)
    if recorded is not None and recorded != file_sha256(sidecar_path(plan)):
        raise SidecarError(f"{sidecar_path(plan)}: differs from the sidecar {plan.parent / INDEX} records for "
                           f"{plan.name} (edited after the build, or a build was interrupted); rebuild it")
    return side


INDEX = "build_config.json"   # an engine directory's index (trtnet.engines.engine_set) records each sidecar's hash
INDEX_FORMAT = 1              # its schema version (runtime/dir_schema.py checks it)


def _indexed_sidecar_sha256(plan: Path) -> str | None:
    """The sidecar hash the directory's index records for ``plan``, or None when there is no such record."""
    try:
        index = json.loads((plan.parent / INDEX).read_text())
    except (OSError, ValueError):
        return None
    engines = index.get("engines") if isinstance(index, dict) else None
    for entry in (engines or {}).values():
        if isinstance(entry, dict) and entry.get("plan") == plan.name:
            return entry.get("sidecar_sha256")
    return None


def sidecar_path(plan_path: str | os.PathLike) -> Path:
    """``engines/decoder_loop.plan`` → ``engines/decoder_loop.json``."""
    return Path(plan_path).with_suffix(".json")
