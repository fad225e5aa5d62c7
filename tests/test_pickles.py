"""NVIDIA/waveglow full-model pickles (``{'model': <WaveGlow>, ...}``) in every layout it saved, zip and legacy,
fp32 and fp16: extracted without the classes importable, folded weights = ``remove_weightnorm``, eager audio =
the independent reference."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from fixtures_waveglow import WaveGlowModel, relative_error, waveglow_audio
from pickle_models import (LAYOUTS, WN, Invertible1x1Conv, WaveGlow, build, folded, module_names, reference_state,
                           registered, save_full_model)
from trtnet.weights.checkpoint import FULL_MODEL, load_checkpoint
from trtnet.weights.errors import CheckpointError, HParamMismatchError
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.extract import extract
from trtnet.weights.hparams import NOT_INFERRED
from trtnet.weights.reference import WaveGlowReference
from trtnet.weights.schema import weight_norm_convs
from trtnet.weights.store import WeightStore

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:Couldn't retrieve source code:UserWarning")]
WG = WaveGlowConfig.small()
SETTINGS = {f: getattr(WG, f) for f in NOT_INFERRED["waveglow"] if f != "variant"}  # what shapes cannot tell


def pickled_config(layout: str) -> WaveGlowConfig:
    """WG as the class that pickles ``layout`` runs it: glow_old injects early outputs every 4th flow."""
    if module_names(layout)[0] == "glow_old":
        return WG.replace(n_early_every=4, variant="glow_old")
    return WG.replace(variant="glow")


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_full_model_pickle_extracts_like_remove_weightnorm(tmp_path, layout, zip_format):
    cfg = pickled_config(layout)
    model = build(cfg, layout, seed=3)
    path = tmp_path / "waveglow_nvidia.pt"
    save_full_model(path, model, layout, zip_format=zip_format)
    assert "glow" not in sys.modules and "glow_old" not in sys.modules

    ck = load_checkpoint(path)
    assert ck.meta["source_format"] == FULL_MODEL and ck.meta["layout"] == layout
    assert ck.meta["serialization"] == ("zip" if zip_format else "legacy") and ck.meta["iteration"] == 1200
    report = extract(ck, tmp_path / "wg.h5", overrides=SETTINGS)
    assert report.config == cfg

    want = folded(model, cfg, layout)
    with WeightStore.open(report.out_path) as store:
        for key, w in want.items():
            np.testing.assert_allclose(store.get(key, dtype=np.float64), w.numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=key)
        reference = WaveGlowReference(cfg).double()
        reference.load_state_dict(reference_state(want, list(weight_norm_convs(cfg))), strict=True)
        wg = WaveGlowModel("pickle", cfg, path, report.out_path, store, reference.eval())
        mel, z = wg.mel(2, 5), wg.z(2, 5)
        err = relative_error(waveglow_audio(wg, mel, 0.7, z), wg.reference_audio(mel, 0.7, z))
        assert err < 1e-5, err


def test_fp16_legacy_pickle_keeps_half_raw_tensors(tmp_path):
    """Like the published models: legacy format, FP16 tensors.  Raw tensors stay fp16, folds use them."""
    layout = LAYOUTS[0]
    model = build(WG, layout, seed=4).half()
    path = tmp_path / "waveglow_fp16.pt"
    save_full_model(path, model, layout, zip_format=False)
    ck = load_checkpoint(path)
    assert {a.dtype for a in ck.state_dict.values()} == {np.dtype(np.float16)}
    report = extract(ck, tmp_path / "wg.h5", overrides=SETTINGS)
    want = folded(model, WG, layout)  # remove_weightnorm of the fp16 values, in float64
    with WeightStore.open(report.out_path) as store:
        assert store.get("upsample.weight").dtype == np.float16
        np.testing.assert_array_equal(store.get("upsample.weight"), model.upsample.weight.detach().numpy())
        for prefix in weight_norm_convs(WG):
            np.testing.assert_allclose(store.get(f"{prefix}.weight", dtype=np.float64),
                                       want[f"{prefix}.weight"].numpy(), rtol=1e-6, atol=1e-7)


def test_bare_model_pickle_and_cached_attributes(tmp_path):
    """``torch.save(model)`` alone; a cached ``W_inverse`` and weight norm's derived ``weight`` are ignored."""
    layout = LAYOUTS[1]
    model = build(WG, layout, seed=5)
    model.convinv[0].W_inverse = torch.eye(WG.n_group)[:, :, None]  # what glow.py's infer caches
    path = tmp_path / "bare.pt"
    with registered({"glow_old": [WaveGlow, WN], "glow": [Invertible1x1Conv]}):
        torch.save(model, path)
    ck = load_checkpoint(path)
    assert ck.meta["source_format"] == FULL_MODEL and ck.meta["model_class"] == "glow_old.WaveGlow"
    assert set(ck.state_dict) == set(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(ck.state_dict[key], value.numpy())


@pytest.mark.parametrize("change, message", [
    (lambda m: setattr(m.upsample, "padding", (3,)), r"upsample .* has padding \(3,\)"),
    (lambda m: setattr(m.WN[1].in_layers[1], "dilation", (1,)), r"WN\.1\.in_layers\.1 has dilation \(1,\)"),
], ids=["upsample-padding", "wn-dilation"])
def test_pickled_conv_settings_that_would_change_the_math_are_refused(tmp_path, change, message):
    layout = LAYOUTS[0]
    model = build(WG, layout, seed=6)
    change(model)
    path = tmp_path / "odd.pt"
    save_full_model(path, model, layout)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_pickled_sizes_are_cross_checked_with_the_shapes(tmp_path):
    layout = LAYOUTS[0]
    model = build(WG, layout, seed=7)
    model.n_group, model.n_early_every = 8, 2  # what the original classes keep: agreeing values pass
    path = tmp_path / "sizes.pt"
    save_full_model(path, model, layout)
    assert extract(path, tmp_path / "ok.h5").config.n_early_every == 2
    model.n_group = 6
    save_full_model(path, model, layout)
    with pytest.raises(HParamMismatchError, match="n_group: inferred 8, checkpoint config 6"):
        extract(path, tmp_path / "bad.h5")
