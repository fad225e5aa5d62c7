"""Every TensorRT name trtnet uses exists in the TensorRT 10.x and 11.x Python bindings.

The real ``tensorrt`` bindings are ordinary wheels on PyPI (``tensorrt-cu12-bindings`` 10.x,
``tensorrt-cu13-bindings`` 11.x); they cannot be imported without TensorRT's libraries, but their pybind11
module holds every class, method, attribute and enum-value name as a string.  The names trtnet uses are the
identifiers in its TensorRT-facing sources (attribute and method names after a dot, enum and class names in
string tables, ``add_<kind>`` of every emitted layer kind) that the TensorRT-RTX bindings — which run all of
trtnet here — define.  The test downloads the wheels with pip (cached in pytest's cache) and skips, saying why,
when they cannot be fetched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = ["trtnet/backends/trt.py", "trtnet/backends/control_trt.py", "trtnet/trt_logger.py",
           "trtnet/ops/control.py", "trtnet/build.py", "trtnet/dtypes.py", "trtnet/flavor.py",
           "runtime/engine.py", "runtime/session.py", "tools/cmd_inspect.py", "trtnet/interpret/readback.py",
           "trtnet/interpret/plan.py", "trtnet/refit.py"]
WHEELS = {"10.x": "tensorrt-cu12-bindings<11", "11.x": "tensorrt-cu13-bindings>=11,<12"}
# TensorRT-RTX-only names: trtnet uses them only where ``flavor.is_rtx`` (build targets, runtime cache, RTX's own
# CUDA-graph capture); with TensorRT 10.x/11.x those branches are not taken (see the README)
RTX_ONLY = {"ComputeCapability", "SM80", "SM86", "SM89", "SM120", "compute_capability", "num_compute_capabilities",
            "set_compute_capability", "CudaGraphStrategy", "WHOLE_GRAPH_CAPTURE", "cuda_graph_strategy",
            "create_runtime_cache", "set_runtime_cache", "deserialize"}
NOT_TENSORRT = {"modules", "load", "compute_capabilities"}   # sys.modules, Engine.load, BuildConfig's own field


def _defines(so: bytes, name: str) -> bool:
    """``name`` as a C string of the module (the linker may keep it as the tail of a longer string)."""
    return name.encode() + b"\x00" in so


def _rtx_module() -> bytes:
    import tensorrt_rtx
    return Path(sys.modules[tensorrt_rtx.Builder.__module__].__file__).read_bytes()


def used_names() -> set[str]:
    """Names in trtnet's TensorRT-facing sources that the TensorRT-RTX bindings define."""
    missing = [s for s in SOURCES if not (ROOT / s).exists()]
    assert not missing, f"TensorRT-facing sources moved or gone: {missing}; update SOURCES"
    text = "\n".join((ROOT / s).read_text() for s in SOURCES)
    found = set(re.findall(r"\.([A-Za-z_]\w*)", text))
    found |= set(re.findall(r'"(I[A-Z]\w+|[A-Z][A-Z0-9_]{2,})"', text))
    found |= {"add_" + k for k in re.findall(r'(?:self|be)\.(?:add|out)\(\s*[\w.]+,\s*"(\w+)"', text)}
    found |= {k for k in re.findall(r"\b([a-z_]+_nd|first_transpose|reshape_dims|num_groups|batch_axis|"
                                    r"sequence_axis|axes|alpha|beta)\b", text)}
    rtx = _rtx_module()
    return {n for n in found - NOT_TENSORRT if _defines(rtx, n)}


def _wheel_module(version: str, spec: str, cache: Path) -> bytes:
    folder = cache / version
    wheels = list(folder.glob("*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", str(folder)],
                           capture_output=True, text=True, timeout=300)
        wheels = list(folder.glob("*.whl"))
        if r.returncode or not wheels:
            why = f"cannot fetch {spec} with pip: {(r.stderr or r.stdout).strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(why + " (CI must run this check, not skip it)")
            pytest.skip(why)
    with zipfile.ZipFile(wheels[0]) as z:
        so = [n for n in z.namelist() if n.endswith(".so") and "/tensorrt" in n]
        if not so:
            pytest.fail(f"{wheels[0].name} has no tensorrt .so: {z.namelist()[:10]}")
        return z.read(so[0])


def test_the_names_are_found_in_the_rtx_bindings():
    names = used_names()
    for must in ("add_shuffle", "add_loop", "IShuffleLayer", "first_transpose", "STRICT_BOUNDS", "CONCATENATE",
                 "build_serialized_network", "set_input", "padding_nd", "TRANSPOSE"):
        assert must in names, must
    assert len(names) > 150


@pytest.mark.parametrize("version", sorted(WHEELS))
def test_every_tensorrt_name_trtnet_uses_exists(version, request, record_property):
    cache = Path(request.config.cache.mkdir("trtnet_trt_bindings"))
    so = _wheel_module(version, WHEELS[version], cache)
    missing = sorted(n for n in used_names() if not _defines(so, n))
    record_property("missing", missing)
    assert set(missing) <= RTX_ONLY, f"TensorRT {version} bindings lack {sorted(set(missing) - RTX_ONLY)}"
    assert len(used_names()) > 150
