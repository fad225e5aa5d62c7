"""The trtnet CLI end to end on a CPU: build with TensorRT-RTX from the demo checkpoints, synthesize with the
eager backend, bench what is available, verify eager vs reference, inspect, and the bad-input cases."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A work dir with the small demo checkpoints extracted (shared by the tests of this module)."""
    d = tmp_path_factory.mktemp("cli")
    assert main(["build-engines", "--demo-size", "small", "-o", str(d / "engines"), "--precision", "fp32",
                 "--optimization-level", "0", "--max-text-len", "64", "--max-decoder-steps", "150",
                 "--engines", "encoder,decoder-loop,decoder-step,postnet,waveglow,denoiser"]) == 0
    return d


def test_version(capsys):
    from trtnet.version import __version__
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.splitlines()[0] == f"trtnet {__version__}"


def test_build_engines_writes_plans_sidecars_and_build_config(work):
    cfg = json.loads((work / "engines" / "build_config.json").read_text())
    assert set(cfg["engines"]) == {"encoder", "decoder-loop", "decoder-step", "postnet", "waveglow", "denoiser"}
    for name, e in cfg["engines"].items():
        assert (work / "engines" / e["plan"]).stat().st_size == e["plan_bytes"] > 0
        assert (work / "engines" / e["sidecar"]).exists()
    assert cfg["inputs"]["tacotron2"]["demo"] and len(cfg["inputs"]["waveglow"]["weights_sha256"]) == 64
    assert cfg["hparams"]["tacotron2"]["n_mel_channels"] == 12 and cfg["options"]["max_text_len"] == 64
    assert cfg["runtime_defaults"]["max_decoder_steps"] == 150 and cfg["runtime_defaults"]["sigma"] == 0.9
    dec = cfg["engines"]["decoder-loop"]
    assert {i["name"] for i in dec["inputs"]} == {"memory", "processed_memory", "lengths", "max_decoder_steps",
                                                  "gate_threshold"}


def test_rebuild_is_cached_and_force_rebuilds(work, capsys):
    plan = work / "engines" / "postnet.plan"
    before = plan.stat().st_mtime_ns
    assert main(["build-engines", "--demo-size", "small", "-o", str(work / "engines"), "--precision", "fp32",
                 "--optimization-level", "0", "--max-text-len", "64", "--max-decoder-steps", "150",
                 "--engines", "postnet"]) == 0
    assert "cached" in capsys.readouterr().out and plan.stat().st_mtime_ns == before
    assert main(["build-engines", "--demo-size", "small", "-o", str(work / "engines"), "--precision", "fp32",
                 "--optimization-level", "0", "--max-text-len", "64", "--max-decoder-steps", "150",
                 "--engines", "postnet", "--force"]) == 0
    assert plan.stat().st_mtime_ns != before


def test_synthesize_eager_writes_wavs_of_the_right_length(work, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO)
    lines = tmp_path / "lines.txt"
    lines.write_text("Hello world.\nDr. Smith paid $3.50 for 2 apples.\nA third, longer line of text to say.\n")
    out = tmp_path / "wavs"
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--batch-size", "2", "--save-mel", "--dropout", "off",
                 "-v"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[3] == "    spoken: 'doctor smith paid three dollars, fifty cents for two apples.'"
    printed = [row for row in printed if not row.startswith("    spoken:")]
    assert len(printed) == 3
    said = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("synthesize: 3 line(s)"))
    assert "backend: eager twin (PyTorch on cpu, fp32, dropout off, noise in-engine)" in said
    assert "tacotron2_demo_small.h5 (demo, random weights)" in said
    for i, row in enumerate(printed):
        mels = int(row.split()[3])
        audio, rate = read_wav(out / f"audio_{i}.wav")
        mel = np.load(out / f"audio_{i}.mel.npy")
        assert rate == 22050 and audio.shape == (mels * 16,) and mel.shape == (12, mels)  # small: hop 16
        assert np.abs(audio).max() > 0.99  # peak-normalised 16-bit PCM


def test_synthesize_plot_writes_one_png_per_line(work, tmp_path):
    import struct
    lines = tmp_path / "lines.txt"
    lines.write_text("A first line to plot.\nAnd a second, somewhat longer line to plot.\n")
    out = tmp_path / "plots"
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "off", "--plot"]) == 0
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["audio_0.png", "audio_1.png"]
    for p in pngs:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (720, 576)   # 9 × 7.2 inches at 80 dpi: three panels (mel, alignment, gate)
        import matplotlib.image
        pixels = matplotlib.image.imread(p)[..., :3]
        for band in np.array_split(pixels, 3, axis=0):                # each panel has something drawn in it
            assert band.std() > 0.05, f"{p.name}: a panel is blank (pixel std {band.std():.3f})"


