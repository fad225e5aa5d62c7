"""Timing loops behind ``trtnet bench`` (DLE test_infer.py semantics: the timed region is Tacotron 2 +
WaveGlow + denoiser, synchronised; text preparation and file writing are outside; warm-up iterations are
dropped by ``runtime.stats.summarize``)."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import torch

from trtnet.runtime.measures import mels_of
from trtnet.runtime.pipeline import Pipeline, encode_lines
from trtnet.runtime.text import DEFAULT_FRONTEND
from trtnet.runtime.stats import BenchRow, summarize


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _row(lat, mels, extra, *, framework: str, batch: int, precision: str, warmup: int, wg_config: Any) -> BenchRow:
    return summarize(lat, mels, batch_size=batch, warmup=warmup, framework=framework, precision=precision,
                     sample_rate=wg_config.sampling_rate, hop_length=wg_config.upsample_stride, extra=extra)


def bench_pipeline(pipe: Pipeline, text: str, batch: int, iterations: int, warmup: int, *, framework: str,
                   precision: str, sync: Callable[[], None] = lambda: None) -> BenchRow:
    """Time ``pipe`` on ``batch`` copies of ``text`` (engine or eager sessions; loop or per-step decoder)."""
    ids = encode_lines([text], pipe.limits.max_text_len, pipe.settings.text_frontend, pipe.text_cleaners) * batch
    lat, mels, extra = [], [], {"decoder_ms_per_step": [], "vocoder_ms": [], "denoiser_ms": []}
    for _ in range(warmup + iterations):
        sync()
        t0 = time.perf_counter()
        res = pipe.synthesize_batch([text] * batch, ids)
        sync()
        lat.append(time.perf_counter() - t0)
        mels.append(mels_of(u.mel_length for u in res.utterances))
        acoustic_s = res.seconds.get("tacotron2_decode", res.seconds.get("fastpitch", 0.0))   # FastPitch: per frame
        extra["decoder_ms_per_step"].append(1e3 * acoustic_s / max(res.n_steps, 1))
        extra["vocoder_ms"].append(1e3 * res.seconds["vocoder"])
        extra["denoiser_ms"].append(1e3 * res.seconds["denoiser"])
    return _row(lat, mels, extra, framework=framework, batch=batch, precision=precision, warmup=warmup,
                wg_config=pipe.vocoder_config)


def bench_stream(pipe: Pipeline, text: str, batch: int, iterations: int, warmup: int, *, chunk_frames: int,
                 framework: str, precision: str, sync: Callable[[], None] = lambda: None) -> BenchRow:
    """Time streaming synthesis (``Pipeline.stream``) of ``batch`` copies of ``text``: latency = until the last
    chunk; extra columns ``ttfa_ms`` (until the first audio chunk), ``ttfa_fraction`` (TTFA / total latency) and
    ``rt_margin_min`` (the least, over chunks, of the chunk's audio seconds ÷ its compute seconds: > 1 means
    every chunk was ready before the previous one finished playing)."""
    rate = pipe.vocoder_config.sampling_rate
    lat, mels, extra = [], [], {"ttfa_ms": [], "ttfa_fraction": [], "rt_margin_min": []}
    for _ in range(warmup + iterations):
        sync()
        t0 = time.perf_counter()
        stream = pipe.stream([text] * batch, chunk_frames=chunk_frames)
        first, margin = None, float("inf")
        for c in stream:
            if c.audio.size:
                sync()
                first = first if first is not None else time.perf_counter() - t0
                margin = min(margin, c.audio.size / rate / max(c.seconds, 1e-9))
        sync()
        lat.append(time.perf_counter() - t0)
        mels.append(mels_of(item.emitted // item.hop for item in stream.items))   # WAV samples = mels · hop
        extra["ttfa_ms"].append(1e3 * (first if first is not None else lat[-1]))
        extra["ttfa_fraction"].append(extra["ttfa_ms"][-1] / 1e3 / lat[-1])
        extra["rt_margin_min"].append(margin if margin != float("inf") else 0.0)
    return _row(lat, mels, extra, framework=framework, batch=batch, precision=precision, warmup=warmup,
                wg_config=pipe.vocoder_config)


def _models(t2_ref: Any, voc_ref: Any, denoiser: Any, device: str, precision: str) -> tuple[Any, Any, Any]:
    """Tacotron 2 and the vocoder on ``device`` in ``precision``; the denoiser's STFT always in FP32 (an FP16
    1024-tap strided conv at batch 1 takes a pathological cuDNN path; the engines keep it in FP32 too)."""
    dtype = torch.float16 if precision == "fp16" else torch.float32
    t2, wg = (m.to(device=device, dtype=dtype).eval() for m in (t2_ref, voc_ref))
    return t2, wg, denoiser.to(device=device, dtype=torch.float32).eval()


def _time_reference(infer: Callable[[Any, Any], dict], vocode: Callable[[Any], Any], denoise: Callable[[Any], Any],
                    text: str, batch: int, iterations: int, warmup: int, device: str,
                    per_iteration: Callable[[], dict[str, float]] = dict, frontend: str = DEFAULT_FRONTEND
                    ) -> tuple[list, list, dict]:
    """Latencies, mel counts and per-stage columns of ``warmup + iterations`` syntheses of ``batch`` × ``text``:
    ``infer(tokens, lengths)`` (Tacotron 2), ``vocode(mel)``, ``denoise(audio)``, each synchronised."""
    ids = encode_lines([text], 1 << 16, frontend)[0]
    tokens = torch.tensor([ids] * batch, dtype=torch.long, device=device)
    lengths = torch.full((batch,), len(ids), dtype=torch.long, device=device)
    lat, mels, extra = [], [], {"decoder_ms_per_step": [], "vocoder_ms": [], "denoiser_ms": []}
    with torch.inference_mode():
        for _ in range(warmup + iterations):
            _sync(device)
            t0 = time.perf_counter()
            out = infer(tokens, lengths)
            _sync(device)
            t1 = time.perf_counter()
            audio = vocode(out["mel_postnet"])
            _sync(device)
            t2_ = time.perf_counter()
            denoise(audio)
            _sync(device)
            t3 = time.perf_counter()
            lat.append(t3 - t0)
            mels.append(mels_of(out["mel_lengths"].tolist()))
            extra["decoder_ms_per_step"].append(1e3 * (t1 - t0) / max(int(out["n_steps"]), 1))
            extra["vocoder_ms"].append(1e3 * (t2_ - t1))
            extra["denoiser_ms"].append(1e3 * (t3 - t2_))
            for k, v in per_iteration().items():
                extra.setdefault(k, []).append(v)
    return lat, mels, extra


def bench_reference(t2_ref: Any, voc_ref: Any, vocode: Callable[[Any, Any], Any], denoiser: Any, text: str,
                    batch: int, iterations: int, warmup: int, *, device: str, precision: str, strength: float,
                    frontend: str = DEFAULT_FRONTEND) -> BenchRow:
    """The independent PyTorch reference, eager, as DLE's test_infer.py runs it (prenet dropout on); Tacotron 2
    and the vocoder (``vocode(model, mel)``: WaveGlow or HiFi-GAN) in ``precision``, the denoiser in FP32."""
    t2, wg, den = _models(t2_ref, voc_ref, denoiser, device, precision)
    lat, mels, extra = _time_reference(t2.infer, lambda mel: vocode(wg, mel), lambda a: den(a.float(), strength),
                                       text, batch, iterations, warmup, device, frontend=frontend)
    return _row(lat, mels, extra, framework="PyTorch reference", batch=batch, precision=precision, warmup=warmup,
                wg_config=voc_ref.config)


def bench_anchor(kind: str, t2_ref: Any, voc_ref: Any, vocode: Callable[[Any, Any], Any], denoiser: Any, text: str,
                 batches: Sequence[int], iterations: int, warmup: int, *, device: str, precision: str,
                 strength: float, readback_every: int, frontend: str = DEFAULT_FRONTEND) -> list[BenchRow]:
    """The reference as ``trtnet.verify.anchors.Anchor`` runs it (``kind`` "graph": CUDA graphs; "compile":
    Inductor, then CUDA graphs), one row per batch size, timed as :func:`bench_reference`.  Extra columns:
    ``kernels_per_step`` (GPU activities of one replayed decoder step), ``overrun_steps`` (steps replayed past
    the stop step per utterance, the cost of reading the stop flag every ``readback_every`` steps) and
    ``prepare_s`` (compilation and capture, one synthesis before the warm-up, not in the latencies)."""
    from .anchors import Anchor, check_device
    check_device(device)
    t2, wg, den = _models(t2_ref, voc_ref, denoiser, device, precision)
    anchor = Anchor(kind, t2, wg, vocode, den, strength=strength, readback_every=readback_every)
    ids = encode_lines([text], 1 << 16, frontend)[0]
    rows = []
    for batch in batches:
        tokens = torch.tensor([ids] * batch, dtype=torch.long, device=device)
        prepare_s = anchor.prepare(tokens, torch.full((batch,), len(ids), dtype=torch.long, device=device))
        lat, mels, extra = _time_reference(anchor.infer, anchor.vocode, anchor.denoise, text, batch, iterations,
                                           warmup, device, lambda: {"overrun_steps": float(anchor.overrun_steps)},
                                           frontend)
        extra.update(kernels_per_step=[float(anchor.kernels_per_step)] * len(lat), prepare_s=[prepare_s] * len(lat))
        rows.append(_row(lat, mels, extra, framework=f"PyTorch {'CUDA graph' if kind == 'graph' else 'compiled'}",
                         batch=batch, precision=precision, warmup=warmup, wg_config=voc_ref.config))
    return rows


def torch_sync(device: str) -> Callable[[], None]:
    return lambda: _sync(device)

