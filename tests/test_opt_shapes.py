"""--opt-batch / --opt-text-len / --opt-decoder-steps set the profiles' opt shapes (trtexec's --optShapes), each
checked within 1..its max before any work."""

from __future__ import annotations

import pytest

from trtnet.sidecar import Sidecar, sidecar_path
from trtnet.tools.cli import main

SMALL = ["--demo-size", "small", "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
         "--max-decoder-steps", "150"]


def test_opt_flags_reach_the_profiles(tmp_path):
    out = tmp_path / "e"
    assert main(["build-engines", *SMALL, "-o", str(out), "--engines", "encoder,postnet", "--opt-batch", "3",
                 "--opt-text-len", "40", "--opt-decoder-steps", "90"]) == 0
    enc = Sidecar.read(sidecar_path(out / "encoder.plan")).io.dims
    post = Sidecar.read(sidecar_path(out / "postnet.plan")).io.dims
    assert (enc["B"].min, enc["B"].opt, enc["B"].max) == (1, 3, 8)
    assert (enc["T_in"].opt, enc["T_in"].max) == (40, 64)
    assert [r.opt for name, r in post.items() if r.max == 150] == [90], post


@pytest.mark.parametrize("flags, said", [
    (["--opt-batch", "9"], "--opt-batch 9: the profile needs 1 <= opt <= max, and --max-batch is 8"),
    (["--opt-text-len", "65"], "--opt-text-len 65: the profile needs 1 <= opt <= max, and --max-text-len is 64"),
    (["--opt-decoder-steps", "151"], "--max-decoder-steps is 150"),
])
def test_opt_above_its_max_is_refused_before_any_work(tmp_path, capsys, flags, said):
    out = tmp_path / "e"
    assert main(["build-engines", *SMALL, "-o", str(out), "--engines", "encoder", *flags]) == 2
    assert said in capsys.readouterr().err and not out.exists()


def test_opt_decoder_steps_above_the_models_cap_is_refused(tmp_path, capsys):
    out = tmp_path / "e"
    args = ["build-engines", "--demo-size", "small", "-o", str(out), "--engines", "postnet", "--opt-decoder-steps",
            "100000"]
    assert main(args) == 2
    assert "above the step cap" in capsys.readouterr().err and not (out / "postnet.plan").exists()
