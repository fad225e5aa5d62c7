"""``trtnet verify --interpret``: a table row per network output, exit 0 when all agree; a wrong lowering makes
it exit 1 and name the layer where the difference starts."""

from __future__ import annotations

import pytest

from trtnet.backends.trt import TrtBackend
from trtnet.tools.cli import main


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("verify_interpret")


def test_verify_interpret_small_passes(work, capsys):
    assert main(["verify", "--interpret", "--demo-size", "small", "--work-dir", str(work)]) == 0
    out = capsys.readouterr().out
    for network in ("encoder", "decoder-loop", "decoder-step", "postnet", "fused", "waveglow", "denoiser"):
        assert f"ok   {network}" in out
    assert "FAIL" not in out and "loop decoder_0 runs" in out and "layers per iteration" in out


def test_verify_interpret_fails_on_a_wrong_lowering(work, capsys, monkeypatch):
    orig = TrtBackend.op_elementwise
    monkeypatch.setattr(TrtBackend, "op_elementwise",
                        lambda self, name, a, b, *, op: orig(self, name, a, b, op="sub" if op == "add" else op))
    assert main(["verify", "--interpret", "--demo-size", "small", "--work-dir", str(work), "--precision", "fp16"]) == 1
    out = capsys.readouterr().out
    assert "FAIL decoder-loop" in out and "first difference: decoder/" in out


def test_inspect_reports_the_decoder_loop_layers_per_iteration(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["build-engines", "--demo-size", "small", "--engines", "decoder-loop", "--precision", "fp32",
                 "-o", str(tmp_path / "engines")]) == 0
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "engines" / "decoder-loop.plan")]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("loop decoder_0:"))
    total = int(line.split(":")[1].split()[0])
    counts = dict(part.rsplit(" ", 1) for part in line.split("iteration: ")[1].split(", "))
    assert total == sum(int(v) for v in counts.values()) and int(counts["MATRIX_MULTIPLY"]) >= 8
