"""Packaging and the house's import rules (docs/architecture.md states them): every package directory is listed in
setup.cfg; each module imports on its own; and, read from the sources (function-level imports count):
no import cycles (save the declared tensor → ops one), no upward imports between the layers of the house,
layers/ and runtime/ free of torch, interpret/ free of the graph core and the layers, argparse only in tools/."""

from __future__ import annotations

import configparser
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from import_graph import cycles, external_imports, import_edges, module_files

ROOT = Path(__file__).resolve().parents[1]

#: The layers of the house, bottom to top: a module imports from its own layer and those below, never above.
HOUSE = (
    ("base", ("trtnet", "trtnet.version", "trtnet.files", "trtnet.errors", "trtnet.dtypes", "trtnet.device",
              "trtnet.flavor", "trtnet.trt_logger", "trtnet.iospec", "trtnet.manifest", "trtnet.sidecar",
              "trtnet.weights.cache", "trtnet.interrupt", "trtnet.models",
              "trtnet.layers.options")),           # NetworkOptions: plain data the engine directory's schema checks            # where the cache is: the text front end's NeMo grammars use it
    ("text", ("trtnet.runtime.text",)),            # the text front end: the symbol table the weights check
    ("weights", ("trtnet.weights",)),
    ("runtime", ("trtnet.runtime", "trtnet.refit")),   # refit: weights into a loaded engine (load-time refit)
    ("interpret", ("trtnet.interpret",)),
    ("graph", ("trtnet.graph", "trtnet.tensor", "trtnet.ops", "trtnet.backends", "trtnet.control_flow",
               "trtnet.loop", "trtnet.build")),
    ("layers", ("trtnet.layers",)),
    ("orchestration", ("trtnet.emulate", "trtnet.engines", "trtnet.verify")),
    ("serve", ("trtnet.serve",)),
    ("tools", ("trtnet.tools",)),
)
#: The one declared cycle: Tensor's arithmetic dunders call the ops, which take and return Tensors.
DECLARED_CYCLE = ("trtnet.tensor", "trtnet.ops")


def _layer(module: str) -> int:
    best = (-1, -1)
    for rank, (_, prefixes) in enumerate(HOUSE):
        for p in prefixes:
            if module == p or module.startswith(p + ".") and p != "trtnet":
                best = max(best, (len(p), rank))
    assert best[1] >= 0, f"{module} belongs to no layer of HOUSE"
    return best[1]


def _edges() -> dict[str, set[str]]:
    edges = import_edges()
    edges[DECLARED_CYCLE[0]] = {t for t in edges[DECLARED_CYCLE[0]] if not t.startswith(DECLARED_CYCLE[1])}
    return edges


