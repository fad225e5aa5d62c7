"""The exported model repository and the Triton model's checks, without a server: export refuses a non-empty
directory without --overwrite and never touches files it did not write; engines are verified before they are
copied in (a truncated plan is refused); non-finite audio becomes an error response, never a success, and the
other requests of its batch are still answered; a batch of pieces of only cancelled requests stops before its
networks and the other requests still equal their own runs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from fixtures_emulate import engine_dirs  # noqa: F401
from trtnet.runtime.text import DEFAULT_FRONTEND
from trtnet.tools.cli import main

EAGER = ["--backend", "eager", "--demo-size", "small"]


def test_export_refuses_a_non_empty_directory_and_leaves_foreign_files_alone(tmp_path, capsys):
    out = tmp_path / "R"
    out.mkdir()
    (out / "README.md").write_text("mine\n")
    assert main(["export-triton", "-o", str(out), *EAGER]) != 0
    assert "is not empty (holds README.md); pass --overwrite" in capsys.readouterr().err
    assert main(["export-triton", "-o", str(out), *EAGER, "--overwrite"]) != 0
    assert "README.md was not written by trtnet export-triton, so it is left alone" in capsys.readouterr().err
    assert (out / "README.md").read_text() == "mine\n" and sorted(p.name for p in out.iterdir()) == ["README.md"]
    (out / "README.md").unlink()
    (out / "notes.txt").write_text("keep me\n")
    assert main(["export-triton", "-o", str(out), *EAGER, "--overwrite"]) == 0
    assert main(["export-triton", "-o", str(out), *EAGER, "--overwrite", "--no-stream"]) == 0   # replaces its own
    assert (out / "notes.txt").read_text() == "keep me\n" and not (out / "trtnet_tts_stream").exists()
    assert sorted(p.name for p in (out / "trtnet_tts" / "weights").iterdir()) == ["tacotron2.h5", "waveglow.h5"]
    assert not [p for p in [*tmp_path.iterdir(), *out.iterdir()] if "staging" in p.name or p.name == ".trtnet.lock"]


def test_export_packs_the_fastpitch_weights_into_the_repository(tmp_path):
    """An eager FastPitch + HiFi-GAN export names its weights by paths inside the repository, as Tacotron 2's."""
    out = tmp_path / "R"
    assert main(["export-triton", "-o", str(out), *EAGER, "--acoustic", "fastpitch", "--vocoder", "hifigan",
                 "--cache-dir", str(tmp_path / "cache"), "--no-stream"]) == 0
    assert sorted(p.name for p in (out / "trtnet_tts" / "weights").iterdir()) == ["fastpitch.h5", "hifigan.h5"]
    config = (out / "trtnet_tts" / "config.pbtxt").read_text()
    assert "trtnet_tts/weights/fastpitch.h5" in config and str(tmp_path / "cache") not in config


