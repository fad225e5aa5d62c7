"""Refit on the emulated runtime: engines built from checkpoint A and refitted with B (``trtnet refit``) give
what engines built from B give; a B of another shape is refused with nothing changed; an interrupted refit
leaves a directory ``verify`` passes; weight-stripped plans load and run from their ``.h5``.

TensorRT-RTX cannot build refittable plans without a GPU, so the engines are built with ``--emulate-engines``
(plans without the flags, marked for the emulator, whose refitter follows TensorRT's contract); on a GPU the
plan-size test builds with the real flags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from trtnet.emulate import Emulator
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MAX_STEPS, MAX_TEXT = 150, 64
LINES = ["Hello world.", "A second, longer line of text."]
TOLERANCE = {"fp16": dict(rtol=5e-4, atol=1e-4)}       # test_emulate_e2e's FP16 bounds
T2 = "encoder,decoder-loop,postnet"


def build(out: Path, precision: str, engines: str, *extra: str) -> Path:
    assert main(["build-engines", "--demo-size", "small", "-o", str(out), "--precision", precision,
                 "--optimization-level", "0", "--max-text-len", str(MAX_TEXT), "--max-decoder-steps", str(MAX_STEPS),
                 "--dropout", "input", "--noise", "input", "--engines", engines, "--log-level", "warning",
                 *extra]) == 0
    return out


def synthesize(engine_dir: Path, out: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    from trtnet.runtime.wav import read_wav
    lines = out.parent / "lines.txt"
    lines.write_text("\n".join(LINES) + "\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--seed", "3", "--save-mel", "--sample-format",
                 "float32", "--max-decoder-steps", str(MAX_STEPS), "--engine-dir", str(engine_dir),
                 "--emulate-engines", "--log-level", "warning"]) == 0
    return [(np.load(next(out.glob(f"audio_{i}.*npy"))), read_wav(out / f"audio_{i}.wav")[0])
            for i in range(len(LINES))]


def assert_same(got, want, precision):
    for i, ((mel, wav), (mel_b, wav_b)) in enumerate(zip(got, want)):
        assert mel.shape == mel_b.shape and wav.shape == wav_b.shape, f"line {i}: stop step differs"
        assert np.abs(wav_b).max() > 0
        for a, b, what in ((mel, mel_b, "mel"), (wav, wav_b, "audio")):
            tol = TOLERANCE.get(precision) or dict(rtol=0, atol=1e-5 * float(np.abs(b).max()))
            np.testing.assert_allclose(a, b, **tol, err_msg=f"line {i} {what}")


@pytest.fixture(scope="module")
def ckpt_b(tmp_path_factory):
    """Checkpoint B: the small demo models with another seed (A is the default demo, seed 0)."""
    from trtnet.weights.demo import write_demo_checkpoints
    return write_demo_checkpoints(tmp_path_factory.mktemp("ckpt_b"), "small", seed=1,
                                  kinds=("tacotron2", "waveglow", "hifigan"))


def snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file() and p.name != ".trtnet.lock"}


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_refit_a_with_b_equals_built_from_b_tacotron2_and_waveglow(tmp_path, ckpt_b, precision, capsys):
    engines = f"{T2},waveglow,denoiser"
    a = build(tmp_path / "a", precision, engines, "--refittable", "--emulate-engines")
    b = build(tmp_path / "b", precision, engines, "--tacotron2", str(ckpt_b["tacotron2"]),
              "--waveglow", str(ckpt_b["waveglow"]))
    before = synthesize(a, tmp_path / "syn_a0")
    capsys.readouterr()
    assert main(["refit", str(a), "--tacotron2", str(ckpt_b["tacotron2"]), "--waveglow", str(ckpt_b["waveglow"]),
                 "--emulate-engines", "--log-level", "warning"]) == 0
    table = capsys.readouterr().out
    for name in engines.split(","):
        assert f"\n{name} " in table
    assert "refit " in table and " vs build " in table
    index = json.loads((a / "build_config.json").read_text())
    sides = [json.loads((a / e["sidecar"]).read_text()) for e in index["engines"].values()]
    assert {s["weights_sha256"] for s in sides} == {i["weights_sha256"] for i in index["inputs"].values()}
    assert not list(a.glob("encoder.plan")), "the replaced plan is removed"
    after, want = synthesize(a, tmp_path / "syn_a"), synthesize(b, tmp_path / "syn_b")
    assert not np.allclose(before[0][1], want[0][1]), "A and B must differ for the comparison to mean anything"
    assert_same(after, want, precision)


def test_refit_hifigan_keeps_tacotron2(tmp_path, ckpt_b):
    a = build(tmp_path / "a", "fp32", f"{T2},hifigan", "--vocoder", "hifigan", "--refittable", "--emulate-engines")
    b = build(tmp_path / "b", "fp32", f"{T2},hifigan", "--hifigan", str(ckpt_b["hifigan"]))
    t2_before = {n: (a / f"{n}.plan").read_bytes() for n in T2.split(",")}
    assert main(["refit", str(a), "--hifigan", str(ckpt_b["hifigan"]), "--emulate-engines"]) == 0
    assert {n: (a / f"{n}.plan").read_bytes() for n in T2.split(",")} == t2_before
    assert_same(synthesize(a, tmp_path / "syn_a"), synthesize(b, tmp_path / "syn_b"), "fp32")


def test_refit_fastpitch_equals_built_from_b_and_keeps_the_vocoder(tmp_path, capsys):
    from trtnet.weights.demo import write_demo_checkpoints
    fp_b = write_demo_checkpoints(tmp_path / "ckpt_b", "small", seed=1, kinds=("fastpitch",))["fastpitch"]
    engines, vocoder = "fastpitch,hifigan", ("--vocoder", "hifigan")
    a = build(tmp_path / "a", "fp32", engines, "--acoustic", "fastpitch", *vocoder, "--refittable", "--emulate-engines")
    b = build(tmp_path / "b", "fp32", engines, "--fastpitch", str(fp_b), *vocoder)
    vocoder_plan = (a / "hifigan.plan").read_bytes()
    before = synthesize(a, tmp_path / "syn_a0")
    capsys.readouterr()
    assert main(["refit", str(a), "--fastpitch", str(fp_b), "--emulate-engines", "--log-level", "warning"]) == 0
    assert "\nfastpitch " in capsys.readouterr().out and not (a / "fastpitch.plan").exists()
    assert (a / "hifigan.plan").read_bytes() == vocoder_plan
    after, want = synthesize(a, tmp_path / "syn_a"), synthesize(b, tmp_path / "syn_b")
    assert before[0][0].shape != want[0][0].shape or not np.allclose(before[0][0], want[0][0]), "A and B must differ"
    assert_same(after, want, "fp32")


def test_refit_with_two_acoustic_models_is_refused(refittable_dir, ckpt_b, capsys):
    before = snapshot(refittable_dir)
    assert main(["refit", str(refittable_dir), "--tacotron2", str(ckpt_b["tacotron2"]), "--fastpitch", "fp.pt",
                 "--emulate-engines"]) == 2
    assert "an engine directory holds one acoustic model" in capsys.readouterr().err
    assert snapshot(refittable_dir) == before


@pytest.fixture(scope="module")
def refittable_dir(tmp_path_factory):
    return build(tmp_path_factory.mktemp("refittable") / "e", "fp32", f"{T2},waveglow,denoiser", "--refittable",
                 "--emulate-engines")


def test_a_b_of_another_shape_is_refused_with_nothing_changed(refittable_dir, tmp_path, capsys):
    import torch
    from trtnet.weights.demo import demo_config, tacotron2_checkpoint
    cfg = replace(demo_config("tacotron2", "small"), postnet_embedding_dim=24)
    torch.save(tacotron2_checkpoint(cfg, seed=1), tmp_path / "other.pt")
    before = snapshot(refittable_dir)
    capsys.readouterr()
    assert main(["refit", str(refittable_dir), "--tacotron2", str(tmp_path / "other.pt"), "--emulate-engines"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config key 'postnet_embedding_dim' is 24, the engines were built with 16" in err[0], err
    assert snapshot(refittable_dir) == before


def test_refit_of_engines_built_without_the_flag_is_refused(tmp_path, ckpt_b, capsys):
    d = build(tmp_path / "plain", "fp32", "postnet")
    before = snapshot(d)
    assert main(["refit", str(d), "--tacotron2", str(ckpt_b["tacotron2"]), "--emulate-engines"]) == 2
    assert "built without --refittable or --strip-weights" in capsys.readouterr().err
    assert snapshot(d) == before


def _verify(d: Path, *weights: str) -> int:
    return main(["verify", "--demo-size", "small", "--engine-dir", str(d), "--emulate-engines", *weights,
                 "--max-decoder-steps", str(MAX_STEPS), "--text", "A short line to verify.", "--log-level", "warning"])


def test_an_interrupted_refit_leaves_the_old_engines_valid(refittable_dir, ckpt_b, tmp_path):
    from trtnet.engines.refit_set import refit_engine_dir
    from trtnet.weights.sources import resolve
    index = (refittable_dir / "build_config.json").read_bytes()
    sources = {"tacotron2": resolve(ckpt_b["tacotron2"], "tacotron2", tmp_path / "cache"),
               "waveglow": ckpt_b["waveglow"]}            # a resolved source, or a path extracted into the cache

    def fail(name):
        if name == "decoder-loop":
            raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError, match="interrupted"):
        refit_engine_dir(refittable_dir, sources, emulate=True, fail_after=fail)
    assert (refittable_dir / "build_config.json").read_bytes() == index
    assert list(refittable_dir.glob("encoder.refit-*.plan")), "the interrupted refit had written new files"
    # and killed outright (SIGKILL) after the second engine's files
    code = ("import os, signal, sys; from trtnet.engines.refit_set import refit_engine_dir; "
            "from trtnet.weights.sources import resolve; "
            f"s = {{a: resolve(p, a, {str(tmp_path / 'cache')!r}) for a, p in "
            f"(('tacotron2', {str(ckpt_b['tacotron2'])!r}), ('waveglow', {str(ckpt_b['waveglow'])!r}))}}; "
            f"refit_engine_dir({str(refittable_dir)!r}, s, emulate=True, fail_after=lambda n: n == 'postnet' and "
            "os.kill(os.getpid(), signal.SIGKILL))")
    r = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True)
    assert r.returncode == -9, r.stderr[-2000:]
    assert (refittable_dir / "build_config.json").read_bytes() == index
    assert _verify(refittable_dir) == 0
    # a later refit completes and removes the orphans of the interrupted ones
    records = refit_engine_dir(refittable_dir, sources, emulate=True)
    assert len(records) == 5 and not list(refittable_dir.glob("encoder.plan"))
    plans = sorted(p.name for p in refittable_dir.glob("*.plan"))
    assert plans == sorted(r.plan.name for r in records)
    assert _verify(refittable_dir, "--tacotron2", str(ckpt_b["tacotron2"]), "--waveglow", str(ckpt_b["waveglow"])) == 0


def test_stripped_plans_load_and_run_from_the_h5(tmp_path, ckpt_b, capsys):
    from trtnet.refit import RefitError, sidecar_weights
    from trtnet.runtime.engine import Engine, EngineLoadError
    from trtnet.sidecar import Sidecar
    engines = f"{T2},waveglow,denoiser"
    s = build(tmp_path / "s", "fp32", engines, "--strip-weights", "--emulate-engines")
    full = build(tmp_path / "f", "fp32", engines)
    assert_same(synthesize(s, tmp_path / "syn_s"), synthesize(full, tmp_path / "syn_f"), "fp32")
    # loading refits from the .h5 the sidecar names, its hash checked first
    side = json.loads((s / "encoder.json").read_text())
    h5 = Path(side["extra"]["weights_file"])
    saved = h5.read_bytes()
    try:
        h5.write_bytes(saved[:-1] + bytes([saved[-1] ^ 1]))
        with pytest.raises(RefitError, match=r"sha256 .* differs from .* encoder.plan's sidecar records"):
            sidecar_weights(s / "encoder.plan", Sidecar.read(s / "encoder.json"))
        with pytest.raises(EngineLoadError, match=r"sha256 .* differs"):   # the emulator checks it too
            Engine.load(s / "encoder.plan", provider=Emulator())
    finally:
        h5.write_bytes(saved)
    # a stripped engine is not usable before its refit (TensorRT's contract, emulated)
    with Engine.load(s / "encoder.plan", provider=Emulator(), refit_stripped=False) as e:
        assert e.trt_engine.create_execution_context() is None
    # and a stripped plan refitted with B stays stripped and gives B's output
    b = build(tmp_path / "b", "fp32", engines, "--tacotron2", str(ckpt_b["tacotron2"]), "--waveglow",
              str(ckpt_b["waveglow"]))
    assert main(["refit", str(s), "--tacotron2", str(ckpt_b["tacotron2"]), "--waveglow", str(ckpt_b["waveglow"]),
                 "--emulate-engines"]) == 0
    assert_same(synthesize(s, tmp_path / "syn_s2"), synthesize(b, tmp_path / "syn_b"), "fp32")


def test_emulated_refitter_contract(refittable_dir):
    from trtnet.runtime.engine import Engine
    plan = json.loads((refittable_dir / "build_config.json").read_text())["engines"]["postnet"]["plan"]
    with Engine.load(refittable_dir / plan, provider=Emulator()) as e:
        trt, eng = e.trt, e.trt_engine
        r = trt.Refitter(eng, e.logger)
        names = r.get_all_weights()
        side = e.sidecar.manifest()
        assert sorted(names) == sorted(side) and r.get_missing_weights() == []
        good = np.zeros(side[names[0]].shape, np.float32)
        assert not r.set_named_weights("no/such/weights", trt.Weights(good))
        assert not r.set_named_weights(names[0], trt.Weights(good.astype(np.float16)))
        assert not r.set_named_weights(names[0], trt.Weights(good[..., :1]))
        assert r.set_named_weights(names[0], trt.Weights(good)) and r.refit_cuda_engine()
    plain = build(refittable_dir.parent / "plain", "fp32", "postnet")
    with Engine.load(plain / "postnet.plan", provider=Emulator()) as e:
        with pytest.raises(TypeError, match="not built refittable"):
            e.trt.Refitter(e.trt_engine, e.logger)


def test_refit_flags_need_a_gpu_on_rtx_or_the_emulator(tmp_path, capsys):
    from trtnet.device import current_device
    from trtnet.flavor import resolve
    if not resolve().is_rtx or current_device()["device"] is not None:
        pytest.skip("TensorRT or a GPU: the flags build for real here")
    assert main(["build-engines", "--demo-size", "small", "-o", str(tmp_path / "e"), "--engines", "postnet",
                 "--optimization-level", "0", "--refittable"]) == 2
    assert "builds refittable / weight-stripped plans only on a GPU" in capsys.readouterr().err


def test_stripped_plans_are_smaller(tmp_path):
    """Real STRIP_PLAN: needs a flavour that builds it here (TensorRT, or TensorRT-RTX on a GPU)."""
    from trtnet.device import current_device
    from trtnet.flavor import resolve
    if resolve().is_rtx and current_device()["device"] is None:
        pytest.skip("TensorRT-RTX builds weight-stripped plans only with a GPU (its kernel JIT needs CUDA)")
    s = build(tmp_path / "s", "fp32", "postnet,waveglow", "--strip-weights")
    f = build(tmp_path / "f", "fp32", "postnet,waveglow")
    for n in ("postnet", "waveglow"):
        assert (s / f"{n}.plan").stat().st_size < (f / f"{n}.plan").stat().st_size


def test_a_flavour_without_the_flags_is_refused_naming_it():
    import types

    from packaging.version import Version

    from trtnet.flavor import Flavor
    from trtnet.refit import RefitError, check_flavor, flavor_support
    import tensorrt_rtx
    assert flavor_support(tensorrt_rtx) == {"refittable": True, "strip_weights": True}
    old = types.SimpleNamespace(BuilderFlag=types.SimpleNamespace(REFIT=1), INetworkDefinition=object,
                                Refitter=object)
    fl = Flavor("tensorrt", old, Version("8.6"))
    check_flavor(fl, False, False)
    with pytest.raises(RefitError, match=r"--refittable: tensorrt 8.6 has no REFIT_INDIVIDUAL builder flag"):
        check_flavor(fl, True, False)
    with pytest.raises(RefitError, match=r"--strip-weights: tensorrt 8.6 has no REFIT_INDIVIDUAL / STRIP_PLAN"):
        check_flavor(fl, False, True)


def test_the_real_runtime_refuses_plans_built_for_the_emulator(refittable_dir):
    from trtnet.runtime.engine import Engine, EngineCompatibilityError
    plan = json.loads((refittable_dir / "build_config.json").read_text())["engines"]["postnet"]["plan"]
    with pytest.raises(EngineCompatibilityError, match="built for the emulated runtime"):
        Engine.load(refittable_dir / plan)


def test_build_engines_reuses_refitted_plans_for_the_weights_they_carry(tmp_path, ckpt_b):
    """A refit to B is a build from B as far as the cache goes: build-engines with B (same flags) reuses the
    refitted plans, adds what is missing, and keeps the index naming them; with A again it rebuilds."""
    d = build(tmp_path / "e", "fp32", "postnet,waveglow", "--refittable", "--emulate-engines")
    assert main(["refit", str(d), "--tacotron2", str(ckpt_b["tacotron2"]), "--waveglow", str(ckpt_b["waveglow"]),
                 "--emulate-engines"]) == 0
    refitted = {n: e["plan"] for n, e in json.loads((d / "build_config.json").read_text())["engines"].items()}
    assert all(".refit-" in p for p in refitted.values())
    kept = {n: (d / p).read_bytes() for n, p in refitted.items()}
    build(d, "fp32", "postnet,waveglow,denoiser", "--refittable", "--emulate-engines", "--tacotron2",
          str(ckpt_b["tacotron2"]), "--waveglow", str(ckpt_b["waveglow"]))
    index = json.loads((d / "build_config.json").read_text())["engines"]
    for n, p in refitted.items():
        assert index[n]["plan"] == p and index[n]["cached"] and (d / p).read_bytes() == kept[n]
    assert not index["denoiser"]["cached"]
    build(d, "fp32", "postnet", "--refittable", "--emulate-engines")          # A again: built, not the refit
    index = json.loads((d / "build_config.json").read_text())["engines"]
    assert index["postnet"]["plan"] == "postnet.plan" and not index["postnet"]["cached"]
    assert not list(d.glob("postnet.refit-*")) and (d / refitted["waveglow"]).exists()   # only the superseded go
