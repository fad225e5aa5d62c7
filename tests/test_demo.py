"""Demo checkpoints: DLE layout, determinism, non-trivial weights, calibrated stop step, cached atomic writing."""

from __future__ import annotations

import pytest
import torch

from fixtures_reference import SMALL_T2, SMALL_WG, small_t2_ckpt, small_wg_ckpt  # noqa: F401 (fixtures)
from trtnet.tools.cli import main as cli_main
from trtnet.weights import demo
from trtnet.weights.config import Tacotron2Config, WaveGlowConfig
from trtnet.weights.reference import Tacotron2Reference, WaveGlowReference

DLE_T2_KEYS = ["mask_padding", "n_mel_channels", "n_symbols", "symbols_embedding_dim", "encoder_kernel_size",
               "encoder_n_convolutions", "encoder_embedding_dim", "attention_rnn_dim", "attention_dim",
               "attention_location_n_filters", "attention_location_kernel_size", "n_frames_per_step",
               "decoder_rnn_dim", "prenet_dim", "max_decoder_steps", "gate_threshold", "p_attention_dropout",
               "p_decoder_dropout", "postnet_embedding_dim", "postnet_kernel_size", "postnet_n_convolutions",
               "decoder_no_early_stopping"]


def test_checkpoint_layout_and_dle_configs(small_t2_ckpt, small_wg_ckpt):
    assert set(small_t2_ckpt) == {"epoch", "config", "state_dict", "optimizer"} == set(small_wg_ckpt)
    assert list(small_t2_ckpt["config"]) == DLE_T2_KEYS
    assert set(small_t2_ckpt["state_dict"]) == set(Tacotron2Reference(SMALL_T2).state_dict())
    assert set(small_wg_ckpt["state_dict"]) == set(WaveGlowReference(SMALL_WG).state_dict())
    assert demo.dle_waveglow_config(WaveGlowConfig()) == {
        "n_mel_channels": 80, "n_flows": 12, "n_group": 8, "n_early_every": 4, "n_early_size": 2,
        "WN_config": {"n_layers": 8, "kernel_size": 3, "n_channels": 256}}
    assert Tacotron2Reference.from_checkpoint(small_t2_ckpt).config == SMALL_T2
    assert WaveGlowReference.from_checkpoint(small_wg_ckpt).config == SMALL_WG


def test_same_seed_same_tensors_other_seed_differs(small_t2_ckpt, small_wg_ckpt):
    again = demo.tacotron2_checkpoint(SMALL_T2, seed=0)["state_dict"]
    assert all(torch.equal(again[k], v) for k, v in small_t2_ckpt["state_dict"].items())
    wg_again = demo.waveglow_checkpoint(SMALL_WG, seed=0)["state_dict"]
    assert all(torch.equal(wg_again[k], v) for k, v in small_wg_ckpt["state_dict"].items())
    other = demo.waveglow_checkpoint(SMALL_WG, seed=1)["state_dict"]
    assert not torch.equal(other["WN.0.start.weight_v"], small_wg_ckpt["state_dict"]["WN.0.start.weight_v"])


def test_weights_are_non_trivial(small_t2_ckpt, small_wg_ckpt):
    sd = small_t2_ckpt["state_dict"]
    for prefix in ("encoder.convolutions.0.1", "postnet.convolutions.4.1"):
        assert sd[f"{prefix}.running_mean"].abs().min() > 0 and (sd[f"{prefix}.running_var"] - 1).abs().max() > 0.1
        assert (sd[f"{prefix}.weight"] - 1).abs().max() > 0.1 and sd[f"{prefix}.bias"].abs().max() > 0.05
    assert sd["embedding.weight"][0].abs().sum() > 0  # pad row is a learned vector, as in DLE
    wg = small_wg_ckpt["state_dict"]
    for k in range(SMALL_WG.n_flows):
        end = wg[f"WN.{k}.end.weight"]
        assert 0 < end.abs().max() < 0.1
        w = wg[f"convinv.{k}.conv.weight"][:, :, 0].double()
        torch.testing.assert_close(w @ w.T, torch.eye(w.shape[0], dtype=torch.float64), rtol=0, atol=1e-6)
        assert torch.det(w) == pytest.approx(1.0, abs=1e-6)
    v, g = wg["WN.2.in_layers.1.weight_v"], wg["WN.2.in_layers.1.weight_g"]
    assert not torch.allclose(g, v.norm(dim=(1, 2), keepdim=True))  # g is not just ‖v‖


