"""Full-model pickles written by NVIDIA/waveglow's own classes and their own ``infer`` audio
(tests/data/original, made by make_fixtures.py there): extraction reads each pickle's class and sizes, and the eager
twin and the independent reference reproduce that audio.  Every fixture has a small upsample (stride 16 or 32,
not DLE's 256), so nothing here passes unless the pickled stride is used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from trtnet.graph import Graph
from trtnet.layers import networks
from trtnet.layers.options import NetworkOptions
from trtnet.tools.cli import main
from trtnet.weights.checkpoint import load_checkpoint
from trtnet.weights.errors import HParamMismatchError
from trtnet.weights.extract import extract
from trtnet.weights.reference import WaveGlowReference
from trtnet.weights.store import WeightStore

DATA = Path(__file__).parent / "data" / "original"
FIXTURES = ("glow", "glow_old", "first_release_glow_old", "first_release_glow")
TOLERANCE = 1e-5  # max |ours − theirs| / max |theirs| (FP32; measured ≤ 5e-7)
WN_FIELDS = {"n_layers": "wn_n_layers", "n_channels": "wn_n_channels", "kernel_size": "wn_kernel_size"}

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _fixture(name: str) -> tuple[dict, dict]:
    data = dict(np.load(DATA / f"{name}.npz"))
    return data, json.loads(str(data.pop("hparams")))


def _eager_audio(h5: Path, mel: np.ndarray, sigma: float, z: np.ndarray) -> np.ndarray:
    """The waveglow network run eagerly (FP32), z [B, G, T'] fed in the engine layout [B, G, T, S/G]."""
    batch, group, _ = z.shape
    feeds = {"mel": mel, "frames": np.full(batch, mel.shape[2], np.int32), "sigma": np.float32(sigma),
             "z": np.ascontiguousarray(z.reshape(batch, group, mel.shape[2], -1))}
    g = Graph.eager(feeds, "waveglow")
    with WeightStore.open(h5) as store, torch.no_grad():
        networks.define("waveglow", g, store, NetworkOptions(precision="fp32", noise="input"))
        return g.results()["audio"].numpy()


def _reference_audio(checkpoint: Path | dict, config, mel: np.ndarray, sigma: float, z: np.ndarray) -> np.ndarray:
    """The independent reference (float64) on the checkpoint's own tensors."""
    ck = load_checkpoint(checkpoint) if isinstance(checkpoint, Path) else checkpoint
    state = {k: torch.from_numpy(np.array(v)) for k, v in ck.state_dict.items()}
    ref = WaveGlowReference.from_checkpoint({"state_dict": state}, config).double()
    with torch.no_grad():
        return ref.infer(torch.from_numpy(mel).double(), sigma, z=torch.from_numpy(z).double()).numpy()


def _close(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.mark.parametrize("name", FIXTURES)
def test_extraction_eager_and_reference_match_the_original_infer(tmp_path, name):
    data, hp = _fixture(name)
    report = extract(DATA / f"{name}.pt", tmp_path / "w.h5")  # no flag: the pickle states every size itself
    cfg = report.config
    assert cfg.variant == hp["model_class"].split(".")[0]
    assert (cfg.upsample_stride, cfg.upsample_kernel_size) == (hp["upsample_stride"], hp["upsample_kernel_size"])
    for key in ("n_mel_channels", "n_flows", "n_group", "n_early_every", "n_early_size"):
        assert getattr(cfg, key) == hp[key], key
    for key, field in WN_FIELDS.items():
        assert getattr(cfg, field) == hp["WN_config"][key], field
    mel, z, sigma = data["mel"], data["z"], float(data["sigma"])
    for s, want in ((sigma, data["audio"]), (0.0, data["audio_sigma0"])):
        assert _close(_eager_audio(report.out_path, mel, s, z), want) < TOLERANCE, f"eager, sigma {s}"
        assert _close(_reference_audio(DATA / f"{name}.pt", cfg, mel, s, z), want) < TOLERANCE, f"reference, {s}"


def test_math_is_not_inferred_from_weight_names(tmp_path):
    """glow_old's tensors re-saved as a bare state dict: no class, so DLE's math (the documented default), which
    is not glow_old's audio; stating the variant gives it back."""
    data, hp = _fixture("glow_old")
    ck = load_checkpoint(DATA / "glow_old.pt")
    bare = tmp_path / "bare.pt"
    torch.save({k: torch.from_numpy(np.array(v)) for k, v in ck.state_dict.items()}, bare)
    stride = {"upsample_stride": hp["upsample_stride"]}  # a bare state dict cannot tell it
    mel, z, sigma, want = data["mel"], data["z"], float(data["sigma"]), data["audio"]
    default = extract(bare, tmp_path / "dle.h5", overrides=stride)
    assert default.config.variant == "dle"
    assert _close(_eager_audio(default.out_path, mel, sigma, z), want) > 0.1
    stated = extract(bare, tmp_path / "old.h5", overrides={**stride, "variant": "glow_old"})
    assert _close(_eager_audio(stated.out_path, mel, sigma, z), want) < TOLERANCE


@pytest.mark.parametrize("field, value", [("upsample_stride", 256), ("variant", "dle")])
def test_a_setting_contradicting_the_pickle_is_refused(tmp_path, field, value):
    _, hp = _fixture("first_release_glow_old")  # stride 16, glow_old.WaveGlow, legacy serialization
    pickled = {"upsample_stride": hp["upsample_stride"], "variant": "glow_old"}[field]
    path = DATA / "first_release_glow_old.pt"
    with pytest.raises(HParamMismatchError) as e:
        extract(path, tmp_path / "w.h5", overrides={field: value})
    assert str(path) in str(e.value) and f"{field}: checkpoint {pickled!r}, override {value!r}" in str(e.value)
    assert not (tmp_path / "w.h5").exists()


def test_cli_refuses_a_contradicting_flag_in_one_line_and_inspect_shows_the_variant(tmp_path, capsys):
    path, out = DATA / "glow.pt", tmp_path / "w.h5"  # stride 16
    assert main(["extract-weights", str(path), "-o", str(out), "--upsample-stride", "32"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HParamMismatchError" in err and str(path) in err
    assert "upsample_stride: checkpoint 16, override 32" in err and not out.exists()
    assert main(["extract-weights", str(DATA / "glow_old.pt"), "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "glow_old" in shown.split("variant", 1)[1].splitlines()[0]
    assert "glow_old.WaveGlow" in shown and "upsample_stride                  32" in shown


def test_nvidia_tacotron2_checkpoint_matches_its_own_inference(tmp_path):
    """NVIDIA/tacotron2's ``Tacotron2.inference`` (its prenet dropout masks recorded) on its own ``train.py``
    checkpoint: the eager encoder → decoder-loop → postnet and the reference give its frames, gate logits and
    alignments.  Its output keeps the stop frame (it breaks after appending it): trtnet's ``frames``
    (mel_lengths + 1), while ``mel_lengths`` counts DLE's frames before it."""
    from fixtures_tacotron2 import T2Demo, reference_infer, tacotron2_pipeline
    from trtnet.weights.reference import Tacotron2Reference

    data = dict(np.load(DATA / "nvidia_tacotron2.npz"))
    hp = json.loads(str(data.pop("hparams")))
    path = DATA / "nvidia_tacotron2.pt"
    assert load_checkpoint(path).meta["source_format"] == "nvidia-tacotron2"
    report = extract(path, tmp_path / "t2.h5")
    for key in ("n_mel_channels", "encoder_embedding_dim", "attention_rnn_dim", "decoder_rnn_dim", "prenet_dim",
                "postnet_n_convolutions"):
        assert getattr(report.config, key) == hp[key], key
    steps = data["mel"].shape[2]  # the stop frame included
    cap = steps + 4  # more steps than it takes: the gate, not the cap, ends the loop
    masks = np.concatenate([data["masks"], np.ones((cap - steps, *data["masks"].shape[1:]), np.float32)])
    tokens = data["tokens"]
    lengths = np.array([tokens.shape[1]], np.int32)
    want = {"mel": data["mel"], "mel_postnet": data["mel_postnet"], "gate": data["gate"].reshape(1, -1),
            "alignments": data["alignments"]}
    with WeightStore.open(report.out_path) as store:
        ref = Tacotron2Reference.from_checkpoint(path, store.config)
        demo = T2Demo("nvidia", store, ref, ref.double(), path)
        ours = tacotron2_pipeline(demo, tokens, lengths, cap, masks=masks)
        assert int(ours["n_steps"]) == steps and int(ours["frames"][0]) == steps
        assert int(ours["mel_lengths"][0]) == steps - 1
        theirs = reference_infer(demo.ref64, tokens, lengths, cap, dropout=torch.from_numpy(masks).double())
        assert theirs["n_steps"] == steps and int(theirs["mel_lengths"][0]) == steps - 1
        for key, value in want.items():
            got = ours[key].numpy()[..., :steps] if key != "alignments" else ours[key].numpy()[:, :steps]
            assert _close(got, value) < TOLERANCE, f"eager {key}"
            assert _close(theirs[key].numpy(), value) < TOLERANCE, f"reference {key}"


@pytest.mark.parametrize("name", ["glow_old", "glow"])
def test_tensorrt_network_interprets_to_the_original_audio_and_builds(tmp_path, name):
    """The TensorRT definition of the waveglow network (what the engine runs), interpreted on CPU, gives the
    original code's audio; TensorRT-RTX builds it."""
    from graph_helpers import build_plan
    from trtnet.interpret import interpret_network

    data, _ = _fixture(name)
    report = extract(DATA / f"{name}.pt", tmp_path / "w.h5")
    mel, z, sigma = data["mel"], data["z"], float(data["sigma"])
    batch, group, _ = z.shape
    feeds = {"mel": mel, "frames": np.full(batch, mel.shape[2], np.int32), "sigma": np.float32(sigma),
             "z": np.ascontiguousarray(z.reshape(batch, group, mel.shape[2], -1))}
    with WeightStore.open(report.out_path) as store:
        g = Graph.trt("waveglow")
        networks.define("waveglow", g, store, NetworkOptions(precision="fp32", noise="input"))
        audio = interpret_network(g.backend.network, feeds)["audio"]
        assert _close(audio, data["audio"]) < TOLERANCE
        assert build_plan(g, tmp_path) is not None


def test_a_cached_extraction_without_the_variant_is_not_reused(tmp_path, monkeypatch):
    """A work-dir file extracted before the variant was read (its config lacks it, so it reads as ``dle``) from
    a glow_old pickle: resolving the checkpoint again extracts it again, now ``glow_old``."""
    from trtnet.weights import sources
    from trtnet.weights.config import WaveGlowConfig

    path = DATA / "glow_old.pt"
    old_json = WaveGlowConfig.to_json

    def without_variant(self):  # what trtnet wrote before the field existed
        data = json.loads(old_json(self))
        data.pop("variant")
        return json.dumps(data, sort_keys=True)

    with monkeypatch.context() as m:
        m.setattr(WaveGlowConfig, "to_json", without_variant)
        first = sources.resolve(path, "waveglow", tmp_path)
    with WeightStore.open(first.h5_path) as store:
        assert store.config.variant == "dle"  # the stale reading
    again = sources.resolve(path, "waveglow", tmp_path)
    assert again.h5_path == first.h5_path
    with WeightStore.open(again.h5_path) as store:
        assert store.config.variant == "glow_old"
