"""The import graph of trtnet's sources, read with ``ast`` (nothing imported): every ``import`` / ``from … import``
counts, function-level ones included; those under ``if TYPE_CHECKING:`` do not (they never run).  Folders map to
the installed namespace through setup.cfg's ``package_dir`` (layers/ is trtnet.layers, ...)."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Installed module name → source file, for every .py under the package folders of setup.cfg."""
    c = configparser.ConfigParser()
    c.read(root / "setup.cfg")
    dirs = dict(line.split(" = ") for line in c["options"]["package_dir"].strip().splitlines())
    out: dict[str, Path] = {}
    for pkg, d in dirs.items():
        base = root / d
        for f in base.rglob("*.py"):
            rel = f.relative_to(base).with_suffix("").parts
            if any(p == "__pycache__" for p in rel):
                continue
            if rel[-1] == "__init__":
                rel = rel[:-1]
            name = ".".join((pkg, *rel))
            if name.startswith("trtnet.") and not name.startswith(pkg):
                continue       # trtnet/ holds no layers/ etc.; a nested package_dir wins
            out.setdefault(name, f)
    return out


def _imports(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for e in node.orelse:
                yield from ([e] if isinstance(e, (ast.Import, ast.ImportFrom)) else _imports(e))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _imports(node)


def _targets(mods: dict[str, Path], cur: str, node: ast.AST) -> list[str]:
    pkg = cur if mods[cur].name == "__init__.py" else cur.rsplit(".", 1)[0]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = pkg.split(".")
            parts = parts[:len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
    return [a.name for a in node.names]


def import_edges(mods: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module → the trtnet modules it imports (anywhere in its body)."""
    mods = module_files() if mods is None else mods
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            for t in _targets(mods, m, node):
                while t and t not in mods:
                    t = t.rsplit(".", 1)[0] if "." in t else ""
                if t and t != m:
                    edges[m].add(t)
    return edges


def external_imports(mods: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module → the top-level names of what it imports from outside trtnet (``torch``, ``argparse``, ...)."""
    mods = module_files() if mods is None else mods
    out: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            out[m] |= {n.split(".")[0] for n in names if n and n.split(".")[0] != "trtnet"}
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found
