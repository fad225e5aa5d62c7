"""The backend interface: both backends implement the same ops and control flow as the declared Protocol, their
variant tables (elementwise, unary, reduce, fill, slice modes) are exactly what the ops emit, and nothing above
the backends reaches into a backend's internals (only Graph talks to its backend)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import trtnet
from trtnet.backends import eager as eager_mod
from trtnet.backends import trt as trt_mod
from trtnet.backends.eager import EagerBackend
from trtnet.backends.protocol import VARIANTS, Backend, op_kinds
from trtnet.backends.trt import TrtBackend
from trtnet.errors import GraphError
from trtnet.graph import Graph

ROOT = Path(trtnet.__file__).resolve().parent
LAYERS = Path(inspect.getfile(__import__("trtnet.layers", fromlist=["common"]))).resolve().parent


def test_both_backends_implement_the_protocol_and_the_same_op_set():
    declared = op_kinds(Backend)
    assert declared == op_kinds(TrtBackend) == op_kinds(EagerBackend), (
        declared ^ op_kinds(TrtBackend), declared ^ op_kinds(EagerBackend))
    assert {"ctl_loop", "ctl_cond", "op_elementwise", "op_conv1d"} <= declared
    for g in (Graph.trt("p"), Graph.eager({})):
        assert isinstance(g.backend, Backend)
        for name in declared:   # same parameter names, so Graph.apply's keywords fit both
            want = list(inspect.signature(getattr(Backend, name)).parameters)
            assert list(inspect.signature(getattr(type(g.backend), name)).parameters) == want, name


def test_variant_tables_equal_the_declared_vocabulary():
    assert set(trt_mod.ELEMENTWISE) == set(VARIANTS["elementwise"])
    assert set(eager_mod.ELEMENTWISE) | {"div", "floor_div"} == set(VARIANTS["elementwise"])  # both special-cased
    assert set(trt_mod.UNARY) | set(trt_mod.ACTIVATION) == set(eager_mod.UNARY) == set(VARIANTS["unary"])
    assert set(trt_mod.REDUCE) == set(eager_mod.REDUCE) == set(VARIANTS["reduce"])
    assert set(trt_mod.SAMPLE_MODE) == set(VARIANTS["slice"])
    fill_src = inspect.getsource(EagerBackend.op_fill)
    assert set(re.findall(r'op == "(\w+)"', fill_src)) == set(VARIANTS["fill"])


def test_the_ops_emit_every_declared_variant_and_no_other():
    src = "\n".join(p.read_text() for p in sorted((ROOT / "ops").glob("*.py")))
    emitted = set(re.findall(r'\b_(?:binary|unary|logical|reduce)\("(\w+)"', src))
    emitted |= set(re.findall(r'\bop="(\w+)"', src))
    emitted |= set(re.findall(r'_fill\(g, [^,]+, "(\w+)"', src))
    declared = set(VARIANTS["elementwise"]) | set(VARIANTS["unary"]) | set(VARIANTS["reduce"]) | set(VARIANTS["fill"])
    assert emitted == declared, (sorted(emitted - declared), sorted(declared - emitted))
    kinds = set(re.findall(r'\.apply(?:_multi)?\("(\w+)"', src))
    assert {f"op_{k}" for k in kinds} == {k for k in op_kinds(Backend) if k.startswith("op_")}


def _reaches_into_a_backend(path: Path, attrs: tuple[str, ...]) -> list[str]:
    """Imports of trtnet.backends and uses of ``attrs`` (attribute names) in a module."""
    hits = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and "backends" in node.module.split("."):
            hits.append(f"{path.name}:{node.lineno} imports {node.module}")
        if isinstance(node, ast.Attribute) and node.attr in attrs:
            hits.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    return hits


def test_ops_loop_build_and_layers_go_through_the_graph():
    """Ops and loops never branch on the backend (Graph.control dispatches); build and layers use Graph's API."""
    files = [ROOT / "loop.py", ROOT / "control_flow.py", *sorted((ROOT / "ops").glob("*.py"))]
    hits = [h for f in files for h in _reaches_into_a_backend(f, ("backend", "is_eager"))]
    for f in [ROOT / "build.py", *sorted(LAYERS.rglob("*.py"))]:
        hits += _reaches_into_a_backend(f, ("backend",))
    assert not hits, hits


def test_graph_api_for_build_and_tools():
    g = Graph.trt("api", static_dims={"B": 2})
    g.dim("B", 1, 2, 4)
    x = g.input("x", "float32", ("B", 3))
    g.output("y", x * 2.0)
    assert g.static_dims == {"B": 2} and g.num_layers == g.network.num_layers >= 2
    assert g.flavor.name in ("tensorrt", "tensorrt_rtx") and hasattr(g.trt_logger, "messages")
    e = Graph.eager({"x": np.ones((2, 3), np.float32)})
    assert e.static_dims == {}
    for attr in ("network", "num_layers", "builder", "flavor", "trt_logger"):
        with pytest.raises(GraphError, match="only TensorRT graphs"):
            getattr(e, attr)


def test_only_the_choke_point_calls_tensorrt_add_methods():
    """Every layer goes through ``TrtBackend.add``; the only other ``add_*`` calls create what is not a layer:
    network inputs (``input``) and loop / conditional regions (``new_loop``, ``new_conditional``)."""
    allowed = {"add", "input", "new_loop", "new_conditional"}
    found = []
    for path in sorted((ROOT / "backends").glob("*.py")) + [ROOT / "loop.py", ROOT / "graph.py"]:
        tree = ast.parse(path.read_text())
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr.startswith("add_") and fn.name not in allowed):
                    found.append(f"{path.name}:{node.lineno} {fn.name} calls {node.func.attr}")
    assert found == [], found