def test_export_copies_verified_engines_in_and_refuses_a_truncated_plan(engine_dirs, tmp_path, capsys):  # noqa: F811
    import shutil
    src = tmp_path / "engines"
    shutil.copytree(engine_dirs("fp32"), src)
    assert main(["export-triton", "-o", str(tmp_path / "R"), "--engine-dir", str(src), "--no-stream"]) == 0
    config = (tmp_path / "R" / "trtnet_tts" / "config.pbtxt").read_text()
    assert 'key: "engine_dir" value: { string_value: "trtnet_tts/engines" }' in config and str(src) not in config
    index = json.loads((src / "build_config.json").read_text())
    copied = tmp_path / "R" / "trtnet_tts" / "engines"
    for entry in index["engines"].values():
        assert (copied / entry["plan"]).read_bytes() == (src / entry["plan"]).read_bytes()
    plan = src / index["engines"]["postnet"]["plan"]
    plan.write_bytes(plan.read_bytes()[: plan.stat().st_size // 2])
    assert main(["export-triton", "-o", str(tmp_path / "R2"), "--engine-dir", str(src), "--no-stream"]) != 0
    assert f"{plan}: sha256" in capsys.readouterr().err and not (tmp_path / "R2").exists()


class _PbUtils:
    """The stand-in of ``triton_python_backend_utils`` this test needs (the real one lives in the stub)."""

    class TritonError:
        INVALID_ARG, INTERNAL, CANCELLED = 3, 13, 1

        def __init__(self, message, code=13):
            self.message, self.code = message, code

    class InferenceResponse:
        def __init__(self, output_tensors, error=None):
            self.outputs, self.error = output_tensors, error

    class Tensor:
        def __init__(self, name, value):
            self.name, self.value = name, value

    @staticmethod
    def get_input_tensor_by_name(request, name):
        v = request.inputs.get(name)
        return None if v is None else SimpleNamespace(as_numpy=lambda: v)


def test_non_finite_audio_is_an_error_response_and_its_batch_neighbours_are_served(monkeypatch):
    from trtnet.serve import triton_model
    seen = []

    def fake_synthesize(backend, settings, requests, cancelled):
        seen.extend(r.text for r in requests)
        return [(np.full(32, np.nan, np.float32), 2) if r.text == "nan" else (np.ones(32, np.float32), 2)
                for r in requests]
    monkeypatch.setattr(triton_model, "synthesize", fake_synthesize)
    model = triton_model.make_model(_PbUtils)()
    model.backend = SimpleNamespace(limits=SimpleNamespace(max_text_len=64))
    model.settings = SimpleNamespace(text_frontend=DEFAULT_FRONTEND)
    model.defaults, model.audio_dtype = (0.5, 0.6, 0.0), "float32"

    def req(text, **extra):
        return SimpleNamespace(inputs={"TEXT": np.array([[text.encode()]], object), **extra},
                               parameters=lambda: "{}", is_cancelled=lambda: False)
    out = model.execute([req("fine"), req("nan"), req("bad", SIGMA=np.array([[1e30]], np.float32)), req("fine")])
    assert seen == ["fine", "nan", "fine"]
    assert out[0].error is None and out[3].error is None and out[0].outputs[0].name == "AUDIO"
    assert out[1].error.code == _PbUtils.TritonError.INTERNAL and "32 non-finite sample(s)" in out[1].error.message
    assert out[2].error.code == _PbUtils.TritonError.INVALID_ARG and "SIGMA must be" in out[2].error.message


def test_a_cancelled_batch_stops_before_its_networks_and_the_other_requests_equal_their_own_runs():
    """Pieces one per batch (max batch 1): the batch of the cancelled request B raises before its first network
    run; A (done before) and C (synthesized again after) equal their own separate single-request runs."""
    import dataclasses
    from trtnet.engines.spec import PIPELINE, BackendSpec, open_backend
    from trtnet.serve.triton_model import parse_request, synthesize
    backend = open_backend(BackendSpec(demo_size="small", dropout="input", noise="input"), PIPELINE)
    try:
        runs: list[str] = []

        class Counted:
            def __init__(self, s):
                self.s = s

            def run(self, feeds):
                runs.append("run")
                return self.s.run(feeds)

            def __getattr__(self, name):
                return getattr(self.s, name)
        one = SimpleNamespace(sessions={k: Counted(v) for k, v in backend.sessions.items()},
                              t2_config=backend.t2_config, vocoder_config=backend.vocoder_config,
                              limits=dataclasses.replace(backend.limits, max_batch=1))
        s = backend.settings
        reqs = [parse_request({"TEXT": np.array([[t.encode()]], object), "SEED": np.array([[seed]], np.int64)}, {},
                              defaults=(s.gate_threshold, s.sigma, s.denoiser_strength))
                for t, seed in (("Hello there.", 3), ("Never mind.", 5), ("Good bye.", 7))]
        out = synthesize(one, s, reqs, lambda rows: all(r == 1 for r in rows))
        cancelled_run, runs[:] = len(runs), []
        assert out[1] is None and out[0] is not None and out[2] is not None
        for i in (0, 2):
            alone = synthesize(one, s, [reqs[i]])[0]
            np.testing.assert_array_equal(out[i][0], alone[0])
            assert out[i][1] == alone[1]
        assert cancelled_run == len(runs)        # B ran no network, A was not synthesized twice
    finally:
        backend.close()
