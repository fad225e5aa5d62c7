"""Bad inputs to ``trtnet extract-weights`` / ``WeightStore.open``: one clear error line, exit 2, no file left."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from trtnet.tools.cli import main as cli_main
from trtnet.weights.checkpoint import save_checkpoint
from trtnet.weights.config import Tacotron2Config
from trtnet.weights.errors import NonFiniteWeightError, WeightsFormatError
from trtnet.weights.extract import extract
from trtnet.weights.schema import dle_shapes
from trtnet.weights.store import WeightStore

T2 = Tacotron2Config.small()


def _state_dict(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float32) for k, s in dle_shapes(T2).items()}


def _ckpt(tmp_path, sd=None, **kw):
    return save_checkpoint(tmp_path / "in.pt", _state_dict() if sd is None else sd, ddp=True, **kw)


def _fails(tmp_path, capsys, ckpt, *flags, expect: str) -> str:
    """Run the CLI; assert exit 2, one stderr line naming the input and ``expect``, and no new file."""
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = cli_main(["extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"), *flags])
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("trtnet extract-weights: error: ")
    assert str(ckpt) in err and expect in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temp file
    return err


def test_missing_file(tmp_path, capsys):
    _fails(tmp_path, capsys, tmp_path / "nope.pt", expect="CheckpointError: " + str(tmp_path / "nope.pt"))


def test_truncated_file(tmp_path, capsys):
    ckpt = _ckpt(tmp_path)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) * 2 // 3])
    _fails(tmp_path, capsys, ckpt, expect="truncated or corrupt")


def test_pickle_that_is_not_a_checkpoint(tmp_path, capsys):
    torch.save({"epoch": 3, "notes": ["a", "b"]}, tmp_path / "in.pt")
    _fails(tmp_path, capsys, tmp_path / "in.pt", expect="not a checkpoint: found a dict with keys ['epoch', 'notes']")


class _Marker:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path,))


def test_code_executing_pickle_never_runs(tmp_path, capsys):
    marker = tmp_path / "EXECUTED"
    with open(tmp_path / "in.pt", "wb") as f:
        pickle.dump({"state_dict": {"w": torch.ones(1)}, "x": _Marker(str(marker))}, f, protocol=2)
    _fails(tmp_path, capsys, tmp_path / "in.pt", expect="UnsafeCheckpointError")
    assert not marker.exists()


def test_wrong_architecture(tmp_path, capsys):
    _fails(tmp_path, capsys, _ckpt(tmp_path), "--model", "waveglow",
           expect="a waveglow model was asked for, but the state_dict is a tacotron2")


@pytest.mark.parametrize("key", ["postnet.convolutions.2.1.running_var", "decoder.attention_rnn.weight_hh"])
def test_missing_keys(tmp_path, capsys, key):
    sd = _state_dict()
    del sd[key]
    _fails(tmp_path, capsys, _ckpt(tmp_path, sd), expect=f"missing keys (1): {key}")


def test_extra_keys(tmp_path, capsys):
    sd = {**_state_dict(), "decoder.speaker_embedding.weight": np.zeros((4, 4), np.float32)}
    _fails(tmp_path, capsys, _ckpt(tmp_path, sd), expect="unexpected keys (1): decoder.speaker_embedding.weight")


def test_wrong_shape_among_consistent_ones(tmp_path, capsys):
    sd = _state_dict()
    sd["decoder.gate_layer.linear_layer.bias"] = np.zeros(3, np.float32)
    _fails(tmp_path, capsys, _ckpt(tmp_path, sd),
           expect="decoder.gate_layer.linear_layer.bias expected (1,) got (3,)")


def test_nonfinite_weights_refused_unless_allowed(tmp_path, capsys):
    sd = _state_dict()
    sd["encoder.lstm.weight_hh_l0"][3, :2] = [np.nan, np.inf]
    sd["embedding.weight"][0, 0] = -np.inf
    ckpt = _ckpt(tmp_path, sd)
    _fails(tmp_path, capsys, ckpt, expect="NaN/Inf values in 2 tensor(s): embedding.weight (1), "
                                          "encoder.lstm.weight_hh_l0 (2)")
    assert cli_main(["extract-weights", str(ckpt), "-o", str(tmp_path / "out.h5"), "--allow-nonfinite"]) == 0
    with WeightStore.open(tmp_path / "out.h5", allow_nonfinite=True) as store:
        assert np.isnan(store.get("encoder.lstm.weight_hh_l0")[3, 0])
    with pytest.raises(NonFiniteWeightError, match="engines cannot be built from it") as e:  # refused by default
        WeightStore.open(tmp_path / "out.h5")
    assert "--allow-nonfinite" not in str(e.value)


def test_mismatched_hparams(tmp_path, capsys):
    ckpt = _ckpt(tmp_path, config={**T2.to_dict(), "decoder_rnn_dim": 1024, "prenet_dim": 256})
    _fails(tmp_path, capsys, ckpt, expect="the checkpoint config disagrees with the tensor shapes: "
                                          "decoder_rnn_dim: inferred 20, checkpoint config 1024; "
                                          "prenet_dim: inferred 10, checkpoint config 256")


def test_failed_extraction_keeps_an_existing_output(tmp_path):
    (tmp_path / "out.h5").write_bytes(b"previous")
    sd = _state_dict()
    sd["embedding.weight"][0, 0] = np.nan
    with pytest.raises(NonFiniteWeightError, match="NaN/Inf"):
        extract(_ckpt(tmp_path, sd), tmp_path / "out.h5", overwrite=True)
    assert (tmp_path / "out.h5").read_bytes() == b"previous"


def test_future_format_version_refused_by_weight_store(tmp_path):
    path = extract(_ckpt(tmp_path), tmp_path / "t2.h5").out_path
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 7
    with pytest.raises(WeightsFormatError) as e:
        WeightStore.open(path)
    assert str(path) in str(e.value) and "format_version 7" in str(e.value) and "reads format_version [1]" in str(e.value)


def test_subprocess_exit_status_and_single_line(tmp_path):
    ckpt = _ckpt(tmp_path, config={**T2.to_dict(), "attention_dim": 128})
    proc = subprocess.run([sys.executable, "-m", "trtnet.tools.cli", "extract-weights", str(ckpt),
                           "-o", str(tmp_path / "out.h5")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"trtnet extract-weights: error: HParamMismatchError: {ckpt}: the checkpoint config disagrees with the "
        "tensor shapes: attention_dim: inferred 8, checkpoint config 128"]
    assert not (tmp_path / "out.h5").exists()
