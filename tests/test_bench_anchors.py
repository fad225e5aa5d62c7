"""The pytorch-graph / pytorch-compile rows of ``trtnet bench`` on a CPU: the device-side decoder loop they replay
equals the reference's own loop (run eagerly here), and the rows say why they cannot run without a GPU."""

from __future__ import annotations

import json

import pytest
import torch

from trtnet.tools.cli import main
from trtnet.verify.anchors import Anchor, AnchorUnavailable, check_device
from trtnet.verify.step_loop import DeviceDecoder
from trtnet.runtime.pipeline import encode_lines
from trtnet.weights import demo
from trtnet.weights.config import Tacotron2Config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def t2():
    """The small demo Tacotron 2 (its gate calibrated to stop), float32."""
    return demo.tacotron2_model(Tacotron2Config.small(), seed=0)[0]


def _inputs(t2):
    """Three lines of different lengths, padded: the rows stop at different steps."""
    ids = encode_lines(["A short benchmark line.", "Hi there.", "The forms of printed letters should be "
                        "beautiful."], 1 << 16)
    width = max(map(len, ids))
    return torch.tensor([i + [0] * (width - len(i)) for i in ids]), torch.tensor([len(i) for i in ids])


@pytest.mark.parametrize("readback_every", [1, 7])
def test_device_loop_equals_the_reference_loop(t2, readback_every):
    tokens, lengths = _inputs(t2)
    with torch.no_grad():
        want = t2.infer(tokens, lengths, dropout="off")
        memory, processed = t2.encode(tokens, lengths)
        dec = DeviceDecoder(t2, 3, tokens.shape[1], max_steps=t2.config.max_decoder_steps,
                            threshold=t2.config.gate_threshold, dtype=torch.float32, device="cpu", dropout="off")
        for _ in range(2):             # a second utterance on the same buffers starts from a clean state
            dec.reset(memory, processed, t2.padding_mask(lengths, tokens.shape[1]))
            n_steps, run = dec.run(lambda: dec.body(*dec.args()), readback_every)
    assert 1 < want["n_steps"] < t2.config.max_decoder_steps and len(set(want["mel_lengths"].tolist())) > 1
    assert n_steps == want["n_steps"] and 0 <= run - n_steps < readback_every
    assert run % readback_every == 0 or readback_every == 1
    assert torch.equal(dec.mel_lengths, want["mel_lengths"])
    torch.testing.assert_close(dec.mel(n_steps), want["mel"], rtol=0, atol=1e-6)
    torch.testing.assert_close(dec.gates[:n_steps].T, want["gate"], rtol=0, atol=1e-6)


def test_device_loop_stops_at_the_step_cap(t2):
    tokens, lengths = _inputs(t2)
    with torch.no_grad():
        memory, processed = t2.encode(tokens, lengths)
        dec = DeviceDecoder(t2, 3, tokens.shape[1], max_steps=4, threshold=1.0, dtype=torch.float32, device="cpu",
                            dropout="off")
        dec.reset(memory, processed, t2.padding_mask(lengths, tokens.shape[1]))
        assert dec.run(lambda: dec.body(*dec.args()), 3) == (4, 4)
        with pytest.raises(ValueError, match="readback_every must be >= 1, got 0"):
            dec.run(lambda: None, 0)


def test_anchors_refuse_without_a_cuda_device(t2):
    with pytest.raises(AnchorUnavailable, match="needs --device cuda"):
        check_device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(AnchorUnavailable, match="no CUDA GPU on this machine"):
            check_device("cuda")
    with pytest.raises(ValueError, match="anchor kind must be one of"):
        Anchor("trt", t2, None, None, None, strength=0.0, readback_every=1)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the rows' refusal on a machine without a GPU")