def test_synthesize_is_deterministic_with_dropout_off_and_fed_noise(work, tmp_path):
    lines = tmp_path / "l.txt"
    lines.write_text("Same text twice.\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                     "--dropout", "off", "--noise", "input", "--seed", "3"]) == 0
        outs.append(read_wav(out / "audio_0.wav")[0])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert outs[0].size > 0 and np.abs(outs[0]).max() > 0           # speech, not an empty or silent file
    other = tmp_path / "o_seed4"                                     # and the seed is what fixes it
    assert main(["synthesize", "-i", str(lines), "-o", str(other), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "off", "--noise", "input", "--seed", "4"]) == 0
    assert not np.array_equal(read_wav(other / "audio_0.wav")[0], outs[0])


def _synthesize_float(work, lines, out, *extra):
    """Deterministic eager synthesis of ``lines`` into ``out``: peak-normalised float32 WAVs and post-net mels."""
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "input", "--noise", "input", "--seed", "5",
                 "--sample-format", "float32", "--save-mel", *extra]) == 0


def test_synthesize_batch_of_three_writes_the_wavs_and_mels_of_three_single_runs(work, tmp_path, capsys):
    """Ragged lines in one batch (fed masks and noise keyed per utterance) against batches of one."""
    lines = tmp_path / "lines.txt"
    lines.write_text("Hi there, my friend.\nA much longer line, with commas, to say slowly.\nShort one.\n")
    _synthesize_float(work, lines, tmp_path / "b3", "--batch-size", "3")
    _synthesize_float(work, lines, tmp_path / "b1", "--batch-size", "1")
    lengths = set()
    for i in range(3):
        a3, rate = read_wav(tmp_path / "b3" / f"audio_{i}.wav")
        a1, _ = read_wav(tmp_path / "b1" / f"audio_{i}.wav")
        m3, m1 = np.load(tmp_path / "b3" / f"audio_{i}.mel.npy"), np.load(tmp_path / "b1" / f"audio_{i}.mel.npy")
        assert a3.dtype == np.float32 and a3.shape == a1.shape and m3.shape == m1.shape
        np.testing.assert_allclose(a3, a1, atol=1e-5 * np.abs(a1).max())
        np.testing.assert_allclose(m3, m1, atol=1e-5 * np.abs(m1).max())
        lengths.add(m1.shape[1])
    assert len(lengths) == 3, f"the lines must end at different frames: {lengths}"


def test_checkpoint_paths_work_from_an_empty_directory(work, tmp_path, monkeypatch, capsys, weights_cache):
    """--tacotron2/--waveglow checkpoints from a directory with nothing in it: nothing is written there but the
    output; the extracted files go to the weights cache, named after each checkpoint's content."""
    ckpts = weights_cache / "demo"
    t2, wg = ckpts / "tacotron2_demo_small.pt", ckpts / "waveglow_demo_small.pt"
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    (tmp_path / "l.txt").write_text("hello there\n")
    models = ["--tacotron2", str(t2), "--waveglow", str(wg)]
    assert main(["synthesize", "-i", str(tmp_path / "l.txt"), "-o", "out", "--backend", "eager", *models]) == 0
    assert read_wav(empty / "out" / "audio_0.wav")[0].size > 0
    assert sorted(p.name for p in empty.iterdir()) == ["out"]
    from trtnet.files import file_sha256
    extracted = sorted(p.name for p in (weights_cache / "extracted").glob("*.h5"))
    assert extracted == [f"tacotron2-{file_sha256(t2)[:16]}.h5", f"waveglow-{file_sha256(wg)[:16]}.h5"]
    assert main(["bench", *models, "--backends", "eager-loop", "--iterations", "1", "--warmup", "0",
                 "--text", "Short."]) == 0
    assert main(["verify", *models, "--max-decoder-steps", "60"]) == 0
    assert sorted(p.name for p in empty.iterdir()) == ["out"]
    capsys.readouterr()


@pytest.mark.parametrize("text,message", [("Fine line.\n\nafter an empty line\n", "line 2 is empty"),
                                          ("fine\n☃ 🙂\n", "line 2 has nothing to say"),
                                          ("x" * 80 + "\n", "at most 64")])
def test_synthesize_refuses_bad_lines_before_writing_anything(work, tmp_path, capsys, text, message):
    lines = tmp_path / "bad.txt"
    lines.write_text(text)
    out = tmp_path / "never"
    args = ["synthesize", "-i", str(lines), "-o", str(out)]
    if "at most" in message:   # the engines' own limit, read from their build_config.json (lines split: none)
        args += ["--engine-dir", str(work / "engines"), "--split", "none"]
    else:
        args += ["--backend", "eager", "--demo-size", "small"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "error" in err
    assert not out.exists() or not any(out.iterdir())


def test_synthesize_unwritable_output_and_missing_inputs(work, tmp_path, capsys):
    lines = tmp_path / "l.txt"
    lines.write_text("hello\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synthesize", "-i", str(lines), "-o", str(blocker / "sub"), "--backend", "eager"]) == 2
    assert "cannot be created" in capsys.readouterr().err
    assert main(["synthesize", "-i", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o"), "--backend", "eager"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--engine-dir", str(tmp_path)]) == 2
    assert "no build_config.json" in capsys.readouterr().err


