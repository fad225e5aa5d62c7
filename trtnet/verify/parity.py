"""Parity checks behind ``trtnet verify``: eager twin vs the independent PyTorch reference, and engines vs eager.

Deterministic mode throughout: prenet dropout from fed keep masks, the vocoder's noise fed (WaveGlow), the same
for every side and drawn as ``synthesize --seed`` draws them (``runtime.fed``).  Works for every vocoder of the
seam (``runtime.vocoder``): its independent reference comes from ``REFERENCES``.  Errors are relative to the
signal scale: max |a − b| / max |b|.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from trtnet.engines.eager import EagerNetwork
from trtnet.layers.options import NetworkOptions
from trtnet.runtime.fed import item_rng, prenet_keep_masks
from trtnet.runtime.text import DEFAULT_FRONTEND, prepare_text
from trtnet.runtime.vocoder import Vocoder, VocoderRun, vocoder_for
from trtnet.weights.reference import Tacotron2Reference
from trtnet.weights.store import WeightStore

from .references import vocoder_reference

log = logging.getLogger(__name__)

THRESHOLDS = {"mel": 1e-4, "mel_postnet": 1e-4, "audio": 1e-3, "audio_denoised": 1e-3}


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    threshold: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value)) and self.value <= self.threshold

    def row(self) -> str:
        return f"{self.name:34s} {self.value:12.3e}  ≤ {self.threshold:8.1e}  {'PASS' if self.passed else 'FAIL'}  {self.detail}"


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return float("inf")
    scale = max(float(np.abs(want).max(initial=0.0)), 1e-12)
    return float(np.abs(got - want).max(initial=0.0)) / scale


def nonfinite(arrays: Mapping[str, np.ndarray]) -> int:
    return int(sum((~np.isfinite(np.asarray(v, np.float64))).sum() for v in arrays.values()
                   if np.asarray(v).dtype.kind == "f"))


@dataclass
class Case:
    """One deterministic input: tokens, lengths, fed keep masks and fed noise (numpy, float32)."""

    tokens: np.ndarray
    lengths: np.ndarray
    masks: np.ndarray       # [steps, B, 2, prenet_dim]
    seed: int


def _rng_for(seed: int):
    return lambda index, stream: item_rng(seed, index, stream)


def make_case(text: str, t2_config: Any, steps: int, seed: int = 0, frontend: str = DEFAULT_FRONTEND) -> Case:
    """One line with the fed masks ``synthesize --seed SEED --dropout input`` gives it (``runtime.fed``)."""
    ids = np.array([prepare_text(text, frontend).ids], np.int32)
    masks = prenet_keep_masks(_rng_for(seed), [0], steps, t2_config.prenet_dim, t2_config.prenet_dropout)
    return Case(ids, np.array([ids.shape[1]], np.int32), masks, seed)


@dataclass(frozen=True)
class _Fed:
    """The settings a vocoder's feeds read (``runtime.vocoder.VocoderRun``), deterministic: fed noise."""

    sigma: float
    noise: str = "input"


def vocoder_feeds(vocoder: Vocoder, config: Any, mel: np.ndarray, *, sigma: float, seed: int) -> dict[str, Any]:
    """The vocoder network's feeds for a single utterance's mel [1, n_mel, T], as the pipeline makes them."""
    run = VocoderRun(config, _Fed(sigma), _rng_for(seed))
    return vocoder.feeds(run, np.asarray(mel, np.float32), np.array([mel.shape[-1]], np.int32), [0])


