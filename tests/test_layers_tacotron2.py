"""Tacotron 2 networks, eager, against the independent plain-PyTorch reference (float64, and float32 where
stated) on the random-weight demo checkpoints, small and full size: encoder memory, the DLE decode (dropout
off, fed masks, in-engine masks), stop steps and lengths, batch == single runs, decoder-step == loop, postnet,
fused == pipeline, the COUNT cap, and an fp16 run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures_tacotron2 import (fused_feeds, ragged, reference_infer, rel_err, t2_full, t2_small,
                                tacotron2_pipeline, text_ids)
from trtnet.dtypes import DType
from trtnet.layers.tacotron2.decoder import STATE_FIELDS, state_layout
from trtnet.weights.reference import make_prenet_masks

__all__ = ["t2_full", "t2_small"]  # fixtures used by name

TOL = 1e-5        # max error relative to the signal's scale, fp32 eager vs float64 reference
STEPS = {"small": 60, "full": 120}
TEXT = {"small": (90, 5), "full": (20, 0)}   # stop steps 30 (small) and 83 (full), dropout off


def demo_of(request, size):
    return request.getfixturevalue(f"t2_{size}")


def masks_for(cfg, steps: int, batch: int, seed: int) -> torch.Tensor:
    return make_prenet_masks(steps, batch, cfg, torch.Generator().manual_seed(seed))


def pipeline(demo, tokens, lengths, steps, masks=None) -> dict[str, torch.Tensor]:
    return tacotron2_pipeline(demo, tokens, lengths, steps, masks)


def check_decode(out: dict, ref: dict, b: int = 0) -> int:
    """Item ``b`` of our decode vs a single reference run: stop step, lengths, mel / gate / alignments up to
    the stop frame, zeros after it.  Returns the stop step count."""
    n = ref["n_steps"]
    assert int(out["mel_lengths"][b]) == int(ref["mel_lengths"][0])
    assert rel_err(out["mel"][b, :, :n], ref["mel"][0]) < TOL
    assert rel_err(out["gate"][b, :n], ref["gate"][0]) < TOL
    assert rel_err(out["alignments"][b, :n], ref["alignments"][0]) < 10 * TOL    # sharp softmax: measured 3e-6
    assert torch.all(out["mel"][b, :, n:] == 0) and torch.all(out["gate"][b, n:] == 0)
    assert torch.all(out["alignments"][b, n:] == 0)
    return n


# ---- encoder -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", ["small", "full"])
def test_encoder_ragged_batch_equals_reference_single_runs(size, request):
    demo = demo_of(request, size)
    seqs = [text_ids(23, 3), text_ids(40), text_ids(9, 50)]
    tokens, lengths = ragged(seqs)
    out = demo.run("encoder", {"tokens": tokens, "lengths": lengths})
    cfg = demo.config
    assert out["memory"].shape == (3, 40, cfg.encoder_embedding_dim) and out["memory"].dtype == torch.float32
    assert out["processed_memory"].shape == (3, 40, cfg.attention_dim)
    for b, seq in enumerate(seqs):
        n = len(seq)
        with torch.no_grad():
            memory, processed = demo.ref64.encode(torch.tensor([seq]), torch.tensor([n]))
        assert rel_err(out["memory"][b, :n], memory[0]) < TOL
        assert rel_err(out["processed_memory"][b, :n], processed[0]) < TOL
        assert torch.all(out["memory"][b, n:] == 0) and torch.all(out["processed_memory"][b, n:] == 0)


# ---- the decode against the reference --------------------------------------------------------------------
@pytest.mark.parametrize("size", ["small", "full"])
def test_decoder_loop_dropout_off_matches_reference(size, request):
    demo, steps = demo_of(request, size), STEPS[size]
    tokens, lengths = ragged([text_ids(*TEXT[size])])
    out = pipeline(demo, tokens, lengths, steps)
    ref = reference_infer(demo.ref64, tokens, lengths, steps)
    n = check_decode(out, ref)
    assert int(out["n_steps"]) == n < steps                           # the gate stopped it, not the cap
    assert reference_infer(demo.ref32, tokens, lengths, steps)["n_steps"] == n
    assert out["mel"].shape == (1, demo.config.n_mel_channels, steps)
    assert out["gate"].shape == (1, steps) and out["gate"].dtype == torch.float32
    assert out["alignments"].shape == (1, steps, tokens.shape[1])
    assert out["mel_lengths"].dtype == torch.int32 and out["n_steps"].shape == ()


@pytest.mark.parametrize("size", ["small", "full"])
def test_decoder_loop_fed_masks_match_reference(size, request):
    """Masks fed for more steps than the cap (S > max_decoder_steps): step t uses masks[t]."""
    demo, steps = demo_of(request, size), STEPS[size]
    tokens, lengths = ragged([text_ids(*TEXT[size])])
    masks = masks_for(demo.config, steps + 5, 1, seed=7)
    out = pipeline(demo, tokens, lengths, steps, masks)
    ref = reference_infer(demo.ref64, tokens, lengths, steps, dropout=masks)
    assert int(out["n_steps"]) == check_decode(out, ref) < steps
    off = reference_infer(demo.ref64, tokens, lengths, steps)
    assert off["n_steps"] != ref["n_steps"] or rel_err(ref["mel"], off["mel"]) > 100 * TOL  # masks matter


@pytest.mark.parametrize("size", ["small", "full"])
def test_postnet_matches_reference(size, request, rng):
    demo = demo_of(request, size)
    mel = (rng.standard_normal((2, demo.config.n_mel_channels, 37)) * 0.5).astype(np.float32)
    out = demo.run("postnet", {"mel": mel, "frames": np.full(2, mel.shape[-1], np.int32)})["mel_postnet"]
    with torch.no_grad():
        want = demo.ref64.postnet(torch.from_numpy(mel).double())
    assert out.shape == mel.shape and rel_err(out, want) < TOL


# ---- batching, step network, fused ------------------------------------------------------------------------
SEQS = [text_ids(90, 5), text_ids(37, 10), text_ids(60)]          # stop steps ~30, 13, 20


def test_fused_equals_encoder_loop_postnet(t2_small):
    demo, steps = t2_small, 45
    tokens, lengths = ragged(SEQS)
    masks = masks_for(demo.config, steps, len(SEQS), seed=5)
    want = pipeline(demo, tokens, lengths, steps, masks)
    got = demo.run("fused", fused_feeds(tokens, lengths, steps, prenet_masks=masks), dropout="input",
                   alignments=True)
    assert sorted(got) == ["alignments", "gate", "mel_lengths", "mel_postnet", "n_steps"]
    for k in got:
        assert torch.equal(got[k], want[k]), k


def test_decoder_step_network_stepped_from_python_equals_loop(t2_small):
    """The per-step network fed its own next_<field> outputs from an all-zero state: frames, gates and
    alignments equal the loop's, and its finished / mel_lengths follow DLE's rule (restated here as a check)."""
    demo, steps = t2_small, 40
    tokens, lengths = ragged(SEQS[:2])
    masks = masks_for(demo.config, steps, 2, seed=3)
    loop = pipeline(demo, tokens, lengths, steps, masks)
    fixed = {"memory": loop["memory"], "processed_memory": loop["processed_memory"], "lengths": lengths,
             "gate_threshold": np.array(0.5, np.float32)}
    state = {k: torch.zeros((2, *(tokens.shape[1] if n == "T_in" else n for n in shape)), dtype=getattr(torch, dt.value))
             for k, (shape, dt) in state_layout(demo.config, DType.float32).items()}
    not_finished, mel_lengths = torch.ones(2, dtype=torch.int32), torch.zeros(2, dtype=torch.int32)
    for t in range(int(loop["n_steps"])):
        out = demo.run("decoder-step", {**state, **fixed, "prenet_mask": masks[t]}, dropout="input", alignments=True)
        assert torch.equal(out["mel"], loop["mel"][:, :, t]), t
        assert torch.equal(out["gate"], loop["gate"][:, t]), t
        assert torch.equal(out["alignment"], loop["alignments"][:, t]), t
        not_finished = not_finished * (torch.sigmoid(out["gate"]) <= 0.5).to(torch.int32)
        mel_lengths += not_finished
        assert out["next_finished"].shape == out["next_mel_lengths"].shape == (2, 1)     # [B, 1]: state_layout
        assert torch.equal(out["next_finished"][:, 0], 1 - not_finished)
        assert torch.equal(out["next_mel_lengths"][:, 0], mel_lengths)
        state = {k: out[f"next_{k}"] for k in STATE_FIELDS}
    assert torch.equal(mel_lengths, loop["mel_lengths"]) and not bool(not_finished.any())


# ---- dropout modes, the cap, fp16 ------------------------------------------------------------------------
def test_in_engine_dropout_is_seeded_and_follows_dle_masks(t2_small):
    """Eager in-engine masks: reproducible per seed, different across seeds and from dropout off, and equal to
    DLE masks drawn from the same generator (u < 1−p per element, layer, step and row, scaled 1/(1−p))."""
    demo, steps = t2_small, 50
    tokens, lengths = ragged(SEQS[:2])
    feeds = fused_feeds(tokens, lengths, steps)
    runs = [demo.run("fused", feeds, seed=s, dropout="in-engine") for s in (1, 1, 2)]
    off = demo.run("fused", feeds)
    assert torch.equal(runs[0]["mel_postnet"], runs[1]["mel_postnet"])
    assert not torch.allclose(runs[0]["mel_postnet"], runs[2]["mel_postnet"])
    assert not torch.allclose(runs[0]["mel_postnet"], off["mel_postnet"])
    fed = demo.run("fused", {**feeds, "prenet_masks": masks_for(demo.config, steps, 2, seed=1)}, dropout="input")
    for k in fed:
        assert torch.equal(fed[k], runs[0][k]), k


def test_count_cap_counts_unfinished_items(t2_small):
    demo = t2_small
    seqs = [text_ids(20, 40), text_ids(90, 5)]                    # stop steps 7 and 30
    tokens, lengths = ragged(seqs)
    out = pipeline(demo, tokens, lengths, 12)
    assert int(out["n_steps"]) == 12 and out["mel"].shape[-1] == 12
    assert out["mel_lengths"].tolist() == [6, 12]
    for b, seq in enumerate(seqs):
        t1, l1 = ragged([seq])
        assert int(reference_infer(demo.ref64, t1, l1, 12)["mel_lengths"][0]) == out["mel_lengths"][b]
    assert torch.all(out["mel"][0, :, 7:] == 0) and torch.all(out["mel"][1] != 0)
    tiny = pipeline(demo, tokens, lengths, 3)
    assert int(tiny["n_steps"]) == 3 and tiny["mel_lengths"].tolist() == [3, 3]


def test_fp16_decode_tracks_fp32(t2_small):
    demo, steps = t2_small, 45
    tokens, lengths = ragged(SEQS)
    feeds = fused_feeds(tokens, lengths, steps)
    f32 = demo.run("fused", feeds)
    f16 = demo.run("fused", feeds, precision="fp16")
    assert f16["mel_postnet"].dtype == torch.float16 and f16["gate"].dtype == torch.float32
    assert torch.equal(f16["mel_lengths"], f32["mel_lengths"])
    assert rel_err(f16["mel_postnet"], f32["mel_postnet"]) < 2e-2