def test_bench_lists_the_gpu_rows_as_skipped_with_the_reason(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--demo-size", "small", "--cache-dir", str(tmp_path / "cache"), "--device", "cpu",
                 "--backends", "pytorch-graph,pytorch-compile", "--iterations", "1", "--warmup", "0",
                 "--readback-every", "4", "--json", str(out), "--text", "Hi."]) == 0
    printed = capsys.readouterr().out
    for row in ("pytorch-graph", "pytorch-compile"):
        assert f"skipped: {row}: runs CUDA graphs: needs --device cuda (got --device cpu)" in printed
    assert "(no rows ran)" in printed and json.loads(out.read_text())["rows"] == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_bench_on_cuda_without_a_gpu_is_refused_when_parsed(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--demo-size", "small", "--device", "cuda", "--backends", "pytorch-graph,pytorch-compile"])
    assert info.value.code == 2 and "PyTorch sees no CUDA GPUs here; use --device cpu" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["0", "-2", "x"])
def test_bench_readback_every_must_be_a_positive_integer(flag, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "--backends", "pytorch-graph", "--readback-every", flag])
    assert info.value.code == 2 and "--readback-every" in capsys.readouterr().err


def test_anchor_plumbing_equals_the_reference_with_graphs_replaced_by_calls(t2, monkeypatch):
    """Everything but the capture itself (which needs a GPU): buffers reset per utterance, postnet / vocoder /
    denoiser fed through their per-shape input buffers, two shapes side by side."""
    from trtnet.verify import anchors
    from trtnet.weights.hifigan_config import HiFiGANConfig
    from trtnet.weights.reference import HiFiGANDenoiser, HiFiGANReference

    def call_capture(fn, *args):        # a "graph" whose replay calls fn and writes into the first outputs
        out = fn(*args)

        class Replay:
            def replay(self):
                res = fn(*args)
                if out is not None:
                    out.copy_(res)
        return Replay(), out
    monkeypatch.setattr(anchors, "capture", call_capture)
    monkeypatch.setattr(anchors, "count_kernels", lambda fn: 0)
    cfg = HiFiGANConfig.small()
    torch.manual_seed(0)
    voc = HiFiGANReference(cfg).eval()
    vocode, den = (lambda m, mel: m.infer(mel)), HiFiGANDenoiser(voc, cfg)
    anchor = Anchor("graph", t2, voc, vocode, den, strength=0.02, readback_every=5, dropout="off")
    tokens, lengths = _inputs(t2)
    with torch.no_grad():
        for rows in ([0, 1, 2], [1], [0, 1, 2]):
            want = t2.infer(tokens[rows], lengths[rows], dropout="off")
            got = anchor.infer(tokens[rows], lengths[rows])
            assert got["n_steps"] == want["n_steps"] and 0 <= anchor.overrun_steps < 5
            assert torch.equal(got["mel_lengths"], want["mel_lengths"])     # the bench rows' mels (measures)
            torch.testing.assert_close(got["mel_postnet"], want["mel_postnet"], rtol=0, atol=1e-5)
            audio = vocode(voc, want["mel_postnet"])
            torch.testing.assert_close(anchor.vocode(got["mel_postnet"]), audio, rtol=0, atol=1e-5)
            torch.testing.assert_close(anchor.denoise(audio), den(audio, 0.02), rtol=0, atol=1e-6)
    assert sorted(anchor.decoders) == [(1, tokens.shape[1]), (3, tokens.shape[1])]


def test_bench_lists_every_reference_row_as_skipped_for_fastpitch(tmp_path, capsys):
    """The PyTorch reference rows time Tacotron 2: with FastPitch each is listed as skipped, none runs."""
    assert main(["bench", "--acoustic", "fastpitch", "--vocoder", "hifigan", "--demo-size", "small", "--cache-dir",
                 str(tmp_path / "cache"), "--device", "cpu", "--backends", "pytorch,pytorch-graph,pytorch-compile",
                 "--iterations", "1", "--warmup", "0", "--text", "Hi."]) == 0
    printed = capsys.readouterr().out
    for row in ("pytorch", "pytorch-graph", "pytorch-compile"):
        assert f"skipped: {row}: the PyTorch reference rows time Tacotron 2 only" in printed
    assert "(no rows ran)" in printed
