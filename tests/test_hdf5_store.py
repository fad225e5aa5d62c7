"""weights.hdf5 + weights.store: the file format, its validation, atomic writes, and strict weight access."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging

import h5py
import numpy as np
import pytest

from trtnet.version import __version__
from trtnet.weights.config import Tacotron2Config, WaveGlowConfig
from trtnet.weights.errors import (MissingWeightError, UnusedWeightError, WeightKeysError, WeightShapeError,
                                   WeightsFormatError)
from trtnet.weights.hdf5 import FORMAT_VERSION, read_weights, write_weights
from trtnet.weights.schema import expected_shapes
from trtnet.weights.store import WeightStore

T2, WG = Tacotron2Config.small(), WaveGlowConfig.small()


def _arrays(config, seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays in the HDF5 layout; every third tensor fp16 (raw tensors keep the source precision)."""
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(np.float16 if i % 3 == 0 else np.float32)
            for i, (k, s) in enumerate(sorted(expected_shapes(config).items()))}


def _write(tmp_path, config, name="w.h5", arrays=None, **kw):
    return write_weights(tmp_path / name, config, _arrays(config) if arrays is None else arrays,
                         "/ckpts/model.pt", "ab" * 32, **kw)


@pytest.mark.parametrize("config", [T2, WG], ids=["tacotron2", "waveglow"])
def test_round_trip_is_bit_exact(tmp_path, config):
    arrays = _arrays(config)
    path = _write(tmp_path, config, arrays=arrays)
    cfg, data, attrs = read_weights(path)
    with data:
        assert cfg == config and sorted(data) == sorted(arrays)
        for k, a in arrays.items():
            assert data[k].dtype == a.dtype
            np.testing.assert_array_equal(data[k], a)
    assert attrs["format_version"] == FORMAT_VERSION and attrs["architecture"] == config.architecture
    assert json.loads(attrs["config"]) == config.to_dict()
    assert (attrs["source_file"], attrs["source_sha256"], attrs["extractor_version"]) == ("model.pt", "ab" * 32,
                                                                                          __version__)
    assert dt.datetime.fromisoformat(attrs["created"]).utcoffset() == dt.timedelta(0)
    assert [p.name for p in tmp_path.iterdir()] == ["w.h5"]


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.pop("embedding.weight"), "missing keys.*embedding.weight"),
    (lambda a: a.update({"decoder.extra": np.zeros(3, np.float32)}), "unexpected keys.*decoder.extra"),
    (lambda a: a.update({"decoder.gate_layer.linear_layer.bias": np.zeros(2, np.float32)}),
     r"decoder.gate_layer.linear_layer.bias expected \(1,\) got \(2,\)"),
])
def test_write_refuses_a_wrong_key_set_and_leaves_nothing(tmp_path, edit, message):
    arrays = _arrays(T2)
    edit(arrays)
    with pytest.raises(WeightKeysError, match=message):
        _write(tmp_path, T2, arrays=arrays)
    assert list(tmp_path.iterdir()) == []


def test_write_failure_midway_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = _write(tmp_path, T2)
    before = path.read_bytes()
    calls = []

    def failing(self, name, **kw):
        calls.append(name)
        if len(calls) > 5:
            raise OSError("disk full")
        return original(self, name, **kw)

    original = h5py.Group.create_dataset
    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path, T2, arrays=_arrays(T2, seed=1), overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["w.h5"] and path.read_bytes() == before


def _edit_file(path, fn):
    with h5py.File(path, "a") as f:
        fn(f)
    return path


@pytest.mark.parametrize("edit, error, message", [
    (lambda f: f.attrs.__setitem__("format_version", 2), WeightsFormatError,
     r"format_version 2 is not supported: this trtnet \(.*\) reads format_version \[1\]"),
    (lambda f: f.attrs.__delitem__("source_sha256"), WeightsFormatError, r"\['source_sha256'\] missing"),
    (lambda f: f.attrs.__setitem__("architecture", "melgan"), WeightsFormatError, "architecture 'melgan'"),
    (lambda f: f.attrs.__setitem__("config", '{"n_flows": 3}'), WeightsFormatError, "bad 'config' attribute"),
    (lambda f: f.__delitem__("embedding.weight"), WeightKeysError, "missing keys.*embedding.weight"),
    (lambda f: f.create_dataset("extra.weight", data=np.zeros(2)), WeightKeysError, "unexpected keys"),
    (lambda f: f.create_group("encoder"), WeightsFormatError, r"unexpected groups \['encoder'\]"),
    (lambda f: (f.__delitem__("decoder.gate_layer.linear_layer.bias"),
                f.create_dataset("decoder.gate_layer.linear_layer.bias", data=np.zeros(4, np.float32))),
     WeightKeysError, r"expected \(1,\) got \(4,\)"),
    (lambda f: (f.__delitem__("decoder.gate_layer.linear_layer.bias"),
                f.create_dataset("decoder.gate_layer.linear_layer.bias", data=np.zeros(1, np.int32))),
     WeightsFormatError, r"non-float tensors: decoder.gate_layer.linear_layer.bias \(int32\)"),
])
def test_reader_validates(tmp_path, edit, error, message):
    path = _edit_file(_write(tmp_path, T2), edit)
    with pytest.raises(error, match=message) as e:
        WeightStore.open(path)
    assert str(path) in str(e.value)


