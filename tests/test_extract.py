"""weights.extract: DLE checkpoints → HDF5, checked against independent math and the PyTorch reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtnet.tools.cli import main as cli_main
from trtnet.weights.checkpoint import save_checkpoint
from trtnet.weights.config import Tacotron2Config, WaveGlowConfig
from trtnet.weights.errors import WeightsError
from trtnet.weights.extract import denoiser_bias_spec, extract, fold_weight_norm, invert_1x1
from trtnet.weights.hparams import NOT_INFERRED
from trtnet.weights.reference import Tacotron2Reference, WaveGlowReference, bias_spectrum
from trtnet.weights.schema import dle_shapes, expected_shapes, weight_norm_convs
from trtnet.weights.store import WeightStore

T2, WG = Tacotron2Config.small(), WaveGlowConfig.small()
WG_SETTINGS = {f: getattr(WG, f) for f in NOT_INFERRED["waveglow"]}  # what the shapes of WG cannot tell


def _random_sd(config, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded tame random tensors in the DLE layout (convinv near identity, so WaveGlow stays finite)."""
    rng = np.random.default_rng(seed)
    sd = {k: (0.05 * rng.standard_normal(s)).astype(np.float32) for k, s in dle_shapes(config).items()}
    for k in (k for k in sd if k.startswith("convinv.")):
        sd[k] += np.eye(sd[k].shape[0], dtype=np.float32)[:, :, None]
    return sd


def _shared_cond_layout(sd: dict[str, np.ndarray], config: WaveGlowConfig) -> dict[str, np.ndarray]:
    """The original NVIDIA/waveglow layout: one ``WN.k.cond_layer`` stacking the per-layer rows."""
    out = {k: v for k, v in sd.items() if ".cond_layers." not in k}
    for k in range(config.n_flows):
        for name in ("weight_g", "weight_v", "bias"):
            rows = [sd[f"WN.{k}.cond_layers.{i}.{name}"] for i in range(config.wn_n_layers)]
            out[f"WN.{k}.cond_layer.{name}"] = np.concatenate(rows)
    return out


def test_tacotron2_round_trip_is_bit_exact(tmp_path):
    sd = _random_sd(T2)
    ckpt = save_checkpoint(tmp_path / "t2.pt", sd, config=T2.to_dict(), fp16=True, ddp=True)
    report = extract(ckpt, tmp_path / "t2.h5")
    assert report.config.architecture_dict() == T2.architecture_dict()
    assert report.tensor_count == len(sd) and report.value_count == sum(a.size for a in sd.values())
    with WeightStore.open(report.out_path) as store:
        assert store.keys() == sorted(sd)
        for k, a in sd.items():
            got = store.get(k)
            assert got.dtype == np.float16
            np.testing.assert_array_equal(got, a.astype(np.float16))


@pytest.mark.parametrize("fp16, shared_cond", [(False, False), (True, False), (False, True)],
                         ids=["fp32", "fp16", "shared_cond_layer"])
