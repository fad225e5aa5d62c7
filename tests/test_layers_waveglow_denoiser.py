"""weights.stft_basis and the denoiser network vs the independent reference STFT / Denoiser (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trtnet.layers.options import NetworkOptions
from trtnet.weights import stft_basis
from trtnet.weights.reference import STFT, Denoiser, bias_spectrum, periodic_hann, window_sumsquare
from fixtures_waveglow import full_width, relative_error, run_network, wg_full, wg_small  # noqa: F401 (fixtures)

SIZES = [(64, 16, 64), (64, 16, 48), (1024, 256, 1024)]  # (filter, hop, win): small demo, short window, DLE


@pytest.mark.parametrize("length", [1, 7, 64, 1024])
def test_periodic_hann(length):
    w = stft_basis.periodic_hann(length)
    n = np.arange(length)
    np.testing.assert_allclose(w, np.sin(np.pi * n / length) ** 2, atol=1e-15)  # ½ − ½cos 2x = sin² x
    np.testing.assert_allclose(w, periodic_hann(length), atol=1e-15)
    assert w[0] == 0.0
    np.testing.assert_allclose(w[1:], w[1:][::-1], atol=1e-15)  # periodic: w[n] = w[N − n], not symmetric in N−1
    if length >= 4:
        assert w.sum() == pytest.approx(length / 2)


@pytest.mark.parametrize("n,hop,win", SIZES)
def test_bases_match_the_reference_stft(n, hop, win):
    fwd, inv = stft_basis.forward_basis(n, hop, win), stft_basis.inverse_basis(n, hop, win)
    assert fwd.shape == inv.shape == (2 * (n // 2 + 1), 1, n) and fwd.dtype == inv.dtype == np.float64
    ref = STFT(n, hop, win)
    np.testing.assert_allclose(fwd, ref.forward_basis.numpy(), atol=1e-12)
    np.testing.assert_allclose(inv, ref.inverse_basis.numpy(), atol=1e-15 * n)
    for frames in (1, 2, 5, 13):
        np.testing.assert_allclose(stft_basis.window_sumsquare(frames, n, hop, win),
                                   window_sumsquare(frames, hop, win, n), atol=1e-14)


@pytest.mark.parametrize("n,hop", [(16, 4), (64, 16), (64, 32)])
def test_closed_form_inverse_is_the_pseudo_inverse(n, hop):
    rows = stft_basis.dft_rows(n)
    want = np.linalg.pinv(n / hop * rows).T * stft_basis.window(n, n)
    np.testing.assert_allclose(stft_basis.inverse_basis(n, hop, n)[:, 0], want, atol=1e-15 * n)


@pytest.mark.parametrize("n,hop,win", SIZES)
def test_inverse_round_trip_of_a_random_signal(n, hop, win, rng):
    x = torch.from_numpy(rng.standard_normal((2, 5 * n + 3 * hop)))
    pad = n // 2
    fwd, inv = (torch.tensor(b(n, hop, win)) for b in (stft_basis.forward_basis, stft_basis.inverse_basis))
    spec = F.conv1d(F.pad(x[:, None], (pad, pad), mode="reflect"), fwd, stride=hop)
    y = F.conv_transpose1d(spec, inv, stride=hop)[:, 0]
    wss = torch.from_numpy(stft_basis.window_sumsquare(spec.shape[-1], n, hop, win))
    y = torch.where(wss > 1e-300, y / wss.clamp_min(1e-300), y) * (n / hop)
    np.testing.assert_allclose(y[:, pad: pad + x.shape[1]].numpy(), x.numpy(), atol=1e-10)
    assert spec.shape[-1] == stft_basis.frames(x.shape[1], hop)


def test_bad_stft_sizes_are_refused():
    with pytest.raises(ValueError, match="hop 48"):
        stft_basis.forward_basis(64, 48, 64)
    with pytest.raises(ValueError, match="win 128"):
        stft_basis.inverse_basis(64, 16, 128)


# ---- the denoiser network ------------------------------------------------------------------------------------
def _denoise(model, audio: np.ndarray, strength: float, **opts) -> torch.Tensor:
    feeds = {"audio": audio, "samples": full_width(audio), "strength": strength}
    out = run_network("denoiser", model, feeds, NetworkOptions(**opts))
    return out["audio_denoised"]


def _audio(model, batch: int, length: int, seed: int = 0) -> np.ndarray:
    """Random audio with a noise floor, so the bias subtraction clamps some bins and keeps others."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, length)) * 0.1 + 0.5 * np.sin(np.arange(length) * 0.05)).astype(np.float32)


