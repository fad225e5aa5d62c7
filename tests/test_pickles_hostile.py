"""Hostile full-model pickles and corrupt zips: refused with one line naming the file, nothing executed, nothing
written; a flipped tensor byte in a zip checkpoint is caught by its CRC."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from pickle_models import LAYOUTS, WN, build, save_full_model
from trtnet.tools.cli import main as cli_main
from trtnet.weights.checkpoint import load_checkpoint, save_checkpoint
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.errors import CheckpointError

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:Couldn't retrieve source code:UserWarning")]
WG = WaveGlowConfig.small()


class _Marker:
    """Unpickling this would create ``path``: the file appears if the pickle ever executes."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path,))


class _CallsWN:
    """A REDUCE that calls the (allowlisted) ``glow.WN`` class with arguments."""

    def __reduce__(self):
        return (WN, (7, 8))


class Sneaky(nn.Module):
    """A module class outside the allowlist."""


def _refused(tmp_path, capsys, path, expect: str) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = cli_main(["extract-weights", str(path), "-o", str(tmp_path / "out.h5")])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and str(path) in err and expect in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    assert not (tmp_path / "EXECUTED").exists()


def _in_submodule_dict(model, marker):
    model.WN[1].in_layers[0].note = _Marker(marker)
    return {}


def _in_hook(model, marker):
    model.WN[0].start._forward_pre_hooks[424242] = _Marker(marker)
    return {}


def _in_optimizer(model, marker):
    return {"optimizer": {"state": {0: {"exp_avg": _Marker(marker)}}, "param_groups": []}}


def _calls_allowed_class(model, marker):
    model.WN[0].cached = _CallsWN()
    return {}


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("plant, expect", [
    (_in_submodule_dict, "os.makedirs"), (_in_hook, "os.makedirs"), (_in_optimizer, "os.makedirs"),
    (_calls_allowed_class, "glow.WN"),
], ids=["submodule_dict", "hook", "optimizer", "calls_allowed_class"])
def test_hostile_full_model_pickle_never_runs(tmp_path, capsys, plant, expect, zip_format):
    layout = LAYOUTS[0]
    model = build(WG, layout)
    extra = plant(model, str(tmp_path / "EXECUTED"))
    path = tmp_path / "evil.pt"
    save_full_model(path, model, layout, zip_format=zip_format, **extra)
    _refused(tmp_path, capsys, path, "UnsafeCheckpointError")
    with pytest.raises(CheckpointError, match=expect.replace(".", r"\.")):
        load_checkpoint(path)
    assert not (tmp_path / "EXECUTED").exists()


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_class_outside_the_allowlist_is_refused_by_name(tmp_path, capsys, zip_format):
    layout = LAYOUTS[0]
    model = build(WG, layout)
    model.WN[2].extra = Sneaky()
    path = tmp_path / "sneaky.pt"
    save_full_model(path, model, layout, zip_format=zip_format, extra_classes={"glow": [Sneaky]})
    _refused(tmp_path, capsys, path, "glow.Sneaky")


def test_weight_norm_over_another_dim_is_refused(tmp_path):
    layout = LAYOUTS[0]
    model = build(WG, layout)
    for hook in model.WN[0].start._forward_pre_hooks.values():
        hook.dim = 1
    save_full_model(tmp_path / "dim1.pt", model, layout)
    with pytest.raises(CheckpointError, match=r"WN\.0\.start\.weight: weight norm over dim 1, expected 0"):
        load_checkpoint(tmp_path / "dim1.pt")


def test_flipped_tensor_byte_fails_the_zip_crc(tmp_path, capsys):
    sd = {"embedding.weight": np.arange(64, dtype=np.float32).reshape(8, 8) + 0.5}
    path = save_checkpoint(tmp_path / "flip.pt", sd)
    load_checkpoint(path)  # intact: every CRC matches
    data = bytearray(path.read_bytes())
    at = data.find(sd["embedding.weight"].tobytes())
    assert at > 0
    data[at + 17] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"zip member 'flip/data/\d+' fails its CRC-32 check") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)
    _refused(tmp_path, capsys, path, "fails its CRC-32 check")


def test_full_model_pickle_on_disk_keeps_working_after_reload(tmp_path):
    """Loading twice in one process (stand-ins are allowed only during a load; torch keeps refusing after)."""
    layout = LAYOUTS[2]
    save_full_model(tmp_path / "m.pt", build(WG, layout), layout)
    assert load_checkpoint(tmp_path / "m.pt").meta["layout"] == layout
    with pytest.raises(Exception, match="glow.WaveGlow"):
        torch.load(tmp_path / "m.pt", weights_only=True)