def test_waveglow_round_trip(tmp_path, fp16, shared_cond):
    sd = _random_sd(WG, seed=1)
    raw = _shared_cond_layout(sd, WG) if shared_cond else sd
    ckpt = save_checkpoint(tmp_path / "wg.pt", raw, fp16=fp16)
    report = extract(ckpt, tmp_path / "wg.h5", overrides=WG_SETTINGS)
    assert report.config == WG
    src = {k: torch.from_numpy(v).half() if fp16 else torch.from_numpy(v) for k, v in sd.items()}
    with WeightStore.open(report.out_path) as store:
        assert sorted(store.keys()) == sorted(expected_shapes(WG))
        for k in (k for k in src if not k.endswith(("weight_g", "weight_v"))):
            np.testing.assert_array_equal(store.get(k), src[k].numpy())  # raw: bit-exact, source precision
        for prefix in weight_norm_convs(WG):  # folded: against torch's own weight norm, in float64
            want = torch._weight_norm(src[f"{prefix}.weight_v"].double(), src[f"{prefix}.weight_g"].double(), 0)
            got = store.get(f"{prefix}.weight", dtype=np.float64)
            assert store.get(f"{prefix}.weight").dtype == np.float32
            np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-6)
        for k in range(WG.n_flows):
            w = store.get(f"convinv.{k}.conv.weight", dtype=np.float64)[:, :, 0]
            np.testing.assert_allclose(store.get(f"convinv.{k}.W_inverse", dtype=np.float64) @ w,
                                       np.eye(w.shape[0]), atol=1e-6)
        reference = WaveGlowReference.from_checkpoint(ckpt, WG)
        np.testing.assert_allclose(store.get("denoiser.bias_spec"), bias_spectrum(reference, WG).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_degenerate_weight_math_is_reported():
    v = np.ones((2, 3, 1), np.float16)
    v[1] = 0
    w = fold_weight_norm(np.full((2, 1, 1), 2.0, np.float16), v)
    assert w.dtype == np.float32 and np.allclose(w[0], 2 / np.sqrt(3)) and np.isnan(w[1]).all()
    with pytest.raises(WeightsError, match="wg.pt: convinv.3.conv.weight is not invertible"):
        invert_1x1(np.zeros((4, 4, 1), np.float32), "convinv.3.conv.weight", "wg.pt")


def test_fast_bias_spec_equals_reference_when_truncating():
    """With 88 frames the per-flow prefixes are shorter than the audio: the shortcut must stay exact."""
    config = WG.replace(denoiser_bias_frames=88)
    sd = _random_sd(config, seed=2)
    reference = WaveGlowReference.from_checkpoint({k: torch.from_numpy(v) for k, v in sd.items()}, config)
    np.testing.assert_allclose(denoiser_bias_spec(sd, config), bias_spectrum(reference, config).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", [T2, WG, Tacotron2Config(), WaveGlowConfig(wn_n_channels=512)],
                         ids=["t2_small", "wg_small", "t2_full", "wg_512"])
def test_dle_shapes_match_the_reference_models(config):
    with torch.device("meta"):
        model = (Tacotron2Reference if isinstance(config, Tacotron2Config) else WaveGlowReference)(config)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert shapes == dle_shapes(config)


def test_cli_prints_config_and_count(tmp_path, capsys):
    ckpt = save_checkpoint(tmp_path / "wg.pt", _random_sd(WG), ddp=True)
    rc = cli_main(["extract-weights", str(ckpt), "-o", str(tmp_path / "wg.h5"), "--model", "waveglow",
                   "--upsample-stride", "16", "--sigma", "0.6"])
    out = capsys.readouterr().out
    assert rc == 0 and "waveglow" in out and "wn_n_channels" in out
    assert f"{len(expected_shapes(WG))} tensors" in out
    with WeightStore.open(tmp_path / "wg.h5") as store:
        assert (store.config.sigma, store.config.upsample_stride) == (0.6, 16)


@pytest.mark.slow
def test_full_size_tacotron2_round_trip(tmp_path):
    sd = _random_sd(Tacotron2Config(), seed=3)
    ckpt = save_checkpoint(tmp_path / "t2.pt", sd, config=Tacotron2Config().to_dict(), ddp=True)
    report = extract(ckpt, tmp_path / "t2.h5")
    assert report.config == Tacotron2Config() and report.value_count > 28_000_000
    with WeightStore.open(report.out_path) as store:
        for k, a in sd.items():
            np.testing.assert_array_equal(store.get(k, shape=a.shape), a)


def test_demo_checkpoints_extract_cleanly(tmp_path):
    demo = pytest.importorskip("trtnet.weights.demo")
    paths = demo.write_demo_checkpoints(tmp_path, size="small", seed=0)
    t2 = extract(paths["tacotron2"], tmp_path / "t2.h5")
    wg = extract(paths["waveglow"], tmp_path / "wg.h5")
    assert t2.config.architecture_dict() == T2.architecture_dict()
    assert (wg.config.upsample_stride, wg.config.wn_n_channels) == (WG.upsample_stride, WG.wn_n_channels)
    with WeightStore.open(wg.out_path) as store:
        assert np.isfinite(store.get("denoiser.bias_spec")).all()
