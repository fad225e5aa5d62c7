"""trtnet.engines.spec: the library's way to say and open a backend (no argparse), and the CLI's flags mapping onto
it one to one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trtnet.engines.spec import PIPELINE, BackendSpec, open_backend, text_limits
from trtnet.tools.cli import _parser
from trtnet.tools.common import spec_from_args


def test_to_dict_keeps_what_differs_and_reads_back():
    spec = BackendSpec(tacotron2="t2.h5", hifigan="hg.h5", precision="fp16", sigma=0.3, seed=4)
    d = spec.to_dict()
    assert d == {"tacotron2": "t2.h5", "hifigan": "hg.h5", "precision": "fp16", "sigma": 0.3, "seed": 4}
    assert BackendSpec.from_dict(json.loads(json.dumps(d))) == spec


def test_from_dict_names_unknown_keys_and_reads_the_older_export():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['bogus'\]"):
        BackendSpec.from_dict({"engine_dir": "e", "bogus": 1})
    old = BackendSpec.from_dict({"backend": "eager", "tacotron2": "t.h5", "emulate_engines": False})
    assert old == BackendSpec(tacotron2="t.h5", eager_explicit=True)


def test_bad_specs_are_refused_naming_the_field():
    with pytest.raises(ValueError, match="--emulate-engines emulates the engines of --engine-dir"):
        BackendSpec(emulate=True)
    with pytest.raises(ValueError, match="not both"):
        BackendSpec(waveglow="w.pt", hifigan="h.pt").vocoder_arch
    with pytest.raises(ValueError, match="--vocoder waveglow contradicts --hifigan h.pt"):
        BackendSpec(hifigan="h.pt", vocoder="waveglow").vocoder_arch
    assert BackendSpec(hifigan="h.pt").vocoder_arch == "hifigan" and BackendSpec().vocoder_arch == "waveglow"


def test_cli_flags_map_onto_the_spec():
    argv = ["synthesize", "-i", "x", "-o", "y", "--hifigan", "h.pt", "--precision", "fp16", "--dropout", "off",
            "--gate-threshold", "0.7", "--seed", "3", "--plot", "--demo-size", "small", "--backend", "eager",
            "--text-frontend", "dle"]
    spec = spec_from_args(_parser(argv).parse_args(argv))
    assert spec == BackendSpec(hifigan="h.pt", precision="fp16", dropout="off", gate_threshold=0.7, seed=3,
                               alignments=True, demo_size="small", eager_explicit=True, text_frontend="dle")
    argv = ["bench", "--engine-dir", "e", "--emulate-engines"]
    spec = spec_from_args(_parser(argv).parse_args(argv))
    assert spec.engine_dir == "e" and spec.emulate and spec.sigma == 0.6     # bench's own default sigma


def test_open_backend_runs_the_eager_pipeline_with_the_spec_settings():
    from trtnet.runtime.pipeline import Pipeline
    spec = BackendSpec(demo_size="small", dropout="off", gate_threshold=0.8, denoiser_strength=0.0,
                       max_decoder_steps=30)
    from trtnet.layers.options import NetworkOptions
    assert text_limits(spec) == (NetworkOptions.max_batch, NetworkOptions.max_text_len)
    with open_backend(spec, PIPELINE) as b:
        assert b.kind == "eager" and set(b.sessions) == {"encoder", "decoder-loop", "postnet", "waveglow", "denoiser"}
        s = b.settings
        assert (s.gate_threshold, s.denoiser_strength, s.max_decoder_steps) == (0.8, 0.0, 30)
        assert s.sigma == b.vocoder_config.sigma and s.dropout == "off"     # not overridden: the model's
        assert s.text_frontend == "default"
        assert "eager twin" in b.description and "the default without --engine-dir" in b.description
        pipe = Pipeline(b.sessions, t2_config=b.t2_config, vocoder_config=b.vocoder_config, limits=b.limits,
                        settings=s)
        (batch,) = list(pipe.synthesize(["Hello."], 1))
        u = batch.utterances[0]
        assert 0 < u.mel_length <= 30 and np.isfinite(u.audio).all()


def test_the_readme_pipeline_snippet_runs_as_written():
    """The README's second Library API snippet: a backend from a spec, then the pipeline, no CLI."""
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text().split("## Library API", 1)[1]
    snippet = re.findall(r"```python\n(.*?)```", readme, re.S)[1]
    assert "open_backend" in snippet
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)   # noqa: S102 - our own README
    assert scope["audio"].size > 0 and np.isfinite(scope["audio"]).all()
