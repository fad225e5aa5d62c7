"""NVIDIA/tacotron2 and NGC / torch-hub DLE checkpoints: recognised, recorded, and the same model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures_tacotron2 import T2Demo, ragged, t2_small, tacotron2_pipeline, text_ids  # noqa: F401
from trtnet.weights.checkpoint import DLE, NVIDIA_TACOTRON2, load_checkpoint, source_description
from trtnet.weights.extract import extract
from trtnet.weights.store import WeightStore


def _dle_state_dict(path) -> dict[str, torch.Tensor]:
    sd = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    return {k.replace("module.", ""): v for k, v in sd.items()}


def test_nvidia_tacotron2_checkpoint_synthesizes_the_same_mel(t2_small, tmp_path):  # noqa: F811
    sd = _dle_state_dict(t2_small.checkpoint)
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3).state_dict()
    path = tmp_path / "checkpoint_5000"  # NVIDIA/tacotron2's train.py names them so, without a suffix
    torch.save({"iteration": 5000, "state_dict": sd, "optimizer": optimizer, "learning_rate": 1e-3}, path)
    ck = load_checkpoint(path)
    assert ck.meta["source_format"] == NVIDIA_TACOTRON2 and not ck.meta["module_prefix"]
    assert ck.meta["iteration"] == 5000 and "config" not in ck.meta
    report = extract(ck, tmp_path / "t2.h5")
    assert report.config.architecture_dict() == t2_small.config.architecture_dict()
    tokens, lengths = ragged([text_ids(12)])
    with WeightStore.open(report.out_path) as store:
        twin = T2Demo("nvidia", store, t2_small.ref32, t2_small.ref64, path)
        got = tacotron2_pipeline(twin, tokens, lengths, steps=40)
    want = tacotron2_pipeline(t2_small, tokens, lengths, steps=40)
    assert int(got["n_steps"]) == int(want["n_steps"]) > 0
    torch.testing.assert_close(got["mel_postnet"], want["mel_postnet"], rtol=0, atol=0)


@pytest.mark.parametrize("fp16", [False, True])
def test_ngc_hub_layout_is_recognised(t2_small, tmp_path, fp16):  # noqa: F811
    """NGC / torch hub: ``{'state_dict'`` with ``module.`` keys, ``'config'}``, FP16 variants too."""
    sd = {f"module.{k}": (v.half() if fp16 else v) for k, v in _dle_state_dict(t2_small.checkpoint).items()}
    torch.save({"state_dict": sd, "config": {"n_symbols": 148}}, tmp_path / "ngc.pt")
    ck = load_checkpoint(tmp_path / "ngc.pt")
    assert ck.meta["source_format"] == DLE and ck.meta["module_prefix"]
    assert source_description(ck.meta) == "dle (zip, module. prefixes)"
    assert {a.dtype for a in ck.state_dict.values()} == {np.dtype(np.float16 if fp16 else np.float32)}


def test_the_source_format_is_recorded_in_the_hdf5_file(tmp_path):
    """extract writes the layout it recognised as the ``source_format`` attribute."""
    import h5py
    import torch

    from trtnet.weights.demo import demo_configs, tacotron2_checkpoint
    from trtnet.weights.extract import extract
    ckpt = tacotron2_checkpoint(demo_configs("small")[0], 0)
    torch.save({"iteration": 3, "state_dict": ckpt["state_dict"], "optimizer": {}, "learning_rate": 1e-3},
               tmp_path / "nv.pt")
    extract(tmp_path / "nv.pt", tmp_path / "nv.h5")
    with h5py.File(tmp_path / "nv.h5", "r") as f:
        assert f.attrs["source_format"] == "nvidia-tacotron2 (zip)"
