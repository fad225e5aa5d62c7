"""The waveglow network (eager) vs the independent float64 reference, on random-weight DLE checkpoints of small and
full size (WN 256): noise fed and drawn in the graph, sigma, early-output order, the upsample trim.  Ragged batches:
tests/test_batch_exactness.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trtnet.graph import Graph
from trtnet.layers.options import NetworkOptions
from trtnet.layers.waveglow import flows
from trtnet.layers.waveglow.upsample import conditioning
from trtnet.weights.store import WeightStore
from fixtures_waveglow import full_width, relative_error, waveglow_audio, wg_full, wg_small  # noqa: F401 (fixtures)

FP32_TOLERANCE = 2e-5  # max |eager fp32 − float64 reference| / max |reference| (measured ~3e-7)
FP16_TOLERANCE = 2e-3  # the same for FP16 WN convs (measured ~3e-5 small, ~7e-5 full)


@pytest.fixture(params=["small", "full"])
def model(request):
    return request.getfixturevalue(f"wg_{request.param}")


@pytest.mark.parametrize("sigma", [0.6, 0.0])
def test_audio_matches_the_reference(model, sigma):
    """B = 2, a few mel frames, z fed: eager FP32 audio vs the float64 reference."""
    frames = 3 if model.size == "full" else 7
    mel, z = model.mel(2, frames), model.z(2, frames)
    got = waveglow_audio(model, mel, sigma, z)
    want = model.reference_audio(mel, sigma, z)
    assert got.dtype == torch.float32 and tuple(got.shape) == (2, model.config.upsample_stride * frames)
    err = relative_error(got, want)
    assert err < FP32_TOLERANCE, f"{model.size} sigma {sigma}: relative error {err:.2e}"
    if sigma == 0.0:  # the noise must not matter at all: every channel, the early ones included, is scaled
        np.testing.assert_array_equal(got.numpy(), waveglow_audio(model, mel, 0.0, 0 * z).numpy())


def test_fp16_convs_stay_close_to_fp32(wg_small):
    mel, z = wg_small.mel(2, 6), wg_small.z(2, 6)
    fp16 = waveglow_audio(wg_small, mel, 0.6, z, precision="fp16")
    err = relative_error(fp16, wg_small.reference_audio(mel, 0.6, z))
    assert fp16.dtype == torch.float32 and 1e-7 < err < FP16_TOLERANCE, err


def _noise_groups(cfg):
    """Channel ranges of z in order of use: initial audio, then each early injection."""
    bounds = np.cumsum([0] + flows.noise_parts(cfg))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


@pytest.mark.parametrize("size", ["small", "full"])
def test_each_noise_group_moves_the_output_as_the_reference_predicts(request, size):
    """Perturb one z channel group at a time: eager and reference outputs move the same way, and each group
    moves the output differently (so a swapped injection order or a missing sigma would show)."""
    model = request.getfixturevalue(f"wg_{size}")
    sigma, frames = 0.6, 2
    mel, z = model.mel(1, frames), model.z(1, frames)
    base_got, base_want = waveglow_audio(model, mel, sigma, z), model.reference_audio(mel, sigma, z)
    groups = _noise_groups(model.config)
    assert len(groups) == 1 + len(flows.injection_flows(model.config)) >= 3
    deltas = []
    for lo, hi in groups:
        zp = z.copy()
        zp[:, lo:hi] += 0.5
        d_got = waveglow_audio(model, mel, sigma, zp) - base_got
        d_want = model.reference_audio(mel, sigma, zp) - base_want
        assert float(d_want.abs().max()) > 0.05, (lo, hi)
        assert relative_error(d_got, d_want) < 1e-4, (lo, hi, relative_error(d_got, d_want))
        deltas.append(d_want)
    for i in range(len(deltas)):
        for j in range(i + 1, len(deltas)):
            assert relative_error(deltas[i], deltas[j]) > 0.1, f"groups {groups[i]} and {groups[j]} look alike"
    zs = z.copy()  # sigma scales the early channels too: halving sigma = halving z
    zs[:] *= 2
    np.testing.assert_allclose(waveglow_audio(model, mel, sigma / 2, zs).numpy(), base_got.numpy(), atol=1e-5)


@pytest.mark.parametrize("frames", [1, 4])
def test_upsample_trims_the_tail_and_groups_like_dle(model, frames):
    """The conditioning input [B, n_mel·G, S·T/G] equals the reference's upsample (tail K − S cut) + grouping."""
    c = model.config
    mel = model.mel(2, frames)
    g = Graph.eager({"mel": mel})
    spect = conditioning(g, model.store, g.input("mel", "float32", (2, c.n_mel_channels, frames)), c).handle
    with torch.no_grad():
        want = model.reference.upsample_and_group(torch.from_numpy(mel).double())
        full = model.reference.upsample(torch.from_numpy(mel).double())
    assert full.shape[-1] == c.upsample_stride * frames + c.upsample_kernel_size - c.upsample_stride
    assert tuple(spect.shape) == tuple(want.shape) == (2, c.cond_channels, c.upsample_stride * frames // c.n_group)
    assert relative_error(spect, want) < 1e-5
    # channel = mel_bin·G + position in the group, time t' = sample // G
    m, j, t = c.n_mel_channels - 1, c.n_group - 1, spect.shape[-1] - 1
    assert float(spect[1, m * c.n_group + j, t]) == pytest.approx(float(full[1, m, t * c.n_group + j]), abs=1e-5)


def _noise_only(cfg, mel, sigma, seed):
    g = Graph.eager({"mel": mel, "sigma": np.float32(sigma)}, seed=seed)
    x = g.input("mel", "float32", mel.shape)
    return flows.noise(g, x, g.input("sigma", "float32", ()), None, cfg).handle


def test_in_engine_noise(wg_small):
    """Drawn in the graph: [B, G, T'] with std ≈ sigma; the audio repeats with the seed, changes without it,
    and equals the fed-noise audio when sigma is 0."""
    c = wg_small.config
    mel = wg_small.mel(2, 40)
    z = _noise_only(c, mel, 0.6, seed=5)
    assert tuple(z.shape) == (2, c.n_group, 40 * c.upsample_stride // c.n_group) and z.dtype == torch.float32
    assert abs(float(z.std()) - 0.6) < 0.03 and abs(float(z.mean())) < 0.03
    a = waveglow_audio(wg_small, mel[:, :, :6], 0.6, seed=11)
    assert torch.equal(a, waveglow_audio(wg_small, mel[:, :, :6], 0.6, seed=11))
    assert float((a - waveglow_audio(wg_small, mel[:, :, :6], 0.6, seed=12)).abs().max()) > 0.01
    silent = waveglow_audio(wg_small, mel[:, :, :6], 0.0, seed=11)
    fed = waveglow_audio(wg_small, mel[:, :, :6], 0.0, wg_small.z(2, 6))
    np.testing.assert_allclose(silent.numpy(), fed.numpy(), atol=1e-6)


def test_fused_denoiser_equals_the_two_networks(wg_small):
    from fixtures_waveglow import run_network
    mel, z = wg_small.mel(2, 8), wg_small.z(2, 8)
    opts = NetworkOptions(precision="fp32", noise="input", fuse_denoiser=True)
    out = run_network("waveglow", wg_small, {"mel": mel, "frames": full_width(mel), "sigma": 0.6, "z": z,
                                           "strength": 0.1}, opts)
    assert torch.equal(out["audio"], waveglow_audio(wg_small, mel, 0.6, z))
    alone = run_network("denoiser", wg_small, {"audio": out["audio"].numpy(), "samples": full_width(out["audio"]),
                                            "strength": 0.1}, opts)
    torch.testing.assert_close(out["audio_denoised"], alone["audio_denoised"], rtol=0, atol=0)
    assert float((out["audio_denoised"] - out["audio"]).abs().max()) > 1e-4


@pytest.mark.parametrize("name,reads,skips", [("waveglow", ("upsample", "WN", "convinv"), ("denoiser",)),
                                               ("denoiser", ("denoiser",), ("upsample", "WN", "convinv"))])
def test_each_network_reads_exactly_its_weights(wg_small, name, reads, skips):
    """The registry's unused-weight check passes (convinv.k.conv.weight is read to verify W_inverse), and a
    network reads nothing of the other's."""
    from fixtures_waveglow import run_network
    c = wg_small.config
    audio = np.zeros((1, 2 * c.upsample_stride), np.float32)
    feeds = {"mel": wg_small.mel(1, 2), "frames": np.array([2], np.int32), "sigma": 0.6} if name == "waveglow" \
        else {"audio": audio, "samples": full_width(audio), "strength": 0.1}
    with WeightStore.open(wg_small.h5) as store:  # a fresh read record
        run_network(name, wg_small.replace(store=store), feeds, NetworkOptions(precision="fp32"))
        store.check_all_used(reads)
        assert store.unused(skips) == sorted(k for k in store.keys() if k.split(".")[0] in skips)


def test_a_wrong_inverse_is_refused(wg_small):
    arrays = {k: np.array(wg_small.store.get(k)) for k in wg_small.store.keys()}
    arrays["convinv.2.W_inverse"] = arrays["convinv.2.W_inverse"] * 1.01
    bad = WeightStore.from_arrays(wg_small.config, arrays, "corrupt")
    with pytest.raises(ValueError, match=r"convinv\.2\.W_inverse is not the inverse .* = 0\.01"):
        g = Graph.eager({"mel": wg_small.mel(1, 2), "frames": np.array([2], np.int32), "sigma": np.float32(0.6)})
        from trtnet.layers import networks
        networks.define("waveglow", g, bad, NetworkOptions(precision="fp32"))