def _reference_denoise(model, reference_denoiser, audio: np.ndarray, strength: float) -> torch.Tensor:
    return reference_denoiser(torch.from_numpy(audio).double(), strength)[:, 0]


@pytest.fixture(scope="module")
def small_denoiser(wg_small):
    """reference.Denoiser of the small model: its own bias spectrum, from a float64 zero-mel WaveGlow run."""
    return Denoiser.from_config(wg_small.reference)


@pytest.mark.parametrize("strength", [0.01, 0.1, 3.0])
def test_denoiser_matches_the_reference(wg_small, small_denoiser, strength):
    hop = wg_small.config.stft_hop_length
    audio = _audio(wg_small, 3, 40 * hop)
    got = _denoise(wg_small, audio, strength)
    want = _reference_denoise(wg_small, small_denoiser, audio, strength)
    assert got.dtype == torch.float32 and tuple(got.shape) == audio.shape == tuple(want.shape)
    assert relative_error(got, want) < 1e-5, relative_error(got, want)
    changed = float((want - torch.from_numpy(audio).double()).abs().max())
    assert changed > 1e-3 * strength, "the bias subtraction must change the audio for the test to mean anything"


def test_stored_bias_spectrum_is_the_references(wg_small):
    bias = wg_small.store.get("denoiser.bias_spec")
    np.testing.assert_allclose(bias, bias_spectrum(wg_small.reference).numpy(), rtol=1e-5, atol=1e-7)


def test_full_size_denoiser_matches_the_reference_stft(wg_full):
    """Full-size STFT (1024/256): the reference Denoiser's math on the stored bias (its own bias would take a
    float64 88-frame full WaveGlow run); strength 0.1 clamps a good part of the bins."""
    c = wg_full.config
    audio = _audio(wg_full, 2, 12 * c.stft_hop_length, seed=3)
    stft = STFT(c.stft_filter_length, c.stft_hop_length, c.stft_win_length)
    bias = torch.from_numpy(wg_full.store.get("denoiser.bias_spec").astype(np.float64))[None, :, None]
    for strength in (0.0, 0.1):
        mag, phase = stft.transform(torch.from_numpy(audio).double())
        want = stft.inverse(torch.clamp(mag - bias * strength, min=0.0), phase)[:, 0]
        got = _denoise(wg_full, audio, strength)
        assert relative_error(got, want) < 1e-5, (strength, relative_error(got, want))
    assert float((want - torch.from_numpy(audio).double()).abs().max()) > 1e-4


@pytest.mark.parametrize("extra", [1, 5, 15])
def test_length_not_a_multiple_of_hop(wg_small, small_denoiser, extra):
    """Output length = input length: the first H·⌊L/H⌋ samples are DLE's, and with strength 0 every sample
    (the tail DLE drops included) reconstructs the input."""
    hop = wg_small.config.stft_hop_length
    audio = _audio(wg_small, 2, 20 * hop + extra, seed=1)
    got = _denoise(wg_small, audio, 0.1)
    want = _reference_denoise(wg_small, small_denoiser, audio, 0.1)
    assert tuple(got.shape) == audio.shape and want.shape[-1] == 20 * hop
    assert relative_error(got[:, : want.shape[-1]], want) < 1e-5
    np.testing.assert_allclose(_denoise(wg_small, audio, 0.0).numpy(), audio, atol=2e-5)


@pytest.mark.parametrize("frames", [1, 2])
def test_inputs_shorter_than_half_a_filter(wg_small, frames):
    """L = S (the profile minimum) is below N/2 + 1: reflection repeats, and strength 0 still gives the input."""
    audio = _audio(wg_small, 2, frames * wg_small.config.upsample_stride, seed=2)
    assert audio.shape[1] <= wg_small.config.stft_filter_length // 2
    np.testing.assert_allclose(_denoise(wg_small, audio, 0.0).numpy(), audio, atol=2e-5)
    assert torch.isfinite(_denoise(wg_small, audio, 0.5)).all()


def test_silence_stays_silent(wg_small):
    """m = 0 everywhere (no phase): the output is 0, not NaN."""
    audio = np.zeros((1, 8 * wg_small.config.stft_hop_length), np.float32)
    out = _denoise(wg_small, audio, 0.1)
    assert torch.equal(out, torch.zeros_like(out))
