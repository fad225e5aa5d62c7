"""FastPitch + HiFi-GAN end to end: ``build-engines --acoustic fastpitch --vocoder hifigan`` (demo weights, small
size, TensorRT-RTX on the CPU), then ``synthesize --engine-dir D --emulate-engines`` against the eager backend of
the same weights; a ragged batch against single lines; ``--pace`` changes the length as DLE's rounding says."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LINES = ["Hello world.", "FastPitch speaks through the same library, with HiFi-GAN.", "A third line."]
MODELS = ["--acoustic", "fastpitch", "--vocoder", "hifigan", "--demo-size", "small"]
PACE = ["--pace", "1.25"]      # built into the engines' runtime defaults; the eager runs are given it


@pytest.fixture(scope="module")
def engine_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fp_engines")
    assert main(["build-engines", *MODELS, "--work-dir", str(d / "cache"), "-o", str(d / "engines"),
                 "--precision", "fp32", "--optimization-level", "0", "--max-decoder-steps", "400", *PACE]) == 0
    return d


def synthesize(out, lines, args, batch=1):
    src = out.parent / f"{out.name}.txt"
    src.write_text("\n".join(lines) + "\n")
    assert main(["synthesize", "-i", str(src), "-o", str(out), "--batch-size", str(batch), "--save-mel",
                 "--sample-format", "float32", *args]) == 0
    return [(np.load(next(out.glob(f"audio_{i}.*npy"))), read_wav(out / f"audio_{i}.wav")[0])
            for i in range(len(lines))]


def test_build_config_names_the_acoustic_model(engine_dir):
    cfg = json.loads((engine_dir / "engines" / "build_config.json").read_text())
    assert set(cfg["engines"]) == {"fastpitch", "hifigan", "hifigan-denoiser"}
    assert cfg["acoustic"] == "fastpitch" and cfg["vocoder"] == "hifigan"
    assert cfg["runtime_defaults"]["pace"] == 1.25


@pytest.mark.parametrize("batch", [1, 3])
def test_emulated_engines_equal_eager(engine_dir, tmp_path, batch):
    emulated = synthesize(tmp_path / "emulated", LINES, ["--engine-dir", str(engine_dir / "engines"),
                                                          "--emulate-engines"], batch)
    eager = synthesize(tmp_path / "eager", LINES, ["--backend", "eager", *MODELS, "--work-dir",
                                                    str(engine_dir / "cache"), "--max-decoder-steps", "400", *PACE],
                       batch)
    for i, ((mel_e, wav_e), (mel_g, wav_g)) in enumerate(zip(emulated, eager)):
        assert mel_e.shape == mel_g.shape and wav_e.shape == wav_g.shape and mel_e.shape[-1] > 10, i
        np.testing.assert_allclose(mel_e, mel_g, rtol=1e-5, atol=1e-5, err_msg=f"line {i} mel")
        np.testing.assert_allclose(wav_e, wav_g, rtol=1e-5, atol=1e-5, err_msg=f"line {i} audio")


def test_ragged_batch_equals_single_lines_and_pace_shortens(engine_dir, tmp_path):
    args = ["--backend", "eager", *MODELS, "--work-dir", str(engine_dir / "cache")]
    batch = synthesize(tmp_path / "batch", LINES, args, batch=3)
    for i, line in enumerate(LINES):
        (mel, wav), = synthesize(tmp_path / f"single{i}", [line], args)
        assert mel.shape == batch[i][0].shape
        np.testing.assert_allclose(batch[i][0], mel, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(batch[i][1], wav, rtol=1e-5, atol=1e-5)
    (fast, _), = synthesize(tmp_path / "fast", LINES[1:2], [*args, "--pace", "1.5"])
    assert fast.shape[-1] < 0.75 * batch[1][0].shape[-1]


def test_verify_covers_the_fastpitch_networks(engine_dir, tmp_path, capsys):
    report = tmp_path / "verify.json"
    assert main(["verify", *MODELS, "--work-dir", str(engine_dir / "cache"), "--engine-dir",
                 str(engine_dir / "engines"), "--emulate-engines", "--text", "Hello world.",
                 "--max-decoder-steps", "400", "--json", str(report)]) == 0
    names = {c["name"] for c in json.loads(report.read_text())["checks"]}
    for name in ("fastpitch: mel rel. error", "fastpitch: mel_lengths |Δ|", "engine fastpitch: mel rel. error",
                 "engine fastpitch: durations rel. error", "engine hifigan: audio rel. error"):
        assert name in names, name


def test_streamed_audio_equals_the_unstreamed(engine_dir, tmp_path):
    """FastPitch's mel vocoded in chunks of 8 frames with the vocoder's default context: the streamed WAV equals
    the unstreamed one within 1e-4 of its max (no peak normalisation on either side)."""
    args = ["--backend", "eager", *MODELS, "--work-dir", str(engine_dir / "cache"), "--normalize", "none"]
    (_, whole), = synthesize(tmp_path / "whole", LINES[1:2], args)
    src = tmp_path / "line.txt"
    src.write_text(LINES[1] + "\n")
    assert main(["synthesize", "-i", str(src), "-o", str(tmp_path / "streamed"), "--sample-format", "float32",
                 "--stream", "--chunk-frames", "8", *args]) == 0
    streamed = read_wav(tmp_path / "streamed" / "audio_0.wav")[0]
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() <= 1e-4 * np.abs(whole).max()


def test_mismatched_mel_channels_are_refused_before_building(tmp_path, capsys):
    """A 20-mel FastPitch with the small demo HiFi-GAN (12 mels): refused, nothing built."""
    from trtnet.weights.config import FastPitchConfig
    from trtnet.weights.demo_fastpitch import fastpitch_checkpoint
    import torch
    torch.save(fastpitch_checkpoint(FastPitchConfig.small(n_mel_channels=20), 0), tmp_path / "fp.pt")
    assert main(["build-engines", "--fastpitch", str(tmp_path / "fp.pt"), "--vocoder", "hifigan", "--demo-size",
                 "small", "--work-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "engines")]) != 0
    assert "20-channel mels" in capsys.readouterr().err and not list((tmp_path / "engines").glob("*.plan"))