def _reach(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for t in edges[todo.pop()]:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_no_import_cycles():
    """Function-level imports count: a cycle hidden in a function body is still a cycle."""
    found = cycles(_edges())
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_upward_imports():
    edges = _edges()
    bad = [f"{m} ({HOUSE[_layer(m)][0]}) imports {t} ({HOUSE[_layer(t)][0]})"
           for m in sorted(edges) for t in sorted(edges[m]) if _layer(t) > _layer(m)]
    assert bad == [], "\n".join(bad)


def test_runtime_reaches_no_torch():
    """No runtime module, nor any trtnet module it imports (anywhere in a body, transitively), imports torch."""
    edges, ext = _edges(), external_imports()
    bad = [f"{m} reaches torch through {r}" for m in sorted(edges) if m.startswith("trtnet.runtime")
           for r in sorted(_reach(edges, m)) if "torch" in ext[r]]
    assert bad == [], "\n".join(bad)


def test_layers_import_no_torch_anywhere():
    """Not even in a function body: the layers are written with trtnet ops only (the eager backend, which the
    graph loads when asked to run eagerly, is torch's only door)."""
    ext = external_imports()
    bad = sorted(m for m in ext if m.startswith("trtnet.layers") and "torch" in ext[m])
    assert bad == [], bad


def test_runtime_runs_with_torch_blocked():
    """``sys.modules['torch'] = None``: the runtime imports, and a pipeline runs over stub sessions."""
    code = """
import sys
sys.modules["torch"] = None
import numpy as np
from trtnet.runtime.pipeline import Limits, Pipeline, Settings
from trtnet.runtime import engine_dir, streaming, session, wav
from trtnet.weights.config import Tacotron2Config, WaveGlowConfig
t2, wg = Tacotron2Config(), WaveGlowConfig()

class Net:
    def __init__(self, fn):
        self.run = fn

def decoder(f):
    b = f["memory"].shape[0]
    return {"mel": np.zeros((b, t2.n_mel_channels, 5), np.float32), "gate": np.zeros((b, 5), np.float32),
            "mel_lengths": np.full(b, 4, np.int32), "n_steps": np.array(5, np.int32)}
sessions = {
    "encoder": Net(lambda f: {"memory": np.zeros((*f["tokens"].shape, 4), np.float32),
                              "processed_memory": np.zeros((*f["tokens"].shape, 4), np.float32)}),
    "decoder-loop": Net(decoder),
    "postnet": Net(lambda f: {"mel_postnet": f["mel"]}),
    "waveglow": Net(lambda f: {"audio": np.ones((f["mel"].shape[0], f["mel"].shape[2] * wg.upsample_stride), np.float32)}),
    "denoiser": Net(lambda f: {"audio": f["audio"]}),
}
pipe = Pipeline(sessions, t2_config=t2, vocoder_config=wg, limits=Limits(4, 64, 5),
                settings=Settings(max_decoder_steps=5, gate_threshold=0.5, sigma=0.0, denoiser_strength=0.0,
                                  dropout="off", noise="in-engine"))
(batch,) = list(pipe.synthesize(["hello there"], 1))
u = batch.utterances[0]
assert u.mel_length == 4 and u.audio.size == 4 * wg.upsample_stride, (u.mel_length, u.audio.size)
assert "torch" not in [m for m in sys.modules if sys.modules[m] is not None]
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_interpret_is_only_the_interpreter():
    """interpret/ executes an INetworkDefinition on its own: no graph core, ops, backends or layers."""
    graph = {m for m in module_files() if _layer(m) >= _layer("trtnet.graph")}
    edges = _edges()
    bad = [f"{m} imports {t}" for m in sorted(edges) if m.startswith("trtnet.interpret")
           for t in sorted(edges[m]) if t in graph]
    assert bad == [], "\n".join(bad)


def test_argparse_only_in_tools():
    ext = external_imports()
    bad = sorted(m for m, names in ext.items() if "argparse" in names and not m.startswith("trtnet.tools"))
    assert bad == [], f"argparse imported outside tools/: {bad}"


def test_rules_catch_what_they_name(tmp_path):
    """The graph reader sees function-level imports and the checker finds a cycle through them."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "setup.cfg").write_text("[options]\npackage_dir =\n    trtnet = pkg\n")
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "pkg" / "b.py").write_text("import argparse\nfrom trtnet.a import f\n")
    mods = module_files(tmp_path)
    assert cycles(import_edges(mods)) == [["trtnet.a", "trtnet.b"]]
    assert external_imports(mods)["trtnet.b"] == {"argparse"}


def _config() -> configparser.ConfigParser:
    c = configparser.ConfigParser()
    c.read(ROOT / "setup.cfg")
    return c


def _package_dirs() -> dict[str, Path]:
    dirs = dict(line.split(" = ") for line in _config()["options"]["package_dir"].strip().splitlines())
    found = {}
    for pkg, d in dirs.items():
        for init in (ROOT / d).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / d)
            found[pkg + "".join(f".{p}" for p in rel.parts)] = init.parent
    return found


def _modules() -> list[str]:
    mods = []
    for pkg, d in _package_dirs().items():
        mods += [f"{pkg}.{p.stem}" for p in sorted(d.glob("*.py")) if p.stem != "__init__"]
    return sorted(mods)


def test_every_package_directory_is_installed():
    assert set(_package_dirs()) == set(_config()["options"]["packages"].split())


@pytest.mark.parametrize("module", [m for m in _modules() if ".layers." in m or m.startswith("trtnet.layers")])
def test_layers_import_neither_torch_nor_the_runtime(module):
    """Imported alone in a fresh interpreter: a layers module pulls in no torch, no trtnet.runtime."""
    code = (f"import importlib, sys; importlib.import_module({module!r}); "
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('trtnet.runtime')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_imports_on_its_own():
    """Each module imported first in a fresh interpreter (an import cycle fails one of them)."""
    skip = {"trtnet.serve.triton_model"}   # runs inside Triton's Python backend (triton_python_backend_utils)
    code = ("import importlib, sys, traceback\nfailed = []\n"
            "for m in sys.argv[1:]:\n"
            "    for k in [k for k in sys.modules if k.startswith('trtnet')]: del sys.modules[k]\n"
            "    try: importlib.import_module(m)\n"
            "    except Exception as e: failed.append(f'{m}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(failed))")
    mods = [m for m in _modules() if m not in skip]
    out = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr
