"""The fastpitch network (eager twin) against DLE's own outputs (fixtures made once with DLE's code) and the
independent float64 reference on demo checkpoints of small and full size; ragged batches against genuinely
separate single runs; the mel bounded by ``max_frames`` and zero past mel_lengths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures_fastpitch import fastpitch_feeds, fp_dle, fp_full, fp_small, run_fastpitch  # noqa: F401
from test_fastpitch_weights import dle_cases, relative_error

FP32_TOLERANCE = 1e-5     # of the signal's max (measured ≤ 1e-6 against DLE, ≤ 5e-7 against the reference)
FP16_TOLERANCE = 2e-2     # FP16 matmuls/convs (LayerNorm statistics, softmax and the regulator in float32)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_matches_dle_single_runs(fp_dle):
    """Every single-item DLE case (paces, an affine pitch transform) and the batch's longest item."""
    for case, d in dle_cases().items():
        items = [0] if case == "batch" else range(d["ids"].shape[0])
        out = run_fastpitch(fp_dle, fastpitch_feeds(d["ids"], (d["ids"] != 0).sum(1), pace=float(d["pace"]),
                                                    pitch_scale=float(d["pitch_scale"]),
                                                    pitch_shift=float(d["pitch_shift"])))
        for b in items:
            n = int(d["mel_lengths"][b])
            assert int(out["mel_lengths"][b]) == n, case
            assert relative_error(_np(out["mel"])[b:b + 1], d["mel"][b:b + 1], [n]) < FP32_TOLERANCE, case
            assert torch.all(out["mel"][b, :, n:] == 0), case
            for name in ("durations", "pitch"):
                assert relative_error(_np(out[name])[b], d[name][b]) < FP32_TOLERANCE, (case, name)


@pytest.mark.parametrize("size", ["small", "full"])
def test_matches_the_reference_fp32(size, request):
    m = request.getfixturevalue(f"fp_{size}")
    ids = m.tokens([9] if size == "full" else [17], seed=1)
    want = m.reference(ids, pace=1.1, pitch_scale=0.7, pitch_shift=-15.0)
    got = run_fastpitch(m, fastpitch_feeds(ids, pace=1.1, pitch_scale=0.7, pitch_shift=-15.0))
    n = int(want["mel_lengths"][0])
    assert int(got["mel_lengths"][0]) == n and 10 < n < 200
    assert tuple(got["mel"].shape) == (1, m.config.n_mel_channels, 200)
    assert relative_error(_np(got["mel"]), _np(want["mel"]), [n]) < FP32_TOLERANCE
    assert relative_error(_np(got["durations"]), _np(want["durations"])) < FP32_TOLERANCE
    assert relative_error(_np(got["pitch"]), _np(want["pitch"])) < FP32_TOLERANCE


@pytest.mark.parametrize("lengths", [[13, 4, 9, 1], [6, 11]])
def test_ragged_items_equal_their_single_runs(fp_small, lengths):
    m = fp_small
    ids = m.tokens(lengths, seed=2)
    ids[ids == 0] = 0
    garbage = ids.copy()
    for b, n in enumerate(lengths):
        garbage[b, n:] = 5  # past lengths: not padding_idx, the lengths alone mask them
    batch = run_fastpitch(m, fastpitch_feeds(garbage, lengths, pace=0.9))
    for b, n in enumerate(lengths):
        single = run_fastpitch(m, fastpitch_feeds(ids[b:b + 1, :n], pace=0.9))
        frames = int(single["mel_lengths"][0])
        assert int(batch["mel_lengths"][b]) == frames
        assert relative_error(_np(batch["mel"][b:b + 1, :, :frames]), _np(single["mel"][:, :, :frames])) < 1e-6
        assert torch.all(batch["mel"][b, :, frames:] == 0)
        assert relative_error(_np(batch["durations"][b, :n]), _np(single["durations"][0])) < 1e-6
        assert torch.all(batch["durations"][b, n:] == 0) and torch.all(batch["pitch"][b, :, n:] == 0)


def test_max_frames_bounds_the_mel(fp_small):
    ids = fp_small.tokens([17], seed=1)
    full = run_fastpitch(fp_small, fastpitch_feeds(ids))
    n = int(full["mel_lengths"][0])
    cut = run_fastpitch(fp_small, fastpitch_feeds(ids, max_frames=n // 2))
    assert int(cut["mel_lengths"][0]) == n // 2 and cut["mel"].shape[-1] == n // 2


def test_fp16_stays_close_to_the_reference(fp_small):
    ids = fp_small.tokens([15], seed=3)
    want = fp_small.reference(ids)
    got = run_fastpitch(fp_small, fastpitch_feeds(ids), precision="fp16")
    n = int(want["mel_lengths"][0])
    assert got["mel"].dtype == torch.float16 and int(got["mel_lengths"][0]) == n
    assert 1e-6 < relative_error(_np(got["mel"]), _np(want["mel"]), [n]) < FP16_TOLERANCE
