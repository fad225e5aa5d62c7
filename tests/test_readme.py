"""The README's library snippet runs as written (eager, then a TensorRT-RTX build of the same definition), and
the interpreter gives the eager values for the plan's network."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def library_snippet() -> str:
    section = README.read_text().split("## Library API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_library_snippet_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(library_snippet(), str(README), "exec"), scope)   # noqa: S102 - our own README
    assert "hs" in capsys.readouterr().out
    for name in ("demo.plan", "demo.json", "demo.layers.json"):
        assert (tmp_path / name).stat().st_size > 0
    eager = scope["Graph"].eager({"x": scope["x_value"]})
    scope["define"](eager)
    want = {k: v.numpy() for k, v in eager.results().items()}
    n = int(want["n"])
    assert 1 <= n < 100 and not want["hs"][n:].any()
    from trtnet.interpret import interpret_network
    got = interpret_network(scope["g"].backend.network, {"x": scope["x_value"]})
    assert int(got["n"]) == n
    np.testing.assert_allclose(got["hs"], want["hs"], rtol=1e-6, atol=1e-6)
