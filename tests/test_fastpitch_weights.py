"""FastPitch checkpoints → HDF5 and the independent reference, against fixtures made once with DLE's own
FastPitch code (``tests/data/fastpitch/make_fastpitch_fixtures.py``): config from shapes and DLE's config /
train_setup, ``module.`` keys, EMA weights only when asked, the training-only aligner dropped, the demo
checkpoints (small and full) in DLE's layout, and one-line errors for the wrong files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trtnet.weights.checkpoint import load_checkpoint
from trtnet.weights.config import FastPitchConfig
from trtnet.weights.demo_fastpitch import fastpitch_checkpoint
from trtnet.weights.errors import ArchitectureError, HParamMismatchError, WeightKeysError
from trtnet.weights.extract import extract
from trtnet.weights.fastpitch import fastpitch_shapes
from trtnet.weights.hparams import detect_architecture
from trtnet.weights.reference import fastpitch as ref
from trtnet.weights.store import WeightStore

DATA = Path(__file__).parent / "data" / "fastpitch"
DLE_CKPT = DATA / "fastpitch_dle_tiny.pt"


def dle_cases() -> dict[str, dict[str, np.ndarray]]:
    """{case: {ids, pace, pitch_scale, pitch_shift, mel, mel_lengths, durations, pitch, energy}} from DLE."""
    with np.load(DATA / "fastpitch_dle_outputs.npz") as d:
        out: dict[str, dict[str, np.ndarray]] = {}
        for key in d.files:
            case, name = key.split("/")
            out.setdefault(case, {})[name] = d[key]
    return out


def relative_error(got: np.ndarray, want: np.ndarray, lengths: np.ndarray | None = None) -> float:
    """max |got − want| / max |want|; mels compared on each item's first mel_lengths frames."""
    if lengths is None:
        return float(np.abs(got - want).max() / np.abs(want).max())
    err = max(float(np.abs(got[b, :, :n] - want[b, :, :n]).max()) for b, n in enumerate(lengths))
    return err / float(np.abs(want).max())


def _arrays(path) -> dict[str, np.ndarray]:
    with WeightStore.open(path, "fastpitch") as store:
        return {k: np.array(store.get(k)) for k in store.keys()}


def test_dle_checkpoint_extracts_with_its_config(tmp_path):
    report = extract(DLE_CKPT, tmp_path / "fp.h5")
    c = report.config
    assert isinstance(c, FastPitchConfig)
    assert (c.in_fft_n_heads, c.in_fft_d_head, c.out_fft_n_layers, c.n_mel_channels) == (2, 6, 2, 12)
    assert c.energy_conditioning and c.symbol_set == "english_basic" and c.text_cleaners == "english_cleaners_v2"
    arrays = _arrays(tmp_path / "fp.h5")
    assert not any(k.startswith("attention.") or k.endswith("inv_freq") for k in arrays)
    sd = torch.load(DLE_CKPT)["state_dict"]
    np.testing.assert_array_equal(arrays["proj.weight"], sd["module.proj.weight"].numpy())
    assert set(arrays) == set(fastpitch_shapes(c, folded=True))


def test_reference_matches_dle_outputs():
    ckpt = load_checkpoint(DLE_CKPT)
    config = extract.__globals__["infer_config"](ckpt.state_dict, "fastpitch", ckpt_config=ckpt.meta["config"])
    params = ref.tensors(ckpt.state_dict, torch.float32)
    for case, d in dle_cases().items():
        out = ref.infer(params, config, torch.from_numpy(d["ids"]), float(d["pace"]), float(d["pitch_scale"]),
                        float(d["pitch_shift"]))
        np.testing.assert_array_equal(out["mel_lengths"].numpy(), d["mel_lengths"], err_msg=case)
        assert relative_error(out["mel"].numpy(), d["mel"], d["mel_lengths"]) < 1e-5, case
        for name in ("durations", "pitch", "energy"):
            assert relative_error(out[name].numpy(), d[name]) < 1e-5, (case, name)


def test_ema_weights_only_when_asked(tmp_path):
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    ckpt["ema_state_dict"]["proj.bias"] = ckpt["ema_state_dict"]["proj.bias"] + 1.0
    torch.save(ckpt, tmp_path / "fp.pt")
    extract(tmp_path / "fp.pt", tmp_path / "plain.h5")
    extract(tmp_path / "fp.pt", tmp_path / "ema.h5", use_ema=True)
    plain, ema = _arrays(tmp_path / "plain.h5")["proj.bias"], _arrays(tmp_path / "ema.h5")["proj.bias"]
    np.testing.assert_allclose(ema - plain, 1.0, rtol=0, atol=1e-6)


@pytest.mark.parametrize("config", [FastPitchConfig.small(), FastPitchConfig.small(energy_conditioning=False)],
                         ids=["energy", "no-energy"])
def test_demo_checkpoint_round_trip(tmp_path, config):
    ckpt = fastpitch_checkpoint(config, 0)
    assert all(k.startswith("module.") for k in ckpt["state_dict"])
    torch.save(ckpt, tmp_path / "fp.pt")
    assert extract(tmp_path / "fp.pt", tmp_path / "fp.h5").config == config
    assert detect_architecture(load_checkpoint(tmp_path / "fp.pt").state_dict) == "fastpitch"


def test_full_size_demo_has_dle_default_shapes():
    sd = fastpitch_checkpoint(FastPitchConfig(), 0)["state_dict"]
    assert tuple(sd["module.encoder.layers.5.pos_ff.CoreNet.0.weight"].shape) == (1536, 384, 3)
    assert tuple(sd["module.encoder.word_emb.weight"].shape) == (148, 384)
    assert float(sd["module.encoder.word_emb.weight"][0].abs().max()) == 0.0  # padding row


def test_heads_that_do_not_divide_the_width_are_refused(tmp_path):
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    ckpt["config"]["in_fft_n_heads"] = 5  # H·d_head = 12
    torch.save(ckpt, tmp_path / "fp.pt")
    with pytest.raises(HParamMismatchError, match="in_fft_n_heads"):
        extract(tmp_path / "fp.pt", tmp_path / "fp.h5")
    assert not (tmp_path / "fp.h5").exists()


def test_missing_layer_is_named(tmp_path):
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    del ckpt["state_dict"]["module.decoder.layers.1.pos_ff.layer_norm.bias"]
    torch.save(ckpt, tmp_path / "fp.pt")
    with pytest.raises(WeightKeysError, match="decoder.layers.1.pos_ff.layer_norm.bias"):
        extract(tmp_path / "fp.pt", tmp_path / "fp.h5")


def test_fastpitch_is_not_mistaken_for_tacotron2(tmp_path):
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    torch.save(ckpt, tmp_path / "fp.pt")
    with pytest.raises(ArchitectureError, match="tacotron2"):
        extract(tmp_path / "fp.pt", tmp_path / "fp.h5", model="tacotron2")


def test_another_symbol_set_is_refused(tmp_path):
    from trtnet.weights.errors import SymbolTableError
    ckpt = fastpitch_checkpoint(FastPitchConfig.small(), 0)
    ckpt["train_setup"]["symbol_set"] = "english_expanded"
    torch.save(ckpt, tmp_path / "fp.pt")
    with pytest.raises(SymbolTableError, match="english_expanded"):
        extract(tmp_path / "fp.pt", tmp_path / "fp.h5")
