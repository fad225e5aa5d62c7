"""The vocoder seam: HiFi-GAN runs through the same engine directory, pipeline and CLI as WaveGlow, chosen by
flags and recorded in build_config.json; the runtime names no vocoder itself."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SMALL = ["--demo-size", "small", "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
         "--max-decoder-steps", "120"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hifigan_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hifigan") / "engines"
    assert main(["build-engines", *SMALL, "--vocoder", "hifigan", "--dropout", "input", "-o", str(out),
                 "--engines", "encoder,decoder-loop,postnet,hifigan,hifigan-denoiser"]) == 0
    return out


def test_build_config_records_the_vocoder_and_its_hparams(hifigan_dir):
    cfg = json.loads((hifigan_dir / "build_config.json").read_text())
    assert cfg["vocoder"] == "hifigan" and set(cfg["hparams"]) == {"tacotron2", "hifigan"}
    assert set(cfg["engines"]) == {"encoder", "decoder-loop", "postnet", "hifigan", "hifigan-denoiser"}
    assert cfg["runtime_defaults"]["denoiser_strength"] == 0.0 and "sigma" not in cfg["runtime_defaults"]


def test_emulated_hifigan_engines_synthesize_what_the_eager_twin_does(hifigan_dir, tmp_path):
    lines = tmp_path / "l.txt"
    lines.write_text("A short line for the other vocoder.\nAnd a second one.\n")
    common = ["--sample-format", "float32", "--normalize", "none", "--save-mel", "--denoiser-strength", "0.05"]
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "eager"), "--backend", "eager",
                 "--demo-size", "small", "--vocoder", "hifigan", "--dropout", "input", "--batch-size", "2",
                 "--max-decoder-steps", "120", *common]) == 0
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "emu"), "--engine-dir", str(hifigan_dir),
                 "--emulate-engines", "--batch-size", "2", *common]) == 0
    for i in range(2):
        a, rate = read_wav(tmp_path / "emu" / f"audio_{i}.wav")
        b, _ = read_wav(tmp_path / "eager" / f"audio_{i}.wav")
        assert rate == 22050 and a.shape == b.shape and a.size > 0 and np.abs(b).max() > 1e-3
        np.testing.assert_allclose(a, b, atol=1e-5 * np.abs(b).max())


def test_pipeline_vocodes_with_hifigan_and_masks_each_item(tmp_path):
    """Eager pipeline with HiFi-GAN: a ragged batch of mels gives each item its single run, silence after."""
    from trtnet.engines.eager import EagerNetwork
    from trtnet.layers.options import NetworkOptions
    from trtnet.runtime.pipeline import Limits, Pipeline, Settings
    from trtnet.weights.cache import cache_dir
    from trtnet.weights.sources import resolve
    from trtnet.weights.store import WeightStore
    src = resolve(None, "hifigan", cache_dir(), demo_size="small")
    with WeightStore.open(src.h5_path, "hifigan") as store:
        cfg = store.config
        net = EagerNetwork("hifigan", store, NetworkOptions(precision="fp32"))
        pipe = Pipeline({"encoder": None, "decoder-loop": None, "postnet": None, "hifigan": net}, t2_config=None,
                        vocoder_config=cfg, limits=Limits(8, 64, 120),
                        settings=Settings(120, 0.5, 0.0, 0.0))
        mel = np.random.default_rng(0).standard_normal((2, cfg.n_mel_channels, 9)).astype(np.float32) - 3.0
        audio = pipe.vocode(mel, np.array([9, 4], np.int32))
        single = pipe.vocode(mel[1:, :, :4], np.array([4], np.int32))
    hop = cfg.upsample_stride
    assert audio.shape == (2, 9 * hop) and not audio[1, 4 * hop:].any()
    np.testing.assert_allclose(audio[1, :4 * hop], single[0], atol=1e-5 * np.abs(single).max())


def test_two_vocoders_are_refused(tmp_path, capsys):
    assert main(["synthesize", "-i", "x.txt", "-o", str(tmp_path / "o"), "--backend", "eager", "--waveglow",
                 "a.pt", "--hifigan", "b.pt"]) == 2
    assert "give one vocoder: --waveglow or --hifigan, not both" in capsys.readouterr().err


def test_the_runtime_names_no_vocoder():
    """runtime/ (but the seam's registry) and the pipeline's callers never spell a vocoder's name."""
    for path in sorted((ROOT / "runtime").glob("*.py")):
        if path.name == "vocoder.py":
            continue
        tree = ast.parse(path.read_text())
        names = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not names & {"waveglow", "hifigan", "hifigan-denoiser"}, path.name


def test_one_registry_names_every_vocoder():
    """The runtime's vocoder roles are the one list: the engine set, the network registry, the weights' configs
    and the references cover exactly those vocoders, with the same network names."""
    from trtnet.engines.engine_set import VOCODER_ENGINES
    from trtnet.layers.networks import NETWORKS
    from trtnet.runtime.vocoder import VOCODERS
    from trtnet.verify.references import REFERENCES
    from trtnet.weights.config import CONFIG_CLASSES
    assert set(VOCODER_ENGINES) == set(REFERENCES) == set(VOCODERS) <= set(CONFIG_CLASSES)
    for arch, v in VOCODERS.items():
        assert VOCODER_ENGINES[arch] == (v.network, v.denoiser)
        assert NETWORKS[v.network].architecture == NETWORKS[v.denoiser].architecture == arch
