"""Which benchmark rows can run here, and running them (used by cmd_bench)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from .common import text_frontend

log = logging.getLogger("trtnet.bench")


def _context(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from .common import vocoder_arch
    ctx: dict[str, Any] = {"device": args.device, "torch": torch.__version__, "vocoder": vocoder_arch(args)}
    if any(b in args.backends for b in ("pytorch-graph", "pytorch-compile")):
        ctx["readback_every"] = args.readback_every
    if str(args.device).startswith("cuda") and torch.cuda.is_available():
        ctx["gpu"] = torch.cuda.get_device_name(0)
    if getattr(args, "emulate_engines", False):
        ctx["engine_rows"] = "emulated (trtnet.emulate; not engine speed)"
    try:
        from trtnet import flavor
        ctx["tensorrt"] = str(flavor.resolve())
    except Exception as e:  # noqa: BLE001 - reported, not fatal: the PyTorch rows still run
        ctx["tensorrt"] = f"unavailable ({type(e).__name__})"
    return ctx


def _pipeline(sessions, t2, wg, limits, defaults, args, dropout, noise, decoder):
    from trtnet.runtime.pipeline import Pipeline, Settings
    fastpitch = {f: float(getattr(args, f, None) or defaults.get(f, getattr(Settings, f)))
                 for f in ("pace", "pitch_scale", "pitch_shift")}     # FastPitch's run-time inputs
    steps = defaults.get("max_decoder_steps", getattr(t2, "max_decoder_steps", None)) or limits.max_decoder_steps
    settings = Settings(max_decoder_steps=int(steps),
                        gate_threshold=float(defaults.get("gate_threshold", getattr(t2, "gate_threshold", 0.0))),
                        sigma=args.sigma, denoiser_strength=args.denoiser_strength, dropout=dropout, noise=noise,
                        text_frontend=text_frontend(args), **fastpitch)
    return Pipeline(sessions, t2_config=t2, vocoder_config=wg, limits=limits, settings=settings, decoder=decoder)


def _done(rows: list) -> list:
    for r in rows:
        log.info("row: %s bs %d %s: %.3f s avg over %d, %.0f mels, RTF %.2f", r.framework, r.batch_size,
                    r.precision, r.latency_avg, len(r.latencies), r.mels, r.rtf)
    return rows


def _decoder(backend: str) -> str:
    """The Pipeline decoder of a row: loop / step; stream rows stream over decoder-chunk (the loop is unused)."""
    kind = backend.split("-")[1]
    return "loop" if kind == "stream" else kind


def _bench(backend: str, pipe, text: str, batch: int, args: argparse.Namespace, **kw):
    from trtnet.verify.bench import bench_pipeline, bench_stream
    if backend.endswith("-stream"):
        return bench_stream(pipe, text, batch, args.iterations, args.warmup, chunk_frames=args.chunk_frames, **kw)
    return bench_pipeline(pipe, text, batch, args.iterations, args.warmup, **kw)


def collect_rows(args: argparse.Namespace, backends: list[str], sources: dict, text: str, hook=None):
    """The rows ``backends`` at every batch size; ``hook``: tools.progress's NetworkProgress (phase = the row)."""
    from trtnet.runtime.progress import observe
    from trtnet.verify.bench import bench_reference, torch_sync
    phase = hook.set_phase if hook is not None else (lambda _: None)
    hook = hook if hook is not None and hook.active else None     # quiet: sessions run unobserved
    rows, skipped = [], []
    batches = args.batch_size or [1]
    engine_rows = [b for b in backends if b.startswith("engine")]
    emulate = bool(getattr(args, "emulate_engines", False))
    tag = " (emulated)" if emulate else ""   # emulated rows are never engine speed
    if engine_rows:
        if not args.engine_dir:
            skipped += [f"{b}: no --engine-dir given" for b in engine_rows]
        else:
            try:
                from trtnet.engines.spec import engine_provider
                from trtnet.runtime.engine_dir import open_engine_dir
                from .common import spec_from_args
                with open_engine_dir(args.engine_dir, provider=engine_provider(spec_from_args(args)),
                                     progress=hook) as d:
                    for b in engine_rows:
                        pipe = _pipeline(observe(d.sessions, hook), d.t2_config, d.vocoder_config, d.limits,
                                         d.defaults, args, d.options["dropout"], d.options["noise"], _decoder(b))
                        for bs in batches:
                            phase(f"trtnet {b}{tag} bs {bs}")
                            rows += _done([_bench(b, pipe, text, bs, args, framework=f"trtnet {b}{tag}",
                                                  precision=d.options["precision"])])
            except (OSError, RuntimeError, ImportError, KeyError) as e:
                if emulate:      # asked for: an emulator failure is an error, never a skip
                    raise
                from trtnet.runtime.engine import NoGpuError
                from .hints import no_gpu
                e = no_gpu(e) if isinstance(e, NoGpuError) else e
                skipped += [f"{b}: {type(e).__name__}: {e}" for b in engine_rows]
    eager_rows = [b for b in backends if b.startswith("eager")]
    if eager_rows:
        from trtnet.engines.spec import network_options, open_eager
        from trtnet.layers.options import NetworkOptions
        from .common import spec_from_args
        spec = spec_from_args(args)
        opts = network_options(spec, max_batch=max(max(batches), NetworkOptions.max_batch))
        backend = open_eager(spec, ("encoder", "decoder-loop", "decoder-step", "decoder-chunk", "postnet", "vocoder",
                                    "vocoder-denoiser"), sources=sources, options=opts)
        try:
            for b in eager_rows:
                pipe = _pipeline(observe(backend.sessions, hook), backend.t2_config, backend.vocoder_config,
                                 backend.limits, {}, args, opts.dropout, opts.noise, _decoder(b))
                for bs in batches:
                    phase(f"trtnet {b} bs {bs}")
                    rows += _done([_bench(b, pipe, text, bs, args, framework=f"trtnet {b}", precision=args.precision,
                                          sync=torch_sync(args.device))])
        finally:
            backend.close()
    reference_rows = [b for b in backends if b.startswith("pytorch")]
    if reference_rows:
        from .common import spec_from_args
        acoustic = spec_from_args(args).acoustic_arch
    if reference_rows and acoustic != "tacotron2":
        skipped += [f"{b}: the PyTorch reference rows time Tacotron 2 only" for b in reference_rows]
    elif reference_rows and any(s.checkpoint is None for s in sources.values()):
        skipped += [f"{b}: the reference loads DLE checkpoints; an .h5 was given" for b in reference_rows]
    elif reference_rows:
        from trtnet.verify.references import timing_reference
        from trtnet.weights.reference import Tacotron2Reference
        from trtnet.weights.store import WeightStore
        from .common import vocoder_arch
        arch = vocoder_arch(args)
        with WeightStore.open(sources[arch].h5_path, arch) as store:
            voc_cfg = store.config
        t2r = Tacotron2Reference.from_checkpoint(sources["tacotron2"].checkpoint)
        voc, vocode, den = timing_reference(sources[arch].checkpoint, voc_cfg, args.sigma)
        if "pytorch" in backends:
            phase("PyTorch reference")
            rows += _done([bench_reference(t2r, voc, vocode, den, text, bs, args.iterations, args.warmup,
                                           device=args.device, precision=args.precision,
                                           strength=args.denoiser_strength, frontend=text_frontend(args))
                           for bs in batches])
        from .bench_anchor_rows import anchor_rows
        more, why = anchor_rows(args, [b for b in reference_rows if b != "pytorch"], (t2r, voc, vocode, den), text,
                                phase=phase)
        rows, skipped = rows + _done(more), skipped + why
    return rows, skipped, _context(args)
