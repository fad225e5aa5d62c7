"""``trtnet verify`` for FastPitch: the fastpitch network's eager twin against the independent float64 reference
(``weights.reference.fastpitch``) on one line, then the vocoder and its denoiser on the reference's mel, as
``parity.eager_vs_reference`` does for Tacotron 2.  The returned detail has the same keys, so
``parity.engines_vs_eager`` compares the engines of a FastPitch directory unchanged."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from trtnet.engines.eager import EagerNetwork
from trtnet.layers.options import NetworkOptions
from trtnet.runtime.acoustic import fastpitch_feeds, text_cleaners
from trtnet.runtime.text import DEFAULT_FRONTEND, prepare_text
from trtnet.runtime.vocoder import vocoder_for
from trtnet.weights.checkpoint import load_checkpoint
from trtnet.weights.reference import fastpitch as ref
from trtnet.weights.store import WeightStore

from .parity import THRESHOLDS, Case, Check, compare, nonfinite, rel_err, vocoder_feeds
from .references import vocoder_reference

log = logging.getLogger(__name__)


@torch.no_grad()
def fastpitch_vs_reference(fp_ckpt: Any, voc_ckpt: Any, fp_store: WeightStore, voc_store: WeightStore, *, text: str,
                           seed: int = 0, steps: int | None = None, sigma: float = 0.6, strength: float = 0.01,
                           frontend: str = DEFAULT_FRONTEND, pace: float = 1.0, pitch_scale: float = 1.0,
                           pitch_shift: float = 0.0, **_: Any) -> tuple[list[Check], dict[str, Any]]:
    """fastpitch (FP32 eager) vs the reference: mel_lengths exact, mel / durations / pitch relative errors; then
    every vocoder network on the reference's mel."""
    cfg, voc_cfg = fp_store.config, voc_store.config
    vocoder = vocoder_for(voc_cfg)
    ids = np.array([prepare_text(text, frontend, text_cleaners(cfg)).ids], np.int32)
    case = Case(ids, np.array([ids.shape[1]], np.int32), np.zeros((0,), np.float32), seed)
    params = ref.tensors(load_checkpoint(fp_ckpt).state_dict)
    want = ref.infer(params, cfg, torch.from_numpy(ids).long(), pace=pace, pitch_scale=pitch_scale,
                     pitch_shift=pitch_shift)
    n = int(want["mel_lengths"][0])
    opts = NetworkOptions(precision="fp32", dropout="input", noise="input", max_decoder_steps=steps)
    max_frames = steps or opts.steps_cap(cfg)
    settings = type("S", (), {"pace": pace, "pitch_scale": pitch_scale, "pitch_shift": pitch_shift})
    feeds = {"fastpitch": fastpitch_feeds(settings, ids, case.lengths, max_frames)}
    log.info("verify: fastpitch, eager twin vs the independent reference (float64) on %d tokens", ids.shape[1])
    got = EagerNetwork("fastpitch", fp_store, opts).run(feeds["fastpitch"])
    checks = [Check("fastpitch: NaN/Inf count", nonfinite(got), 0),
              Check("fastpitch: mel_lengths |Δ|", abs(int(got["mel_lengths"][0]) - n), 0,
                    f"{int(got['mel_lengths'][0])} vs {n}"),
              Check("fastpitch: mel rel. error", rel_err(got["mel"][..., :n], want["mel"].numpy()), THRESHOLDS["mel"]),
              Check("fastpitch: durations rel. error", rel_err(got["durations"], want["durations"].numpy()),
                    THRESHOLDS["mel"]),
              Check("fastpitch: pitch rel. error", rel_err(got["pitch"], want["pitch"].numpy()), THRESHOLDS["mel"]),
              Check("fastpitch: mel zero past mel_lengths", float(np.abs(got["mel"][..., n:]).max(initial=0.0)), 0)]
    mel = want["mel"]
    voc_ref = vocoder_reference(voc_ckpt, voc_cfg)
    feeds[vocoder.network] = vocoder_feeds(vocoder, voc_cfg, mel.numpy(), sigma=sigma, seed=seed)
    audio = voc_ref.vocode(mel, feeds[vocoder.network])
    reference = {"audio": audio.numpy(), "audio_denoised": voc_ref.denoise(audio, strength).numpy()}
    feeds[vocoder.denoiser] = {"audio": reference["audio"].astype(np.float32),
                               "samples": np.full(1, audio.shape[-1], np.int32),
                               "strength": np.array(strength, np.float32)}
    outputs = {"fastpitch": got}
    for name in (vocoder.network, vocoder.denoiser):
        log.info("verify: %s, eager twin vs reference", name)
        outputs[name] = EagerNetwork(name, voc_store, opts).run(feeds[name])
        checks += compare(name, outputs[name], reference)
    return checks, {"case": case, "reference": reference, "outputs": outputs, "feeds": feeds, "vocoder": vocoder,
                    "gate_threshold": 0.0}
