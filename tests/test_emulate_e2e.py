"""The engine path end to end on the emulated TensorRT runtime: ``build-engines`` (TensorRT-RTX, CPU), then
``synthesize --engine-dir D --emulate-engines`` through the engine directory, sidecar I/O specs, sessions,
shape inputs, buffers and the pipeline, against the eager backend in deterministic mode (fed dropout masks and
noise); the per-step host loop against the in-engine loop; verify and bench with ``--emulate-engines``.

Where a GPU is present the same runs use cuda-python device buffers (the emulator only replaces TensorRT's
execution); elsewhere the host-memory CUDA stand-in.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fixtures_emulate import MAX_STEPS, engine_dirs  # noqa: F401 (fixture)
from trtnet.emulate import Emulator
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LINES = ["Hello world.", "Dr. Smith paid $3.50 for 2 apples.", "A third, longer line of text to say."]
# emulated engines vs the eager twin: the interpreter and PyTorch compute the same graph in different orders
TOLERANCE = {"fp32": dict(rtol=1e-5, atol=1e-6), "fp16": dict(rtol=5e-4, atol=1e-4)}


def synthesize(out, lines_file, backend_args, batch, seed=3):
    assert main(["synthesize", "-i", str(lines_file), "-o", str(out), "--batch-size", str(batch), "--seed", str(seed),
                 "--save-mel", "--sample-format", "float32",
                 "--max-decoder-steps", str(MAX_STEPS), *backend_args]) == 0
    from trtnet.runtime.wav import read_wav
    mels = [next(out.glob(f"audio_{i}.*npy")) for i in range(len(LINES))]
    return [(np.load(m), read_wav(out / f"audio_{i}.wav")[0]) for i, m in enumerate(mels)]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("batch", [1, 3])
def test_synthesize_on_emulated_engines_equals_eager(engine_dirs, tmp_path, precision, batch):
    d = engine_dirs(precision)
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(LINES) + "\n")
    emulated = synthesize(tmp_path / "emulated", lines, ["--engine-dir", str(d), "--emulate-engines"], batch)
    eager = synthesize(tmp_path / "eager", lines, ["--backend", "eager", "--demo-size", "small", "--work-dir", str(d),
                                                   "--precision", precision, "--dropout", "input", "--noise", "input"],
                       batch)
    for i, ((mel_e, wav_e), (mel_g, wav_g)) in enumerate(zip(emulated, eager)):
        assert mel_e.shape == mel_g.shape and wav_e.shape == wav_g.shape, f"line {i}: stop step differs"
        assert mel_e.shape[1] > 0 and np.abs(wav_e).max() > 0
        np.testing.assert_allclose(mel_e, mel_g, **TOLERANCE[precision], err_msg=f"line {i} mel")
        np.testing.assert_allclose(wav_e, wav_g, **TOLERANCE[precision], err_msg=f"line {i} audio")


def test_per_step_host_loop_equals_the_in_engine_loop(engine_dirs):
    """The decoder-step engine driven per frame from the host and the decoder-loop engine, both emulated."""
    from trtnet.runtime.engine_dir import open_engine_dir
    from trtnet.runtime.pipeline import Pipeline, Settings
    names = ("encoder", "decoder-loop", "decoder-step", "postnet", "waveglow", "denoiser")
    emulator = Emulator()
    with open_engine_dir(engine_dirs("fp32"), names, provider=emulator) as d:
        assert d.emulated
        results = {}
        for decoder in ("loop", "step"):
            t2, wg, dflt = d.t2_config, d.vocoder_config, d.defaults
            settings = Settings(max_decoder_steps=MAX_STEPS, gate_threshold=dflt["gate_threshold"], sigma=dflt["sigma"],
                                denoiser_strength=dflt["denoiser_strength"], dropout="input", noise="input", seed=7)
            pipe = Pipeline(d.sessions, t2_config=t2, vocoder_config=wg, limits=d.limits, settings=settings,
                            decoder=decoder)
            results[decoder] = [u for b in pipe.synthesize(LINES, 3) for u in b.utterances]
    if emulator.host_memory:         # closing the directory freed every host-stand-in allocation of its sessions
        assert emulator.host_cuda.live() == {"device": 0, "pinned": 0, "streams": 0, "events": 0}
    for loop, step in zip(results["loop"], results["step"]):
        assert loop.mel_length == step.mel_length > 0
        np.testing.assert_allclose(step.mel_postnet, loop.mel_postnet, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(step.audio, loop.audio, rtol=1e-6, atol=1e-6)


def test_verify_compares_emulated_engines_with_eager_and_the_reference(engine_dirs, tmp_path, capsys):
    d = engine_dirs("fp32")
    out = tmp_path / "verify.json"
    assert main(["verify", "--demo-size", "small", "--work-dir", str(d), "--engine-dir", str(d), "--emulate-engines",
                 "--max-decoder-steps", str(MAX_STEPS), "--text", "A short line to verify.", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    names = {c["name"] for c in report["checks"]}
    for net in ("encoder", "decoder-loop", "postnet", "waveglow", "denoiser"):
        assert any(n.startswith(f"engine {net}:") for n in names), net
    assert all(c["passed"] for c in report["checks"]) and not report["not_checked"]
    assert "emulated engines vs eager" in capsys.readouterr().out


def test_verify_interpret_checks_the_emulated_engines_it_opened_once(engine_dirs, tmp_path, capsys, monkeypatch):
    """``--interpret`` with ``--engine-dir --emulate-engines``: the engines vs the interpreter are the emulated ones,
    from the one engine directory opened for the eager comparison."""
    import trtnet.runtime.engine_dir as engine_dir
    opened = []
    real = engine_dir.open_engine_dir
    monkeypatch.setattr(engine_dir, "open_engine_dir", lambda *a, **k: opened.append(k) or real(*a, **k))
    d = engine_dirs("fp32")
    out = tmp_path / "verify.json"
    assert main(["verify", "--demo-size", "small", "--work-dir", str(d), "--engine-dir", str(d), "--emulate-engines",
                 "--interpret", "--max-decoder-steps", str(MAX_STEPS), "--text", "A short line to verify.",
                 "--json", str(out)]) == 0
    assert len(opened) == 1 and isinstance(opened[0]["provider"], Emulator), opened
    names = {c["name"] for c in json.loads(out.read_text())["checks"]}
    assert "decoder-loop (emulated engine) mel vs interpreter" in names, sorted(names)
    assert "emulated engines vs interpreter:" in capsys.readouterr().out


def test_bench_labels_emulated_rows(engine_dirs, tmp_path, capsys):
    d = engine_dirs("fp32")
    out = tmp_path / "bench.json"
    assert main(["bench", "--demo-size", "small", "--work-dir", str(d), "--engine-dir", str(d), "--emulate-engines",
                 "--backends", "engine-loop,engine-step", "--iterations", "1", "--warmup", "0", "--json", str(out),
                 "--text", "A short line."]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert {r["framework"] for r in rows} == {"trtnet engine-loop (emulated)", "trtnet engine-step (emulated)"}
    assert "not engine speed" in capsys.readouterr().out


def test_emulate_engines_needs_an_engine_dir(tmp_path, capsys):
    lines = tmp_path / "l.txt"
    lines.write_text("hello\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--backend", "eager",
                 "--emulate-engines"]) == 2
    assert "--emulate-engines emulates the engines of --engine-dir" in capsys.readouterr().err
