"""The hifigan / hifigan-denoiser networks (eager) vs the independent float64 reference, on random-weight DLE
generator checkpoints of small and full size; ragged batches against genuinely separate single runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graph_helpers import garbage_padded
from fixtures_hifigan import hg_full, hg_small, hifigan_audio, relative_error, run_network  # noqa: F401
from fixtures_waveglow import wg_small  # noqa: F401 (fixture)
from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions
from trtnet.weights.reference.hifigan import HiFiGANDenoiser, bias_spectrum
from trtnet.weights.store import WeightStore

FP32_TOLERANCE = 1e-5  # max |eager fp32 − float64 reference| / max |reference| (measured ≤ 7.3e-7)
# FP16 convs (residual stream float32): measured ≤ 2.4e-3 (small) and ≤ 1.8e-3 (full) of the signal's max, about
# five FP16 ulps (4.9e-4) accumulated over ~40 convs in series; the bound leaves a factor ~2
FP16_TOLERANCE = 5e-3
RAGGED_TOLERANCE = 1e-5


@pytest.fixture(params=["small", "full"])
def model(request):
    return request.getfixturevalue(f"hg_{request.param}")


def test_audio_matches_the_reference_fp32(model):
    frames = 6 if model.size == "full" else 20
    mel = model.mel(2, frames)
    got = hifigan_audio(model, mel)
    want = model.reference_audio(mel)
    assert got.dtype == torch.float32 and tuple(got.shape) == (2, model.config.upsample_stride * frames)
    assert relative_error(got, want) < FP32_TOLERANCE
    assert 0.05 < float(want.std()) and float(want.abs().max()) < 0.95, "demo audio neither silent nor clipped"


def test_fp16_convs_stay_close_to_the_reference(model):
    frames = 3 if model.size == "full" else 20
    mel = model.mel(1 if model.size == "full" else 2, frames, seed=1)
    got = hifigan_audio(model, mel, precision="fp16")
    err = relative_error(got, model.reference_audio(mel.astype(np.float16)))
    assert got.dtype == torch.float32 and 1e-6 < err < FP16_TOLERANCE, err


@pytest.mark.parametrize("size,valid", [("small", [18, 30, 7, 1, 23]), ("full", [5, 9, 2])])
def test_ragged_items_equal_their_single_runs_and_the_reference(size, valid, request):
    """Garbage in every padded frame; each item equals a separate run at its own width, and 0 past it."""
    m = request.getfixturevalue(f"hg_{size}")
    hop = m.config.upsample_stride
    mel = garbage_padded(m.mel(len(valid), max(valid)), valid, seed=3)
    audio = hifigan_audio(m, mel, frames=np.array(valid, np.int32))
    for b, n in enumerate(valid):
        single = hifigan_audio(m, mel[b:b + 1, :, :n])
        assert tuple(single.shape) == (1, hop * n)
        assert relative_error(audio[b, :hop * n], single[0]) < RAGGED_TOLERANCE, b
        assert torch.all(audio[b, hop * n:] == 0), b
        assert relative_error(audio[b, :hop * n], m.reference_audio(mel[b:b + 1, :, :n])[0]) < RAGGED_TOLERANCE, b


def test_bias_spec_is_the_references(hg_small):
    """Stored at extraction from the float32 generator; vs the float64 reference within 1e-5 of its max."""
    want = bias_spectrum(hg_small.reference)
    got = torch.from_numpy(np.array(hg_small.store.get("denoiser.bias_spec")))
    assert got.shape == want.shape == (hg_small.config.stft_filter_length // 2 + 1,)
    assert relative_error(got, want) < 1e-5 and float(want.max()) > 0.1


def _denoise(model, audio: np.ndarray, samples: list[int], strength: float) -> torch.Tensor:
    feeds = {"audio": audio, "samples": np.array(samples, np.int32), "strength": strength}
    return run_network("hifigan-denoiser", model, feeds, NetworkOptions(precision="fp32"))["audio_denoised"]


def test_denoiser_matches_dle_and_handles_ragged_batches(hg_small):
    """On the generator's own audio: DLE's denoiser (reference, float64) per item, ragged batch = single runs,
    strength 0 (DLE's HiFi-GAN default) reconstructs the input."""
    hop = hg_small.config.upsample_stride
    valid = [30, 9, 21]
    mel = hg_small.mel(3, max(valid), seed=5)
    audio = hifigan_audio(hg_small, mel, frames=np.array(valid, np.int32)).numpy()
    samples = [hop * n for n in valid]
    got = _denoise(hg_small, audio, samples, 0.5)
    reference = HiFiGANDenoiser(hg_small.reference)
    for b, n in enumerate(samples):
        want = reference(torch.from_numpy(audio[b:b + 1, :n]).double(), 0.5)[0, 0]
        assert relative_error(got[b, :n], want) < 1e-5, b
        assert relative_error(got[b, :n], _denoise(hg_small, audio[b:b + 1, :n], [n], 0.5)[0]) < 1e-5, b
        assert torch.all(got[b, n:] == 0)
    assert float((got - torch.from_numpy(audio)).abs().max()) > 1e-3
    np.testing.assert_allclose(_denoise(hg_small, audio, samples, 0.0).numpy(), audio, atol=2e-5)


@pytest.mark.parametrize("name,reads,skips", [
    ("hifigan", ("conv_pre", "ups", "resblocks", "conv_post"), ("denoiser",)),
    ("hifigan-denoiser", ("denoiser",), ("conv_pre", "ups", "resblocks", "conv_post"))])
def test_each_network_reads_exactly_its_weights(hg_small, name, reads, skips):
    hop = hg_small.config.upsample_stride
    feeds = {"mel": hg_small.mel(1, 2), "frames": np.array([2], np.int32)} if name == "hifigan" else \
        {"audio": np.zeros((1, 4 * hop), np.float32), "samples": np.array([4 * hop], np.int32), "strength": 0.1}
    with WeightStore.open(hg_small.h5) as store:  # a fresh read record
        run_network(name, type(hg_small)(**{**hg_small.__dict__, "store": store}), feeds,
                    NetworkOptions(precision="fp32"))
        store.check_all_used(reads)
        assert store.unused(skips) == sorted(k for k in store.keys() if k.split(".")[0] in skips)


def test_a_waveglow_store_is_refused(wg_small):
    with pytest.raises(ValueError, match="network 'hifigan' needs hifigan weights, got waveglow"):
        networks.define("hifigan", Graph.trt("hifigan"), wg_small.store, NetworkOptions())