@torch.no_grad()
def reference_run(t2_ref: Tacotron2Reference, voc_ref: Any, voc_config: Any, case: Case, *, gate_threshold: float,
                  sigma: float, strength: float, steps: int) -> dict[str, np.ndarray]:
    """The reference in float64: Tacotron 2 with the fed masks, the vocoder with the fed noise, its denoiser."""
    t2 = t2_ref.double()
    out = t2.infer(torch.from_numpy(case.tokens).long(), torch.from_numpy(case.lengths).long(),
                   dropout=torch.from_numpy(case.masks).double(), max_decoder_steps=steps, gate_threshold=gate_threshold)
    post = out["mel_postnet"]
    feeds = vocoder_feeds(vocoder_for(voc_config), voc_config, post.numpy(), sigma=sigma, seed=case.seed)
    audio = voc_ref.vocode(post, feeds)
    den = voc_ref.denoise(audio, strength)
    return {"mel": out["mel"].numpy(), "mel_postnet": post.numpy(), "mel_lengths": out["mel_lengths"].numpy(),
            "n_steps": np.array(out["n_steps"]), "audio": audio.numpy(), "audio_denoised": den.numpy(),
            "vocoder_feeds": feeds}


def network_feeds(case: Case, ref: Mapping[str, np.ndarray], vocoder: Vocoder, *, gate_threshold: float,
                  strength: float, steps: int, encoded: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Each network's feeds for this case; downstream networks get the reference's upstream outputs, so every
    network is checked on its own."""
    f32 = lambda a: np.asarray(a, np.float32)
    width = lambda a: np.full(a.shape[0], a.shape[-1], np.int32)   # the reference's own run: every column valid
    return {
        "encoder": {"tokens": case.tokens, "lengths": case.lengths},
        "decoder-loop": {**encoded, "lengths": case.lengths, "max_decoder_steps": np.array(steps, np.int32),
                         "gate_threshold": np.array(gate_threshold, np.float32), "prenet_masks": case.masks},
        "postnet": {"mel": f32(ref["mel"]), "frames": width(ref["mel"])},
        vocoder.network: ref["vocoder_feeds"],
        vocoder.denoiser: {"audio": f32(ref["audio"]), "samples": width(ref["audio"]),
                           "strength": np.array(strength, np.float32)},
    }


def compare(name: str, outputs: Mapping[str, np.ndarray], ref: Mapping[str, np.ndarray], scale: float = 1.0
            ) -> list[Check]:
    """The checks of one network's outputs against the reference arrays."""
    checks = [Check(f"{name}: NaN/Inf count", nonfinite(outputs), 0)]
    if name == "decoder-loop":
        n = int(ref["n_steps"])
        checks.append(Check(f"{name}: stop step |Δ|", abs(int(outputs["n_steps"]) - n), 0,
                            f"{int(outputs['n_steps'])} vs {n}"))
        checks.append(Check(f"{name}: mel_lengths |Δ|", float(np.abs(outputs["mel_lengths"].astype(np.int64)
                                                                      - ref["mel_lengths"]).max()), 0))
        checks.append(Check(f"{name}: mel rel. error", rel_err(outputs["mel"][..., :n], ref["mel"]),
                            THRESHOLDS["mel"] * scale))
    for key in ("mel_postnet", "audio", "audio_denoised"):
        if key in outputs:
            checks.append(Check(f"{name}: {key} rel. error", rel_err(outputs[key], ref[key]), THRESHOLDS[key] * scale))
    return checks


@torch.no_grad()
def eager_vs_reference(t2_ckpt: Any, voc_ckpt: Any, t2_store: WeightStore, voc_store: WeightStore, *, text: str,
                       seed: int = 0, steps: int | None = None, gate_threshold: float | None = None,
                       sigma: float = 0.6, strength: float = 0.01, frontend: str = DEFAULT_FRONTEND
                       ) -> tuple[list[Check], dict[str, Any]]:
    """Every network's eager twin (FP32) against the independent reference on one deterministic case."""
    t2_ref = Tacotron2Reference.from_checkpoint(t2_ckpt)
    voc_cfg = voc_store.config
    vocoder = vocoder_for(voc_cfg)
    voc_ref = vocoder_reference(voc_ckpt, voc_cfg)
    cfg = t2_store.config
    steps = int(steps or cfg.max_decoder_steps)
    thr = cfg.gate_threshold if gate_threshold is None else gate_threshold
    case = make_case(text, cfg, steps, seed, frontend)
    log.info("verify: the independent reference (float64) on %d tokens, up to %d decoder steps", case.tokens.shape[1],
             steps)
    ref = reference_run(t2_ref, voc_ref, voc_cfg, case, gate_threshold=thr, sigma=sigma, strength=strength,
                        steps=steps)
    opts = NetworkOptions(precision="fp32", dropout="input", noise="input", alignments=True)
    names = ("encoder", "decoder-loop", "postnet", vocoder.network, vocoder.denoiser)
    nets = {n: EagerNetwork(n, t2_store if n in names[:3] else voc_store, opts) for n in names}
    enc = nets["encoder"].run({"tokens": case.tokens, "lengths": case.lengths})
    t2_ref_enc = t2_ref.double().encode(torch.from_numpy(case.tokens).long(), torch.from_numpy(case.lengths).long())
    checks = [Check("encoder: memory rel. error", rel_err(enc["memory"], t2_ref_enc[0].numpy()), THRESHOLDS["mel"]),
              Check("encoder: NaN/Inf count", nonfinite(enc), 0)]
    feeds = network_feeds(case, ref, vocoder, gate_threshold=thr, strength=strength, steps=steps, encoded=enc)
    outputs = {"encoder": enc}
    for i, name in enumerate(names[1:], 2):
        log.info("verify: [%d/%d] %s, eager twin vs reference", i, len(names), name)
        outputs[name] = nets[name].run(feeds[name])
        checks += compare(name, outputs[name], ref)
    return checks, {"case": case, "reference": ref, "outputs": outputs, "feeds": feeds, "vocoder": vocoder,
                    "gate_threshold": thr}


ENGINE_SCALE = {"fp32": 10.0, "fp16": 200.0}   # engines vs eager: TF32/FP16 arithmetic, relative to the FP32 limits


def engines_vs_eager(sessions: Mapping[str, Any], sidecars: Mapping[str, Any], options: Mapping[str, Any],
                     detail: Mapping[str, Any]) -> tuple[list[Check], list[str]]:
    """Each engine against the eager outputs on the same feeds (cast to the engine's input dtypes).  Networks
    whose randomness is drawn in the engine (dropout / noise "in-engine") are listed as skipped, not compared."""
    checks, skipped = [], []
    scale = ENGINE_SCALE[options["precision"]]
    feeds_all = {"encoder": {"tokens": detail["case"].tokens, "lengths": detail["case"].lengths}, **detail["feeds"]}
    for name, session in sessions.items():
        if name not in feeds_all:
            continue
        if name == "decoder-loop" and options["dropout"] == "in-engine":
            skipped.append(f"{name}: built with in-engine dropout (random); rebuild with --dropout input to compare")
            continue
        if name == detail["vocoder"].network and options["noise"] == "in-engine" and "z" in feeds_all[name]:
            skipped.append(f"{name}: built with in-engine noise; rebuild with --noise input to compare")
            continue
        io = sidecars[name].io
        feeds = {s.name: np.asarray(feeds_all[name][s.name]).astype(s.dtype) for s in io.inputs}
        got = session.run(feeds)
        want = detail["outputs"][name] if name != "encoder" else detail["outputs"]["encoder"]
        checks.append(Check(f"engine {name}: NaN/Inf count", nonfinite(got), 0))
        for key, ref in want.items():
            if np.asarray(ref).dtype.kind == "f" and key in got:
                checks.append(Check(f"engine {name}: {key} rel. error", rel_err(got[key], ref),
                                    THRESHOLDS.get(key, THRESHOLDS["mel"]) * scale))
            elif key in got:
                checks.append(Check(f"engine {name}: {key} |Δ|", float(np.abs(np.asarray(got[key], np.int64)
                                                                          - np.asarray(ref, np.int64)).max()), 0))
    return checks, skipped