def _stop(model: Tacotron2Reference, **kwargs) -> int:
    tokens, lengths = demo.default_text_tokens()
    out = model.infer(tokens, lengths, **kwargs)
    assert out["n_steps"] == int(out["mel_lengths"][0]) + 1
    return int(out["mel_lengths"][0])


def test_small_stop_step_dropout_off_and_on(small_t2_ckpt):
    model = Tacotron2Reference.from_checkpoint(small_t2_ckpt)
    lo, hi = demo.FAST_PLAN.window
    stop = _stop(model, dropout="off")
    assert lo <= stop <= hi
    assert _stop(model.double(), dropout="off") == stop
    for seed in range(3):  # the planted alignment ignores the prenet, so dropout keeps the stop near
        assert lo <= _stop(model, generator=torch.Generator().manual_seed(seed)) <= hi


def test_stop_depends_on_text_length(small_t2_ckpt):
    model = Tacotron2Reference.from_checkpoint(small_t2_ckpt)
    tokens, lengths = demo.default_text_tokens()
    short = model.infer(tokens[:, :40], torch.tensor([40]), dropout="off")
    assert 5 < int(short["mel_lengths"][0]) < _stop(model, dropout="off")


@pytest.mark.slow
def test_full_stop_step_is_realistic():
    """~10 s on an idle 2-core CPU (two ~600-step full-size decoder runs)."""
    model, calibration = demo.tacotron2_model(Tacotron2Config(), seed=0)
    lo, hi = demo.SLOW_PLAN.window
    assert lo <= calibration.stop_step <= hi and calibration.margin > 0.1
    assert _stop(model, dropout="off") == calibration.stop_step


def test_write_demo_checkpoints_cached_and_atomic(tmp_path, monkeypatch):
    paths = demo.write_demo_checkpoints(tmp_path, size="small", seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tacotron2_demo_small.pt", "tacotron2_demo_small.pt.key",
        "waveglow_demo_small.pt", "waveglow_demo_small.pt.key"]
    assert Tacotron2Reference.from_checkpoint(paths["tacotron2"]).config == SMALL_T2
    assert WaveGlowReference.from_checkpoint(paths["waveglow"]).config == SMALL_WG
    stamps = {k: p.stat().st_mtime_ns for k, p in paths.items()}

    def fail(*_args, **_kwargs):
        raise AssertionError("rebuilt a cached checkpoint")

    monkeypatch.setattr(demo, "tacotron2_checkpoint", fail)
    monkeypatch.setattr(demo, "waveglow_checkpoint", fail)
    assert demo.write_demo_checkpoints(tmp_path, size="small", seed=0) == paths
    assert {k: p.stat().st_mtime_ns for k, p in paths.items()} == stamps
    monkeypatch.undo()
    paths["waveglow"].with_name("waveglow_demo_small.pt.key").write_text("{}")
    demo.write_demo_checkpoints(tmp_path, size="small", seed=0)  # stale record: rebuilt
    assert paths["waveglow"].stat().st_mtime_ns != stamps["waveglow"]
    assert paths["tacotron2"].stat().st_mtime_ns == stamps["tacotron2"]
    with pytest.raises(ValueError, match="demo size"):
        demo.write_demo_checkpoints(tmp_path, size="huge")


def test_cli_demo_checkpoints(tmp_path, capsys):
    assert cli_main(["demo-checkpoints", "-o", str(tmp_path), "--size", "small", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert f"tacotron2: {tmp_path / 'tacotron2_demo_small.pt'}" in out
    assert f"waveglow: {tmp_path / 'waveglow_demo_small.pt'}" in out
    ckpt = torch.load(tmp_path / "waveglow_demo_small.pt", weights_only=True)
    seed0 = demo.waveglow_checkpoint(SMALL_WG, 0)["state_dict"]
    assert not torch.equal(ckpt["state_dict"]["WN.0.end.bias"], seed0["WN.0.end.bias"])
