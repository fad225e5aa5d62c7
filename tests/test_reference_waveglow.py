"""Plain-PyTorch WaveGlow, STFT and denoiser references: DLE keys, flow algebra, the noise contract, STFT math."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fixtures_reference import SMALL_WG, small_wg, small_wg_ckpt  # noqa: F401 (fixtures)
from trtnet.weights.config import WaveGlowConfig
from trtnet.weights.reference import (STFT, Denoiser, ReferenceLoadError, WaveGlowReference, bias_spectrum,
                                      periodic_hann, window_sumsquare)


def dle_waveglow_keys(c: int = 256) -> dict[str, tuple]:
    """Spec §2.2 for the NGC layout (12 flows, 8 groups, early 2 every 4, 8 WN layers, C channels)."""
    keys: dict[str, tuple] = {"upsample.weight": (80, 80, 1024), "upsample.bias": (80,)}
    for k in range(12):
        ck = 8 if k < 4 else 6 if k < 8 else 4
        half = ck // 2
        keys[f"convinv.{k}.conv.weight"] = (ck, ck, 1)
        wn = f"WN.{k}"
        keys |= {f"{wn}.start.bias": (c,), f"{wn}.start.weight_g": (c, 1, 1), f"{wn}.start.weight_v": (c, half, 1)}
        for i in range(8):
            out = 2 * c if i < 7 else c
            keys |= {f"{wn}.in_layers.{i}.bias": (2 * c,), f"{wn}.in_layers.{i}.weight_g": (2 * c, 1, 1),
                     f"{wn}.in_layers.{i}.weight_v": (2 * c, c, 3),
                     f"{wn}.cond_layers.{i}.bias": (2 * c,), f"{wn}.cond_layers.{i}.weight_g": (2 * c, 1, 1),
                     f"{wn}.cond_layers.{i}.weight_v": (2 * c, 640, 1),
                     f"{wn}.res_skip_layers.{i}.bias": (out,), f"{wn}.res_skip_layers.{i}.weight_g": (out, 1, 1),
                     f"{wn}.res_skip_layers.{i}.weight_v": (out, c, 1)}
        keys |= {f"{wn}.end.weight": (2 * half, c, 1), f"{wn}.end.bias": (2 * half,)}
    return keys


@pytest.mark.parametrize("channels", [256, 512])
def test_state_dict_is_exactly_dle(channels):
    with torch.device("meta"):
        state = WaveGlowReference(WaveGlowConfig(wn_n_channels=channels)).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == dle_waveglow_keys(channels)
    if channels == 256:
        assert sum(v.numel() for v in state.values()) == pytest.approx(87.9e6, rel=0.01)


def test_weight_norm_effective_weight(small_wg):
    conv = small_wg.WN[1].in_layers[2]
    g, v = conv.weight_g, conv.weight_v
    expected = torch.stack([g[o, 0, 0] * v[o] / torch.sqrt((v[o] ** 2).sum()) for o in range(v.shape[0])])
    torch.testing.assert_close(conv.weight, expected, rtol=1e-12, atol=1e-14)
    x = torch.randn(1, v.shape[1], 11, dtype=torch.float64)
    torch.testing.assert_close(conv(x), F.conv1d(x, expected, conv.bias, padding=4, dilation=4), rtol=1e-12, atol=1e-12)


def _flow_forward(model: WaveGlowReference, k: int, audio: torch.Tensor, spect: torch.Tensor) -> torch.Tensor:
    """Training direction of flow k: x ← W·x; a1 ← exp(s)·a1 + b with (b, s) = WN(a0)."""
    w = model.convinv[k].conv.weight
    audio = F.conv1d(audio, w)
    h = audio.shape[1] // 2
    out = model.WN[k](audio[:, :h], spect)
    return torch.cat([audio[:, :h], torch.exp(out[:, h:]) * audio[:, h:] + out[:, :h]], dim=1)


@pytest.mark.parametrize("k", [0, 3, 5])
def test_flow_inverse_undoes_forward(small_wg, k):
    mel = torch.randn(2, SMALL_WG.n_mel_channels, 5, dtype=torch.float64)
    spect = small_wg.upsample_and_group(mel)
    x = torch.randn(2, SMALL_WG.remaining_channels(k), spect.shape[2], dtype=torch.float64)
    y = _flow_forward(small_wg, k, x, spect)
    assert not torch.allclose(y, x, atol=1e-3)  # the flow does something (end ≠ 0, W ≠ I)
    torch.testing.assert_close(small_wg.flow_inverse(k, y, spect), x, rtol=1e-10, atol=1e-10)


def test_convinv_is_orthonormal_and_inverse_is_float64(small_wg):
    for flow in small_wg.convinv:
        w = flow.conv.weight.squeeze(-1)
        torch.testing.assert_close(w @ w.T, torch.eye(w.shape[0], dtype=w.dtype), rtol=0, atol=1e-6)
        assert torch.det(w) > 0
        torch.testing.assert_close(flow.inverse_weight() @ w, torch.eye(w.shape[0], dtype=w.dtype), rtol=0, atol=1e-12)


def test_upsample_and_group_layout(small_wg):
    mel = torch.randn(1, SMALL_WG.n_mel_channels, 3, dtype=torch.float64)
    up = small_wg.upsample(mel)
    s, g = SMALL_WG.upsample_stride, SMALL_WG.n_group
    assert up.shape[2] == (3 - 1) * s + SMALL_WG.upsample_kernel_size
    spect = small_wg.upsample_and_group(mel)
    assert spect.shape == (1, SMALL_WG.n_mel_channels * g, 3 * s // g)
    for m, pos, t in [(0, 0, 0), (5, 3, 2), (11, 7, 5)]:
        assert spect[0, m * g + pos, t] == up[0, m, g * t + pos]


def test_noise_order_and_sigma_with_identity_flows(small_wg):
    """With end = 0 and W = I every flow is the identity, so the output exposes the channel order of z."""
    for wn, flow in zip(small_wg.WN, small_wg.convinv):
        wn.end.weight.data.zero_()
        wn.end.bias.data.zero_()
        flow.conv.weight.data.copy_(torch.eye(flow.conv.weight.shape[0], dtype=torch.float64)[:, :, None])
    mel = torch.randn(1, SMALL_WG.n_mel_channels, 2, dtype=torch.float64)
    t = 2 * SMALL_WG.upsample_stride // SMALL_WG.n_group
    z = torch.randn(1, SMALL_WG.n_group, t, dtype=torch.float64)
    audio = small_wg.infer(mel, sigma=0.7, z=z)
    # small: 4 initial channels, injections at flows 4 then 2 → final order [z6 z7 z4 z5 z0 z1 z2 z3]
    order = [6, 7, 4, 5, 0, 1, 2, 3]
    expected = (0.7 * z[0, order]).T.reshape(-1)  # sample n = G·t + c
    torch.testing.assert_close(audio[0], expected, rtol=0, atol=0)


def test_sigma_scales_every_noise_channel(small_wg):
    mel = torch.randn(2, SMALL_WG.n_mel_channels, 4, dtype=torch.float64)
    t = 4 * SMALL_WG.upsample_stride // SMALL_WG.n_group
    z = torch.randn(2, SMALL_WG.n_group, t, dtype=torch.float64)
    torch.testing.assert_close(small_wg.infer(mel, sigma=0.6, z=z), small_wg.infer(mel, sigma=1.0, z=0.6 * z))
    z_early = z.clone()
    z_early[:, SMALL_WG.n_remaining_channels:] += 1.0
    assert torch.equal(small_wg.infer(mel, sigma=0.0, z=z), small_wg.infer(mel, sigma=0.0, z=z_early))
    assert not torch.allclose(small_wg.infer(mel, sigma=0.5, z=z), small_wg.infer(mel, sigma=0.5, z=z_early))
    with pytest.raises(ValueError, match="expected"):
        small_wg.infer(mel, z=z[:, :, :-1])


def test_generator_draws_the_fed_noise_layout(small_wg):
    mel = torch.randn(1, SMALL_WG.n_mel_channels, 3, dtype=torch.float64)
    t = 3 * SMALL_WG.upsample_stride // SMALL_WG.n_group
    drawn = small_wg.infer(mel, sigma=0.9, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    parts = [torch.randn(1, n, t, generator=gen) for n in (4, 2, 2)]  # initial, then injections in pass order
    fed = small_wg.infer(mel, sigma=0.9, z=torch.cat(parts, dim=1).double())
    torch.testing.assert_close(drawn, fed, rtol=0, atol=0)
    assert drawn.shape == (1, 3 * SMALL_WG.upsample_stride)


def test_float32_and_float64_agree(small_wg_ckpt):
    m32 = WaveGlowReference.from_checkpoint(small_wg_ckpt)
    m64 = WaveGlowReference.from_checkpoint(small_wg_ckpt).double()
    mel = torch.randn(1, SMALL_WG.n_mel_channels, 6) * 2 - 5
    z = torch.randn(1, SMALL_WG.n_group, 6 * SMALL_WG.upsample_stride // SMALL_WG.n_group)
    a32, a64 = m32.infer(mel, 0.6, z), m64.infer(mel.double(), 0.6, z.double())
    assert a32.dtype == torch.float32
    torch.testing.assert_close(a32.double(), a64, rtol=1e-4, atol=1e-5)


def test_from_checkpoint_config_prefix_fp16_and_shared_cond_layer(small_wg_ckpt, tmp_path):
    ref = WaveGlowReference.from_checkpoint(small_wg_ckpt)
    assert ref.config == SMALL_WG
    state = small_wg_ckpt["state_dict"]
    n = SMALL_WG.wn_n_layers
    shared = {}
    for key, value in state.items():
        if ".cond_layers." in key:
            wn, rest = key.split(".cond_layers.")
            i, field = rest.split(".")
            if i == "0":
                shared[f"module.{wn}.cond_layer.{field}"] = torch.cat(
                    [state[f"{wn}.cond_layers.{j}.{field}"] for j in range(n)], dim=0).half()
        else:
            shared[f"module.{key}"] = value.half() if value.is_floating_point() else value
    torch.save({"state_dict": shared, "config": small_wg_ckpt["config"]}, tmp_path / "orig.pt")
    other = WaveGlowReference.from_checkpoint(tmp_path / "orig.pt")
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(other.state_dict()[key], value.half().float(), rtol=0, atol=0)
    with pytest.raises(ReferenceLoadError, match="WN.0.start.weight_v"):
        WaveGlowReference.from_checkpoint(small_wg_ckpt, WaveGlowConfig.small(wn_n_channels=8))


def test_dle_config_dict_maps_to_fields(small_wg_ckpt):
    dle = {"n_mel_channels": 12, "n_flows": 6, "n_group": 8, "n_early_every": 2, "n_early_size": 2,
           "WN_config": {"n_layers": 3, "kernel_size": 3, "n_channels": 16},
           "upsample_kernel_size": 64, "upsample_stride": 16}
    model = WaveGlowReference.from_checkpoint({"config": dle, "state_dict": small_wg_ckpt["state_dict"]})
    assert (model.config.wn_n_layers, model.config.wn_kernel_size, model.config.wn_n_channels) == (3, 3, 16)
    assert model.config.n_early_every == 2 and model.config.stft_filter_length == 1024  # not in the dict: default


# ----- STFT and denoiser -----

def test_periodic_hann_and_window_sumsquare():
    np.testing.assert_allclose(periodic_hann(16), torch.hann_window(16, periodic=True, dtype=torch.float64).numpy(),
                               atol=1e-15)
    n, hop, frames = 16, 4, 5
    w2 = periodic_hann(n) ** 2
    brute = np.zeros(n + hop * (frames - 1))
    for i in range(frames):
        brute[i * hop:i * hop + n] += w2
    np.testing.assert_allclose(window_sumsquare(frames, hop, n, n), brute, atol=1e-15)


def test_stft_transform_matches_torch_stft():
    stft = STFT(64, 16, 64).double()
    audio = torch.randn(2, 300, dtype=torch.float64)
    magnitude, phase = stft.transform(audio)
    ref = torch.stft(audio, 64, 16, 64, window=torch.hann_window(64, dtype=torch.float64), center=True,
                     pad_mode="reflect", return_complex=True)
    assert magnitude.shape == ref.shape == (2, 33, 300 // 16 + 1)
    torch.testing.assert_close(magnitude, ref.abs(), rtol=1e-10, atol=1e-10)
    big = ref.abs() > 1e-6
    torch.testing.assert_close(torch.polar(torch.ones_like(phase), phase)[big], torch.polar(torch.ones_like(phase),
                               ref.angle())[big], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("n_fft,hop,win", [(64, 16, 64), (1024, 256, 1024), (64, 16, 48)])
def test_stft_round_trip_reconstructs(n_fft, hop, win):
    stft = STFT(n_fft, hop, win).double()
    audio = torch.randn(2, hop * 20, dtype=torch.float64)
    back = stft.inverse(*stft.transform(audio))
    assert back.shape == (2, 1, hop * 20)
    torch.testing.assert_close(back[:, 0, 1:], audio[:, 1:], rtol=1e-9, atol=1e-9)


def test_stft_inverse_basis_is_the_windowed_pseudo_inverse():
    stft = STFT(64, 16, 48)
    k, n = np.arange(33)[:, None], np.arange(64)[None, :]
    fourier = np.vstack([np.cos(2 * np.pi * k * n / 64), -np.sin(2 * np.pi * k * n / 64)])
    window = np.pad(periodic_hann(48), (8, 8))
    np.testing.assert_allclose(stft.inverse_basis[:, 0].numpy(), np.linalg.pinv(4.0 * fourier).T * window, atol=1e-12)
    np.testing.assert_allclose(stft.forward_basis[:, 0].numpy(), np.real(np.vstack(
        [np.fft.fft(np.eye(64))[:33].real, np.fft.fft(np.eye(64))[:33].imag])) * window, atol=1e-12)


def test_stft_rejects_too_short_input():
    with pytest.raises(ValueError, match="L > 32"):
        STFT(64, 16, 64).transform(torch.zeros(1, 20))


def test_denoiser_bias_and_strength(small_wg):
    cfg = SMALL_WG
    den = Denoiser.from_config(small_wg)
    assert den.bias_spec.shape == (1, cfg.stft_filter_length // 2 + 1, 1)
    torch.testing.assert_close(bias_spectrum(small_wg, cfg), den.bias_spec[0, :, 0], rtol=0, atol=0)
    bias_audio = small_wg.infer(torch.zeros(1, cfg.n_mel_channels, cfg.denoiser_bias_frames, dtype=torch.float64), 0.0)
    expected = STFT(cfg.stft_filter_length, cfg.stft_hop_length, cfg.stft_win_length).double().transform(bias_audio)[0]
    torch.testing.assert_close(den.bias_spec[0, :, 0], expected[0, :, 0], rtol=0, atol=0)
    assert den.bias_spec.abs().sum() > 0
    audio = small_wg.infer(torch.randn(2, cfg.n_mel_channels, 8, dtype=torch.float64), 0.6)
    same = den(audio, strength=0.0)
    torch.testing.assert_close(same[:, 0, 1:], audio[:, 1:], rtol=1e-9, atol=1e-9)
    cleaned = den(bias_audio, strength=1.0)
    assert cleaned[0, 0, 16:-16].pow(2).sum() < 0.5 * bias_audio[0, 16:-16].pow(2).sum()
