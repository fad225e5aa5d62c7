"""trtnet synthesize: one WAV per input line, through the engines (--engine-dir) or the eager twin."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from trtnet.engines.spec import PIPELINE

from .argtypes import NON_NEGATIVE_INT, POSITIVE_INT
from .common import add_backend_args, add_runtime_args, open_backend, settings_from, text_limits, vocoder_arch
from .plots import plot_utterance, require_matplotlib
from .synth_files import _earlier_outputs, _lines, _save, _writable_dir
from .progress import network_progress, progress
from .synth_stream import add_stream_arguments, check_stream_args, decoder_name, run_stream
from .triton_client import add_triton_args, synthesize_remote

log = logging.getLogger("trtnet.synthesize")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", required=True, help="UTF-8 text file, one utterance per line (split on \\n only)")
    p.add_argument("-o", "--output", required=True,
                   help="output directory: audio_<n>.wav (and audio_<n>.mel.npy) for line n, counted from 0; "
                        "with --stream, '-' writes raw 16-bit PCM to stdout")
    add_backend_args(p)
    add_runtime_args(p)
    p.add_argument("--max-decoder-steps", type=POSITIVE_INT, default=None,
                   help="step cap for this run (default: the engines' or the model's; at most the engines')")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=1, help="lines per batch (default 1; ragged is fine)")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0,
                   help="seed of fed dropout masks / noise (per line) and eager random fills (default 0)")
    p.add_argument("--save-mel", action="store_true", help="also write the post-net mel [n_mel, frames] as .mel.npy (default off)")
    p.add_argument("--sample-format", choices=["pcm16", "float32"], default="pcm16",
                   help="WAV sample format (default pcm16)")
    p.add_argument("--normalize", choices=["peak", "none"], default=None,
                   help="peak-normalise each utterance as DLE's inference.py does (default; with --stream: none), "
                        "or write raw")
    p.add_argument("--plot", action="store_true",
                   help="also write audio_<n>.png: mel, alignment (eager, or engines built with --alignments) and "
                        "stop gate (needs the [plot] extra; default off)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also print each line's normalised text (what is spoken, after DLE's english_cleaners; default off)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the audio_* files of an earlier run in --output (default: refuse to touch them)")
    add_stream_arguments(p)
    add_triton_args(p)


def run(args: argparse.Namespace) -> int:
    from trtnet.runtime.pipeline import check_batch_size, encode_lines
    if args.normalize is None:
        args.normalize = "none" if args.stream else "peak"
    if args.triton_url:
        return synthesize_remote(args)
    check_stream_args(args)
    out = Path(args.output)
    vocoder_arch(args)                                # contradictory vocoder flags: before reading anything
    lines = _lines(args.input)
    max_batch, max_text_len = text_limits(args)       # checked before any model is loaded
    encode_lines(lines, max_text_len)
    check_batch_size(args.batch_size, max_batch)
    if args.plot:
        require_matplotlib()
    to_stdout = args.stream and args.output == "-"
    earlier = [] if to_stdout else _earlier_outputs(out, args.overwrite)
    with network_progress("synthesize") as hook:
        return _synthesize(args, lines, out, earlier, to_stdout, hook)


def _synthesize(args: argparse.Namespace, lines: list[str], out: Path, earlier: list[Path], to_stdout: bool,
                hook) -> int:
    from trtnet.runtime.measures import fmt_seconds
    from trtnet.runtime.pipeline import Pipeline
    from trtnet.runtime.text import sequence_to_text
    backend = open_backend(args, PIPELINE + ((decoder_name(args),) if args.stream else ()), progress=hook)
    try:
        settings = settings_from(args, backend)
        pipe = Pipeline(backend.sessions, t2_config=backend.t2_config, vocoder_config=backend.vocoder_config,
                        limits=backend.limits, settings=settings)
        if to_stdout:
            return run_stream(args, pipe, lines, None, hook)
        batches = pipe.synthesize(lines, args.batch_size)  # checks every line before synthesizing any
        log.info("synthesize: %d line(s) in batches of ≤ %d → %s; backend: %s; gate threshold %g, sigma %g, "
                 "denoiser strength %g, step cap %d", len(lines), args.batch_size, out, backend.description,
                 settings.gate_threshold, settings.sigma, settings.denoiser_strength, settings.max_decoder_steps)
        _writable_dir(out)
        for p in earlier:
            p.unlink(missing_ok=True)
        if args.stream:
            return run_stream(args, pipe, lines, out, hook)
        rate = backend.vocoder_config.sampling_rate
        with progress(len(lines), "lines") as bar:
            for start in range(0, len(lines), args.batch_size):   # each batch's files are written when it is done
                hook.set_phase(f"line {start + 1}/{len(lines)}")
                batch = next(batches)
                for u in batch.utterances:
                    wav = _save(out, u, rate, args)
                    if args.plot:
                        plot_utterance(u, settings.gate_threshold, out / f"audio_{u.index}.png")
                    bar.write(f"{wav}  {len(u.ids):4d} tokens  {u.mel_length:5d} mels  "
                              f"{fmt_seconds(u.audio.size / rate):>6s} s" + ("  (hit the step cap)" if u.hit_cap else "")
                              + (f"\n    spoken: {sequence_to_text(u.ids)!r}" if args.verbose else ""))
                bar.update(len(batch.utterances))
                log.debug("batch of %d: %d decoder steps; %s", len(batch.utterances), batch.n_steps,
                          ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in batch.seconds.items()))
    finally:
        backend.close()
    return 0
