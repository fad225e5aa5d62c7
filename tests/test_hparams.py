"""weights.hparams: configs come back from shapes alone; checkpoint configs and overrides are cross-checked."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from trtnet.weights.config import ConfigError, Tacotron2Config, WaveGlowConfig
from trtnet.weights.errors import ArchitectureError, HParamMismatchError, WeightKeysError
from trtnet.weights.hparams import (NOT_INFERRED, detect_architecture, infer_config, infer_tacotron2_config,
                                    infer_waveglow_config)
from trtnet.weights.schema import dle_shapes

CONFIGS = [
    Tacotron2Config(),
    Tacotron2Config.small(),
    Tacotron2Config.small(n_frames_per_step=3, encoder_n_convolutions=2, postnet_n_convolutions=3,
                          symbols_embedding_dim=20, n_symbols=66),
    WaveGlowConfig(),
    WaveGlowConfig(wn_n_channels=512),
    WaveGlowConfig(wn_n_channels=128, n_mel_channels=40),
    WaveGlowConfig.small(),
    WaveGlowConfig.small(n_flows=7, n_group=12, n_early_every=3, n_early_size=4, wn_kernel_size=5),
    WaveGlowConfig.small(n_flows=3, n_early_every=4),  # no early output at all: every/size not identifiable
]


def _zeros(config) -> dict[str, np.ndarray]:
    """A DLE-layout state_dict of zeros (broadcast views: shapes are all inference needs)."""
    return {k: np.broadcast_to(np.float32(0), s) for k, s in dle_shapes(config).items()}


def _not_inferred(config) -> dict:
    names = NOT_INFERRED[config.architecture] + config.runtime_fields
    return {f: getattr(config, f) for f in names}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.architecture}")
def test_config_round_trips_through_shapes(config):
    sd = _zeros(config)
    assert detect_architecture(sd) == config.architecture
    assert infer_config(sd, overrides=_not_inferred(config)) == config


def test_defaults_for_what_shapes_cannot_tell():
    cfg = infer_waveglow_config(_zeros(WaveGlowConfig.small()))
    assert (cfg.upsample_stride, cfg.sigma, cfg.denoiser_strength) == (256, 0.9, 0.01)
    t2 = infer_tacotron2_config(_zeros(Tacotron2Config.small()))
    assert (t2.max_decoder_steps, t2.gate_threshold) == (2000, 0.5)


def _dle_waveglow_kwargs(c: WaveGlowConfig) -> dict:
    return dict(n_mel_channels=c.n_mel_channels, n_flows=c.n_flows, n_group=c.n_group, n_early_every=c.n_early_every,
                n_early_size=c.n_early_size, WN_config=dict(n_layers=c.wn_n_layers, kernel_size=c.wn_kernel_size,
                                                            n_channels=c.wn_n_channels))


def test_dle_checkpoint_configs_agree():
    t2 = Tacotron2Config.small()
    dle = {**t2.to_dict(), "mask_padding": False, "p_attention_dropout": 0.1, "decoder_no_early_stopping": False}
    assert infer_tacotron2_config(_zeros(t2), ckpt_config=dle).architecture_dict() == t2.architecture_dict()
    wg = WaveGlowConfig()
    assert infer_waveglow_config(_zeros(wg), ckpt_config=_dle_waveglow_kwargs(wg)) == wg


def test_checkpoint_config_mismatch_lists_every_field():
    wg = WaveGlowConfig.small()
    dle = _dle_waveglow_kwargs(wg.replace(wn_n_channels=512, n_flows=12))
    with pytest.raises(HParamMismatchError) as e:
        infer_waveglow_config(_zeros(wg), ckpt_config=dle, source="wg.pt")
    assert sorted(e.value.mismatches) == [("n_flows", 6, 12), ("wn_n_channels", 16, 512)]
    assert "wg.pt" in str(e.value) and "wn_n_channels: inferred 16, checkpoint config 512" in str(e.value)


def test_runtime_settings_in_checkpoint_config_are_not_adopted(caplog):
    t2 = Tacotron2Config.small()
    with caplog.at_level(logging.INFO, logger="trtnet.weights.hparams"):
        cfg = infer_tacotron2_config(_zeros(t2), ckpt_config={"max_decoder_steps": 1000})
    assert cfg.max_decoder_steps == 2000 and "the checkpoint's config says 1000, which DLE also ignores" in caplog.text


def test_overrides():
    sd = _zeros(Tacotron2Config.small())
    cfg = infer_tacotron2_config(sd, overrides={"max_decoder_steps": 50, "gate_threshold": None, "prenet_dim": 10})
    assert (cfg.max_decoder_steps, cfg.gate_threshold) == (50, 0.5)
    with pytest.raises(HParamMismatchError, match="prenet_dim: inferred 10, override 64"):
        infer_tacotron2_config(sd, overrides={"prenet_dim": 64})
    with pytest.raises(ConfigError, match=r"tacotron2 has no setting\(s\) \['sigma'\]"):
        infer_tacotron2_config(sd, overrides={"sigma": 0.5})


@pytest.mark.parametrize("ckpt, expected", [
    ({}, (4, 2)),  # default reproduces "no drop" for 3 flows
    ({"n_early_every": 2, "n_early_size": 0}, (2, 0)),  # the checkpoint's pair reproduces the shapes: kept
])
def test_unidentifiable_early_outputs(ckpt, expected):
    sd = _zeros(WaveGlowConfig.small(n_flows=3, n_early_every=4))
    cfg = infer_waveglow_config(sd, ckpt_config=ckpt)
    assert (cfg.n_early_every, cfg.n_early_size) == expected


def test_early_outputs_contradicting_checkpoint_config():
    sd = _zeros(WaveGlowConfig.small(n_flows=3, n_early_every=4))
    with pytest.raises(HParamMismatchError, match="n_early_every: inferred 4, checkpoint config 2"):
        infer_waveglow_config(sd, ckpt_config={"n_early_every": 2, "n_early_size": 2})


def test_missing_key_needed_for_inference():
    sd = _zeros(Tacotron2Config.small())
    del sd["decoder.decoder_rnn.weight_hh"]
    with pytest.raises(WeightKeysError, match="cannot infer decoder_rnn_dim") as e:
        infer_tacotron2_config(sd, source="t2.pt")
    assert e.value.missing == ["decoder.decoder_rnn.weight_hh"] and str(e.value).startswith("t2.pt")


def test_architecture_detection_errors():
    t2, wg = _zeros(Tacotron2Config.small()), _zeros(WaveGlowConfig.small())
    with pytest.raises(ArchitectureError, match="neither"):
        detect_architecture({"fc.weight": np.zeros(1)}, "x.pt")
    with pytest.raises(ArchitectureError, match=r"several models \[.tacotron2., .waveglow.\]"):
        detect_architecture({**t2, **wg}, "x.pt")
    with pytest.raises(ArchitectureError, match="a waveglow model was asked for, but the state_dict is a tacotron2"):
        infer_config(t2, "waveglow", source="x.pt")


def test_non_inferable_fields_stated_by_the_checkpoint_are_adopted():
    wg = WaveGlowConfig.small()
    dle = {**_dle_waveglow_kwargs(wg), "upsample_stride": 16}
    assert infer_waveglow_config(_zeros(wg), ckpt_config=dle).upsample_stride == 16
    with pytest.raises(HParamMismatchError, match="upsample_stride: checkpoint 16, override 32"):
        infer_waveglow_config(_zeros(wg), ckpt_config=dle, overrides={"upsample_stride": 32})