def test_reader_refuses_non_hdf5(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"nope")
    with pytest.raises(WeightsFormatError, match="not an HDF5 file"):
        read_weights(tmp_path / "x.h5")
    with pytest.raises(WeightsFormatError, match="no such file"):
        read_weights(tmp_path / "y.h5")


@pytest.fixture()
def store(tmp_path):
    path = _write(tmp_path, T2)
    with WeightStore.open(path) as s:
        yield s


def test_store_identity(store):
    assert store.config == T2 and store.architecture == "tacotron2" and store.source_sha256 == "ab" * 32
    with open(store.name, "rb") as f:
        assert store.file_sha256 == hashlib.sha256(f.read()).hexdigest()
    assert WeightStore.from_arrays(T2, _arrays(T2)).file_sha256 is None


def test_get_checks_shape_casts_and_records(store):
    w = store.get("decoder.attention_rnn.weight_ih", shape=(96, 26))
    assert w.shape == (96, 26) and not w.flags.writeable
    assert store.get("embedding.weight", shape=(None, 16), dtype=np.float16).dtype == np.float16
    with pytest.raises(WeightShapeError, match=r"'decoder.gate_layer.linear_layer.bias' has shape \(1,\), "
                                               r"expected \(2,\)") as e:
        store.get("decoder.gate_layer.linear_layer.bias", shape=(2,))
    assert (e.value.expected, e.value.actual) == ((2,), (1,))
    assert store.used() == ["decoder.attention_rnn.weight_ih", "embedding.weight"]


def test_missing_key_names_store_and_close_matches(store):
    with pytest.raises(MissingWeightError) as e:
        store.get("decoder.attention_rnn.weight_hi")
    assert e.value.store == store.name and "decoder.attention_rnn.weight_ih" in e.value.close
    assert "no weight 'decoder.attention_rnn.weight_hi'" in str(e.value)


def test_scoped_views_share_the_record(store):
    rnn = store.scoped("decoder").scoped("attention_rnn")
    assert rnn.prefix == "decoder.attention_rnn" and "weight_ih" in rnn
    assert rnn.keys() == ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
    np.testing.assert_array_equal(rnn.get("weight_ih"), store.get("decoder.attention_rnn.weight_ih"))
    for name in ("weight_hh", "bias_ih"):
        rnn.get(name)
    assert rnn.unused() == ["decoder.attention_rnn.bias_hh"]  # a view checks its own scope by default
    assert "decoder.attention_rnn.weight_hh" in store.used()
    with pytest.raises(MissingWeightError, match="decoder.attention_rnn.nope"):
        rnn.get("nope")


def test_check_all_used(store, caplog):
    for k in store.keys():
        if k.startswith(("embedding.", "encoder.")):
            store.get(k)
    assert store.check_all_used(prefixes=["embedding.", "encoder"]) == []
    with pytest.raises(UnusedWeightError) as e:
        store.check_all_used()
    assert "postnet.convolutions.0.0.conv.weight" in e.value.keys and len(e.value.keys) == len(store.unused())
    with caplog.at_level(logging.WARNING):
        assert store.check_all_used(prefixes="postnet", allow_unused=True)
    assert "never read" in caplog.text


def test_from_arrays_validates_unless_told(tmp_path):
    arrays = _arrays(WG)
    arrays["denoiser.bias_spec"] = arrays["denoiser.bias_spec"].astype(np.float32)
    assert WeightStore.from_arrays(WG, arrays).get("denoiser.bias_spec", dtype=np.float32).shape == (33,)
    assert arrays["denoiser.bias_spec"].flags.writeable  # the caller's array is not frozen by the store
    del arrays["denoiser.bias_spec"]
    with pytest.raises(WeightKeysError, match="<memory>: missing keys.*denoiser.bias_spec"):
        WeightStore.from_arrays(WG, arrays)
    part = WeightStore.from_arrays(WG, {"WN.0.end.bias": np.zeros(4, np.float32)}, name="unit", validate=False)
    assert repr(part) == "WeightStore('unit', waveglow, 1 tensors)"
