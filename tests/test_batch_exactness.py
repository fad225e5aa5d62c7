"""Every item of a ragged batch equals a genuinely separate single run at the item's own width, through every
stage (decoder, postnet, fused, WaveGlow, denoiser), and the independent reference's single run.

Deterministic mode: fed prenet keep masks (each item's column of the batch's masks), fed z, FP32.  A single run
sees only its own frames / samples (no padding at all), so a stage that lets padded values leak into an item's
last frames fails here.  Padded positions of the batch inputs hold garbage (not zeros) where a stage is fed
directly, so the masks inside the networks are what makes the items exact.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graph_helpers import garbage_padded
from fixtures_tacotron2 import (fused_feeds, ragged, reference_infer, rel_err, t2_full, t2_small,  # noqa: F401
                                tacotron2_pipeline, text_ids)
from fixtures_waveglow import run_network, waveglow_audio, wg_full, wg_small  # noqa: F401 (fixtures)
from trtnet.layers.options import NetworkOptions
from trtnet.weights.reference import Denoiser, make_prenet_masks

TOL = 1e-5    # max error / max |signal|, FP32 against FP32 single runs and the float64 reference
# texts (length, offset in DEFAULT_TEXT) whose demo gates fire at different steps; the step cap of each size is
# below the longest item's stop in "full", so one item also ends by the cap
TEXTS = {"small": [(60, 0), (12, 0), (45, 20), (20, 40), (30, 3)],
         "full": [(8, 0), (30, 3), (12, 0), (20, 40), (16, 10)]}
STEPS = {"small": 45, "full": 100}


def _single_tacotron2(demo, seq: list[int], steps: int, masks: torch.Tensor) -> dict[str, torch.Tensor]:
    """One utterance alone: encoder, decoder loop, then the postnet on exactly its own frames."""
    tokens, lengths = ragged([seq])
    out = tacotron2_pipeline(demo, tokens, lengths, steps, masks)
    n = int(out["frames"][0])
    alone = demo.run("postnet", {"mel": out["mel"][..., :n], "frames": np.array([n], np.int32)})["mel_postnet"]
    return {"mel": out["mel"][..., :n], "mel_postnet": alone, "mel_lengths": out["mel_lengths"], "frames": n}


@pytest.mark.parametrize("size,batch", [("small", 3), ("small", 5), ("full", 3), ("full", 5)])
def test_tacotron2_items_equal_their_single_runs_and_the_reference(size, batch, request):
    demo = request.getfixturevalue(f"t2_{size}")
    steps = STEPS[size]
    seqs = [text_ids(*t) for t in TEXTS[size][:batch]]
    masks = make_prenet_masks(steps, batch, demo.config, torch.Generator().manual_seed(batch))
    tokens, lengths = ragged(seqs)
    out = tacotron2_pipeline(demo, tokens, lengths, steps, masks)
    frames = out["frames"].tolist()
    assert len(set(frames)) == batch, f"the items must stop at different steps: {frames}"
    assert int(out["n_steps"]) == max(frames) and (size == "small" or max(frames) == steps)
    for b, seq in enumerate(seqs):
        single = _single_tacotron2(demo, seq, steps, masks[:, b:b + 1])
        n = frames[b]
        assert single["frames"] == n and int(single["mel_lengths"][0]) == int(out["mel_lengths"][b])
        for key in ("mel", "mel_postnet"):
            assert rel_err(out[key][b, :, :n], single[key][0]) < TOL, (key, b)
            assert torch.all(out[key][b, :, n:] == 0), (key, b)
        t1, l1 = ragged([seq])
        ref = reference_infer(demo.ref64, t1, l1, steps, dropout=masks[:, b:b + 1])
        assert ref["mel_postnet"].shape[-1] == n
        assert rel_err(out["mel_postnet"][b, :, :n], ref["mel_postnet"][0]) < TOL, b


def test_fused_outputs_are_zero_after_each_stop_frame_and_equal_the_single_runs(t2_small):
    demo, steps = t2_small, STEPS["small"]
    seqs = [text_ids(*t) for t in TEXTS["small"][:3]]
    tokens, lengths = ragged(seqs)
    masks = make_prenet_masks(steps, 3, demo.config, torch.Generator().manual_seed(4))
    fused = demo.run("fused", fused_feeds(tokens, lengths, steps, prenet_masks=masks), dropout="input")
    frames = np.minimum(fused["mel_lengths"].numpy() + 1, int(fused["n_steps"]))
    assert len(set(frames.tolist())) == 3
    for b, seq in enumerate(seqs):
        n = int(frames[b])
        assert torch.all(fused["mel_postnet"][b, :, n:] == 0) and torch.all(fused["gate"][b, n:] == 0)
        single = _single_tacotron2(demo, seq, steps, masks[:, b:b + 1])
        assert rel_err(fused["mel_postnet"][b, :, :n], single["mel_postnet"][0]) < TOL, b


@pytest.mark.parametrize("size,valid", [("small", [18, 30, 7, 1, 23]), ("full", [5, 9, 2])])
def test_waveglow_items_equal_their_single_runs_and_the_reference(size, valid, request):
    """Mel frames ragged (one item of 18 frames padded to 30, the case that leaked from frame 15 on), fed z."""
    model = request.getfixturevalue(f"wg_{size}")
    s, width, sigma = model.config.upsample_stride, max(valid), 0.6
    mel = garbage_padded(model.mel(len(valid), width), valid, seed=1)
    z = model.z(len(valid), width)
    audio = waveglow_audio(model, mel, sigma, z, frames=np.array(valid, np.int32))
    for b, n in enumerate(valid):
        single = waveglow_audio(model, mel[b:b + 1, :, :n], sigma, z[b:b + 1, :, :n])
        assert tuple(single.shape) == (1, s * n)
        assert rel_err(audio[b, :s * n], single[0]) < TOL, b
        assert torch.all(audio[b, s * n:] == 0), b
        ref = model.reference_audio(mel[b:b + 1, :, :n], sigma, z[b:b + 1, :, :n])
        assert rel_err(audio[b, :s * n], ref[0]) < TOL, b


def _audio(batch: int, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, length)) * 0.1 + 0.5 * np.sin(np.arange(length) * 0.05)).astype(np.float32)


def _denoise(model, audio: np.ndarray, samples: list[int], strength: float) -> torch.Tensor:
    feeds = {"audio": audio, "samples": np.array(samples, np.int32), "strength": strength}
    return run_network("denoiser", model, feeds, NetworkOptions(precision="fp32"))["audio_denoised"]


@pytest.mark.parametrize("size", ["small", "full"])
def test_denoiser_items_equal_their_single_runs(size, request):
    """Lengths in whole hops (every WaveGlow output), off-hop, and shorter than half a filter; each item's STFT
    reflects at its own end and counts only its own frames."""
    model = request.getfixturevalue(f"wg_{size}")
    hop, n_fft = model.config.stft_hop_length, model.config.stft_filter_length
    valid = [20 * hop, 7 * hop, 20 * hop - 3, n_fft // 2 - 1, 12 * hop + 5]
    audio = garbage_padded(_audio(len(valid), max(valid), seed=2), valid, seed=3)
    got = _denoise(model, audio, valid, 0.1)
    assert float((got[0] - torch.from_numpy(audio[0])).abs().max()) > 1e-4   # the strength changes the audio
    for b, n in enumerate(valid):
        single = _denoise(model, audio[b:b + 1, :n], [n], 0.1)
        assert rel_err(got[b, :n], single[0]) < TOL, b
        assert torch.all(got[b, n:] == 0), b


def test_denoiser_items_equal_the_reference_single_runs(wg_small):
    """DLE's Denoiser (reference, float64, its own bias spectrum) on each item alone, whole-hop lengths."""
    hop = wg_small.config.stft_hop_length
    valid = [40 * hop, 9 * hop, 25 * hop]
    audio = garbage_padded(_audio(3, max(valid), seed=4), valid, seed=5)
    got = _denoise(wg_small, audio, valid, 0.1)
    reference = Denoiser.from_config(wg_small.reference)
    for b, n in enumerate(valid):
        want = reference(torch.from_numpy(audio[b:b + 1, :n]).double(), 0.1)[:, 0]
        assert rel_err(got[b, :n], want[0]) < TOL, b
