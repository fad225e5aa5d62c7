"""One registry of architectures, networks and roles (``trtnet.models``): every other list derives from it, a piece
missing for a registered model stops the import naming it, and what the Triton export writes comes from it too."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from fixtures_emulate import engine_dirs  # noqa: F401
from trtnet.models import ACOUSTIC_KIND, MODELS, VOCODER_KIND, Model, architecture_of, architectures
from trtnet.tools.cli import main


def test_every_list_of_networks_and_architectures_is_the_registry():
    from trtnet.engines import engine_set, spec
    from trtnet.layers.networks import NETWORKS
    from trtnet.runtime.acoustic import ACOUSTIC
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.serve.portable import PATH_KEYS
    from trtnet.tools.cmd_refit import REFIT_MODELS
    from trtnet.tools.flag_checks import MODEL_FLAGS
    from trtnet.verify.references import REFERENCES
    assert {n: d.architecture for n, d in NETWORKS.items()} == {n: a for a, m in MODELS.items() for n in m.networks}
    assert tuple(VOCODERS) == tuple(REFERENCES) == architectures(VOCODER_KIND) == spec.VOCODER_ARCHS
    assert tuple(ACOUSTIC) == architectures(ACOUSTIC_KIND) == spec.ACOUSTIC_ARCHS
    for arch, v in VOCODERS.items():
        assert (v.network, v.denoiser) == MODELS[arch].engines == engine_set.VOCODER_ENGINES[arch]
    for arch, a in ACOUSTIC.items():
        assert a.networks == MODELS[arch].runs and engine_set.ACOUSTIC_ENGINES[arch] == MODELS[arch].engines
    assert set(PATH_KEYS) == {"engine_dir", *MODELS} and set(MODEL_FLAGS) == set(REFIT_MODELS) == set(MODELS)


def test_roles_resolve_to_each_models_own_networks():
    assert MODELS["hifigan"].resolve(("encoder", "vocoder", "vocoder-denoiser")) == (
        "encoder", "hifigan", "hifigan-denoiser")
    assert MODELS["fastpitch"].resolve(("encoder", "decoder-loop", "postnet", "vocoder")) == ("fastpitch", "vocoder")
    assert MODELS["tacotron2"].resolve(("encoder", "postnet")) == ("encoder", "postnet")
    assert architecture_of("hifigan-denoiser") == "hifigan"
    with pytest.raises(KeyError, match="unknown network 'vits'"):
        architecture_of("vits")
    with pytest.raises(ValueError, match=r"x: \['y'\] are not among its networks"):
        Model("x", "X", VOCODER_KIND, ("x",), ("x",), ("x",), {"vocoder": ("y",)})


@pytest.mark.parametrize("module, named", [
    ("trtnet.layers.networks", "x-net"),          # a registered network nobody defines
    ("trtnet.runtime.vocoder", "'x'"),            # a registered vocoder the runtime has no feeds for
    ("trtnet.verify.references", "['x']"),        # ... and no reference
])
def test_a_model_registered_without_its_pieces_stops_the_import_naming_it(module, named):
    code = ("import trtnet.models as m; m.MODELS['x'] = m.Model('x', 'X', m.VOCODER_KIND, ('x-net',), ('x-net',), "
            "('x-net',), {'vocoder': ('x-net',), 'vocoder-denoiser': ('x-net',)}); "
            f"import {module}")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0 and "ImportError" in r.stderr and named in r.stderr, r.stderr[-800:]


def _exported_spec(repo) -> dict:
    config = (repo / "trtnet_tts" / "config.pbtxt").read_text()
    (value,) = re.findall(r'key: "trtnet_backend" value: \{ string_value: (".*?(?<!\\)") \}', config)
    return json.loads(json.loads(value))


def test_export_of_an_engine_directory_keeps_the_run_time_settings(engine_dirs, tmp_path):  # noqa: F811
    """--sigma / --gate-threshold / --denoiser-strength with --engine-dir reach the served model's settings (they
    were dropped: the repository served the build's defaults)."""
    from trtnet.engines.spec import PIPELINE, BackendSpec, open_backend
    from trtnet.serve.portable import localize
    repo = tmp_path / "R"
    assert main(["export-triton", "-o", str(repo), "--engine-dir", str(engine_dirs("fp32")), "--no-stream",
                 "--sigma", "0.3", "--gate-threshold", "0.25", "--denoiser-strength", "0.05"]) == 0
    spec = BackendSpec.from_dict(localize(_exported_spec(repo), repo / "trtnet_tts"))
    assert (spec.sigma, spec.gate_threshold, spec.denoiser_strength) == (0.3, 0.25, 0.05)
    with open_backend(dataclasses.replace(spec, emulate=True), PIPELINE) as backend:   # what initialize() opens
        s = backend.settings
        assert (s.sigma, s.gate_threshold, s.denoiser_strength) == pytest.approx((0.3, 0.25, 0.05))
    plain = tmp_path / "P"
    assert main(["export-triton", "-o", str(plain), "--engine-dir", str(engine_dirs("fp32")), "--no-stream"]) == 0
    assert not {"sigma", "gate_threshold", "denoiser_strength"} & set(_exported_spec(plain))