def test_engine_dir_on_a_machine_that_cannot_run_engines(work, tmp_path, capsys):
    from trtnet.runtime.gpu import engine_runtime_status
    ok, why = engine_runtime_status()
    if ok:
        pytest.skip("this machine runs engines; the GPU tests cover it")
    lines = tmp_path / "l.txt"
    lines.write_text("hello\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--engine-dir", str(work / "engines")]) == 2
    err = capsys.readouterr().err
    assert f"NoGpuError: {work / 'engines' / 'encoder.plan'}: cannot run here" in err   # before any work
    assert "no CUDA GPU found" in err and "upgrade" not in err
    assert "add --emulate-engines" in err, "the error names the flag that runs the engine path here"
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_bench_runs_the_available_rows_and_says_what_it_skipped(work, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--demo-size", "small", "--engine-dir",
                 str(work / "engines"), "--iterations", "2", "--warmup", "1", "--json", str(out),
                 "--text", "A short benchmark line."]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())["rows"]
    assert {r["framework"] for r in rows} >= {"trtnet eager-loop", "trtnet eager-step", "PyTorch reference"}
    for r in rows:
        assert r["iterations"] == 2 and r["latency_avg_s"] > 0 and r["rtf"] > 0
    assert "| framework " in printed and "p99 (s)" in printed
    loop = next(r for r in rows if r["framework"] == "trtnet eager-loop")
    step = next(r for r in rows if r["framework"] == "trtnet eager-step")
    assert loop["mels"] == step["mels"], "loop and per-step decoders stop on the same step"
    if "skipped: engine-loop" not in printed:
        assert any(r["framework"].startswith("trtnet engine") for r in rows)


def test_verify_eager_vs_reference(work, tmp_path, capsys):
    out = tmp_path / "verify.json"
    assert main(["verify", "--demo-size", "small", "--json", str(out), "--plot", str(tmp_path / "v.png")]) == 0
    png = (tmp_path / "v.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    report = json.loads(out.read_text())
    names = {c["name"] for c in report["checks"]}
    assert {"decoder-loop: stop step |Δ|", "waveglow: audio rel. error", "denoiser: audio_denoised rel. error"} <= names
    assert all(c["passed"] for c in report["checks"]) and report["not_checked"] == []
    assert "(no --engine-dir: no engine checks)" in capsys.readouterr().out


def test_verify_with_engines_that_cannot_run_here_fails_before_any_work(work, capsys):
    from trtnet.runtime.gpu import engine_runtime_status
    ok, why = engine_runtime_status()
    if ok:
        pytest.skip("this machine runs engines; the GPU tests cover it")
    assert main(["verify", "--demo-size", "small", "--engine-dir", str(work / "engines")]) == 2
    err = capsys.readouterr().err
    assert "cannot run here" in err and "--emulate-engines" in err


def test_verify_of_an_engine_dir_without_an_index_is_an_error(work, tmp_path, capsys):
    assert main(["verify", "--demo-size", "small", "--engine-dir", str(tmp_path), "--emulate-engines"]) == 2
    assert f"{tmp_path}: no build_config.json" in capsys.readouterr().err


def test_inspect_engine_info_says_why_it_is_missing_and_prints_the_rest(work, capsys):
    from trtnet.runtime.gpu import engine_runtime_status
    if engine_runtime_status()[0]:
        pytest.skip("this machine runs engines: the inspector works here")
    assert main(["inspect", str(work / "engines" / "postnet.plan"), "--engine-info"]) == 0
    out = capsys.readouterr().out
    assert "input  mel" in out and "engine layers after fusion: not available here (" in out
    assert "no CUDA GPU found" in out


def test_inspect_groups_layers_by_scope(work, capsys):
    assert main(["inspect", str(work / "engines" / "decoder-loop.plan")]) == 0
    out = capsys.readouterr().out
    assert "max_decoder_steps" in out and "(shape tensor)" in out and "decoder/attention_rnn" in out


def test_extract_weights_command_and_subprocess_start(work, tmp_path, weights_cache):
    ckpt = weights_cache / "demo" / "tacotron2_demo_small.pt"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    res = subprocess.run([sys.executable, "-m", "trtnet.tools.cli", "extract-weights", str(ckpt), "-o",
                          str(tmp_path / "t2.h5")], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    from trtnet.weights.store import WeightStore
    with WeightStore.open(tmp_path / "t2.h5") as store:
        n = len(store.keys())
    assert n > 0 and f"wrote {tmp_path / 't2.h5'}: {n} tensors" in res.stdout
