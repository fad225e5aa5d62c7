"""HiFi-GAN generator checkpoints → HDF5: recognition, key layouts (nested / flat resblocks, trailing unit axis,
``module.``), ``gen_ema`` only when asked, config from shapes cross-checked with the checkpoint's ``config`` and
``train_setup``, and one-line errors that write nothing for the wrong files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures_hifigan import hg_small  # noqa: F401 (fixture)
from trtnet.weights.checkpoint import load_checkpoint
from trtnet.weights.config import ConfigError, HiFiGANConfig
from trtnet.weights.demo import hifigan_checkpoint, waveglow_checkpoint
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.errors import ArchitectureError, CheckpointError, HParamMismatchError, WeightsError
from trtnet.weights.extract import extract
from trtnet.weights.hparams import detect_architecture
from trtnet.weights.store import WeightStore

SMALL = HiFiGANConfig.small()


@pytest.fixture(scope="module")
def demo() -> dict:
    return hifigan_checkpoint(SMALL, 0)


def _arrays(path) -> dict[str, np.ndarray]:
    with WeightStore.open(path, "hifigan") as store:
        return {k: np.array(store.get(k)) for k in store.keys()}


def _extract(tmp_path, ckpt: dict, name: str, **kw):
    src = tmp_path / f"{name}.pt"
    torch.save(ckpt, src)
    return extract(src, tmp_path / f"{name}.h5", **kw)


def _flat(sd: dict, per_stage: int) -> dict:
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        if p[0] == "resblocks":
            k = ".".join(["resblocks", str(int(p[1]) * per_stage + int(p[2]))] + p[3:])
        out[k] = v
    return out


def test_the_demo_extracts_to_its_config_and_key_set(hg_small):
    assert hg_small.store.config == SMALL and hg_small.store.architecture == "hifigan"
    assert hg_small.store.attrs["source_format"].startswith("dle-hifigan (zip")
    keys = hg_small.store.keys()
    assert "resblocks.3.2.convs2.2.weight" in keys and "ups.0.weight" in keys and "denoiser.bias_spec" in keys
    assert not any(k.endswith(("weight_g", "weight_v")) for k in keys)


@pytest.mark.parametrize("layout", ["flat", "unit-axis", "flat+unit-axis+module"])
def test_key_layouts_extract_identically(tmp_path, demo, layout):
    base = _arrays(_extract(tmp_path, demo, "nested").out_path)
    sd = dict(demo["generator"])
    if "flat" in layout:
        sd = _flat(sd, SMALL.num_kernels)
        assert "resblocks.11.convs1.0.weight_v" in sd
    if "unit-axis" in layout:
        sd = {k: v.unsqueeze(-1) if k.endswith(("weight_v", "weight_g")) else v for k, v in sd.items()}
    if "module" in layout:
        sd = {f"module.{k}": v for k, v in sd.items()}
    report = _extract(tmp_path, {**demo, "generator": sd}, "other")
    assert report.config == SMALL
    other = _arrays(report.out_path)
    assert sorted(other) == sorted(base)
    for k in base:
        np.testing.assert_array_equal(other[k], base[k], err_msg=k)
    meta = load_checkpoint(tmp_path / "other.pt").meta
    assert ("flat resblocks (3 per stage)" if "flat" in layout else "nested") in meta["layout"]


def test_gen_ema_is_read_only_when_asked(tmp_path, demo):
    ema = {k: v * 1.5 if k.endswith("bias") else v for k, v in demo["generator"].items()}
    ckpt = {**demo, "gen_ema": ema}
    plain = _arrays(_extract(tmp_path, ckpt, "plain").out_path)
    np.testing.assert_array_equal(plain["conv_post.bias"], demo["generator"]["conv_post.bias"].numpy())
    used = _arrays(extract(tmp_path / "plain.pt", tmp_path / "ema.h5", use_ema=True).out_path)
    np.testing.assert_allclose(used["conv_post.bias"], 1.5 * plain["conv_post.bias"], rtol=1e-6)
    with pytest.raises(CheckpointError, match="'gen_ema' state dict is None"):
        extract(_save(tmp_path, demo, "no_ema"), tmp_path / "none.h5", use_ema=True)
    assert not (tmp_path / "none.h5").exists()


def _save(tmp_path, obj, name="ckpt"):
    path = tmp_path / f"{name}.pt"
    torch.save(obj, path)
    return path


def _bad_cases(demo):
    sd = demo["generator"]
    wrong_channels = {**demo["config"], "upsample_initial_channel": 64}
    return {
        "discriminator": ({"mpd": {"a": torch.zeros(1)}, "msd": {}, "optim_d": {}, "train_state": {}, "steps": 1},
                          CheckpointError, r"a HiFi-GAN discriminator checkpoint .*hifigan_gen_checkpoint_<epoch>\.pt"),
        "no-generator": ({k: v for k, v in demo.items() if k != "generator"}, CheckpointError,
                         r"'generator' state dict is missing"),
        "config-vs-shapes": ({**demo, "config": wrong_channels}, HParamMismatchError,
                             r"upsample_initial_channel: inferred 32, checkpoint config 64"),
        "hop-vs-rates": ({**demo, "train_setup": {**demo["train_setup"], "hop_length": 256}}, HParamMismatchError,
                         r"hop_length = Π upsample_rates: inferred 16, checkpoint train_setup 256"),
        "dilations-short": ({**demo, "config": {**demo["config"], "resblock_dilation_sizes": [[1, 3]] * 3}},
                            HParamMismatchError, r"resblock convs per block"),
        "config-not-dict": ({**demo, "config": "v1"}, ConfigError, r"'config' entry is a str"),
        "missing-key": ({**demo, "generator": {k: v for k, v in sd.items() if k != "ups.2.bias"}}, WeightsError,
                        r"missing keys \(1\): ups\.2\.bias"),
    }


@pytest.mark.parametrize("case", ["discriminator", "no-generator", "config-vs-shapes", "hop-vs-rates",
                                  "dilations-short", "config-not-dict", "missing-key"])
def test_bad_checkpoints_give_one_line_errors_and_write_nothing(tmp_path, demo, case):
    obj, error, pattern = _bad_cases(demo)[case]
    src = _save(tmp_path, obj)
    out = tmp_path / "out.h5"
    with pytest.raises(error, match=pattern) as info:
        extract(src, out)
    assert str(src) in str(info.value) and "\n" not in str(info.value)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_a_waveglow_checkpoint_where_hifigan_is_expected(tmp_path):
    src = _save(tmp_path, waveglow_checkpoint(WaveGlowConfig.small(), 0))
    with pytest.raises(ArchitectureError, match="a hifigan model was asked for, but the state_dict is a waveglow"):
        extract(src, tmp_path / "out.h5", model="hifigan")
    assert not (tmp_path / "out.h5").exists()


def test_detection_keeps_every_architecture_apart(demo):
    assert detect_architecture(demo["generator"]) == "hifigan"
    assert detect_architecture({"WN.0.start.weight_v": 0, "convinv.0.conv.weight": 0}) == "waveglow"
    assert detect_architecture({"embedding.weight": 0, "postnet.convolutions.0.0.conv.weight": 0}) == "tacotron2"
    with pytest.raises(ArchitectureError, match="keys of several models"):
        detect_architecture({"conv_pre.weight_v": 0, "WN.0.start.weight_v": 0})


def test_without_config_dle_defaults_fill_what_shapes_cannot_tell(tmp_path, demo):
    """No config, no train_setup: rates and dilations fall back to DLE's defaults when the counts fit; a
    mismatch in count is an error, not a guess."""
    full = hifigan_checkpoint(HiFiGANConfig(upsample_initial_channel=16, resblock_kernel_sizes=(3, 3, 3)), 0)
    report = _extract(tmp_path, {"generator": full["generator"]}, "bare")
    assert report.config.upsample_rates == (8, 8, 2, 2) and report.config.resblock_dilation_sizes[0] == (1, 3, 5)
    small_sd = {"generator": {k: v for k, v in demo["generator"].items()}}
    report = _extract(tmp_path, small_sd, "bare_small", overrides={"upsample_rates": [2, 2, 2, 2],
                                                                    "n_mel_channels": 12})
    assert report.config.upsample_rates == (2, 2, 2, 2) and report.config.n_mel_channels == 12


@pytest.mark.parametrize("changes,pattern", [
    (dict(upsample_rates=[8, 0]), r"upsample_rates must be a non-empty list of ints >= 1, got \[8, 0\]"),
    (dict(resblock="3"), r"resblock must be one of \['1', '2'\], got '3'"),
    (dict(upsample_kernel_sizes=(16, 16, 4, 3)), r"upsample kernel 3 with rate 2"),
    (dict(resblock_kernel_sizes=(11, 6, 3)), r"must be odd"),
    (dict(denoiser_strength=-0.1), r"denoiser_strength must be a finite number >= 0, got -0.1"),
    (dict(mel_fmax=float("nan")), r"mel_fmax must be a finite number > 0"),
])
def test_config_ranges(changes, pattern):
    with pytest.raises(ConfigError, match=pattern):
        HiFiGANConfig(**changes)
    cfg = HiFiGANConfig.small()
    assert HiFiGANConfig.from_json(cfg.to_json()) == cfg and cfg.upsample_stride == 16


def test_resblock_2_round_trips(tmp_path):
    """ResBlock2 (one conv per dilation) with DLE's 3-entry dilation lists in its config: two convs used."""
    cfg = HiFiGANConfig.small(resblock="2", resblock_dilation_sizes=((1, 3), (1, 3), (2, 4)))
    ckpt = hifigan_checkpoint(cfg, 1)
    ckpt["config"]["resblock_dilation_sizes"] = [[1, 3, 5], [1, 3, 5], [2, 4, 8]]
    report = _extract(tmp_path, ckpt, "rb2")
    assert report.config == cfg
