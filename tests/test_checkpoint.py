"""weights.checkpoint: DLE layouts are read, everything else is refused with the file named, nothing executes."""

from __future__ import annotations

import hashlib
import os
import pickle

import numpy as np
import pytest
import torch

from trtnet.weights.checkpoint import load_checkpoint, save_checkpoint
from trtnet.weights.config import Tacotron2Config
from trtnet.weights.errors import CheckpointError, UnsafeCheckpointError
from trtnet.weights.schema import dle_shapes

CFG = Tacotron2Config.small()


def _state_dict(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in dle_shapes(CFG).items()}


@pytest.mark.parametrize("fp16", [False, True])
@pytest.mark.parametrize("ddp", [False, True])
def test_dle_dict_layout(tmp_path, fp16, ddp):
    sd = _state_dict()
    path = save_checkpoint(tmp_path / "c.pt", sd, config={"n_symbols": 148}, epoch=7, fp16=fp16, ddp=ddp)
    ck = load_checkpoint(path)
    assert set(ck.state_dict) == set(sd)
    want = np.float16 if fp16 else np.float32
    for k, a in ck.state_dict.items():
        assert a.dtype == want
        np.testing.assert_array_equal(a, sd[k].astype(want))
    assert ck.meta["config"] == {"n_symbols": 148} and ck.meta["epoch"] == 7
    assert "optimizer" not in ck.meta and "optimizer" in ck.meta["top_level_keys"]
    assert ck.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ck.path == str(path)


def test_bare_state_dict_and_legacy_format(tmp_path):
    sd = {k: torch.from_numpy(v) for k, v in _state_dict().items()}
    torch.save(sd, tmp_path / "bare.pt", _use_new_zipfile_serialization=False)
    ck = load_checkpoint(tmp_path / "bare.pt")
    assert set(ck.state_dict) == set(sd) and ck.meta["top_level_keys"] == []


def test_module_removed_everywhere_and_batches_tracked_dropped(tmp_path):
    sd = {"module.encoder.module.w": torch.ones(2), "postnet.convolutions.0.1.num_batches_tracked": torch.tensor(5)}
    torch.save({"state_dict": sd}, tmp_path / "c.pt")
    assert list(load_checkpoint(tmp_path / "c.pt").state_dict) == ["encoder.w"]


def test_bfloat16_widened_to_float32(tmp_path):
    torch.save({"state_dict": {"w": torch.tensor([1.5, -2.0], dtype=torch.bfloat16)}}, tmp_path / "c.pt")
    a = load_checkpoint(tmp_path / "c.pt").state_dict["w"]
    assert a.dtype == np.float32 and a.tolist() == [1.5, -2.0]


class _Marker:
    """Unpickling this would run ``open(marker, 'w')``: a file appears if the pickle ever executes."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("writer", ["torch_zip", "pickle_p2", "pickle_p4"])
def test_code_executing_pickle_is_refused_and_never_runs(tmp_path, writer):
    marker = tmp_path / "EXECUTED"
    payload = {"state_dict": {"w": torch.ones(1)}, "evil": _Marker(str(marker))}
    path = tmp_path / "evil.pt"
    if writer == "torch_zip":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f, protocol=2 if writer == "pickle_p2" else 4)
    with pytest.raises(UnsafeCheckpointError) as e:
        load_checkpoint(path)
    assert str(path) in str(e.value) and "nothing in it was executed" in str(e.value)
    assert not marker.exists()


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, found", [
    (lambda p: p, "no such file"),
    (lambda p: (os.mkdir(p), p)[1], "not a regular file"),
    (lambda p: _write_bytes(p, b""), "truncated or corrupt"),
    (lambda p: _write_bytes(p, b"\x80\x02definitely not a pickle"), "corrupt"),
])
def test_unreadable_files(tmp_path, make, found):
    path = make(tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=found) as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


def test_truncated_checkpoint(tmp_path):
    full = save_checkpoint(tmp_path / "full.pt", _state_dict()).read_bytes()
    path = _write_bytes(tmp_path / "cut.pt", full[: len(full) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("obj, found", [
    ([1, 2, 3], "found a list"),
    ({"epoch": 3, "config": {}}, r"a dict with keys \['epoch', 'config'\]"),
    ({"state_dict": [torch.ones(1)]}, "'state_dict' is a list"),
    ({"state_dict": {}}, "holds no tensors"),
    ({"state_dict": {"w": torch.ones(1), "lr": 0.1}}, "'lr' is a float, not a tensor"),
    ({"state_dict": {"module.w": torch.ones(1), "w": torch.ones(1)}}, "two state_dict keys become 'w'"),
])
def test_not_a_checkpoint(tmp_path, obj, found):
    torch.save(obj, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match=found) as e:
        load_checkpoint(tmp_path / "c.pt")
    assert str(tmp_path / "c.pt") in str(e.value)
