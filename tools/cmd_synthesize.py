"""trtnet synthesize: one WAV per input line, through the engines (--engine-dir) or the eager twin."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from trtnet.engines.spec import PIPELINE

from .argtypes import PAUSE_MS, POSITIVE_INT, SEED
from .flag_checks import refuse_model_flags_with_engines
from .common import (add_backend_args, add_runtime_args, add_text_args, open_backend, settings_from, text_cleaners,
                     text_frontend, text_limits, vocoder_arch)
from .plots import plot_utterance, require_matplotlib
from .progress import network_progress, progress
from .synth_files import _earlier_outputs, _lines, _save, output_dir
from .synth_stream import add_stream_arguments, check_stream_args, decoder_name, run_stream
from .triton_client import add_triton_args, synthesize_remote

log = logging.getLogger("trtnet.synthesize")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", required=True,
                   help="UTF-8 text file, one utterance (of any length: see --split) per line (split on \\n only)")
    p.add_argument("-o", "--output", required=True,
                   help="output directory: audio_<n>.wav (and audio_<n>.mel.npy) for line n, counted from 0; "
                        "with --stream, '-' writes raw 16-bit PCM to stdout")
    add_backend_args(p)
    add_runtime_args(p)
    add_text_args(p)
    p.add_argument("--max-decoder-steps", type=POSITIVE_INT, default=None,
                   help="step cap for this run (default: the engines' or the model's; at most the engines')")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=1, help="lines per batch (default 1; ragged is fine)")
    p.add_argument("--seed", type=SEED, default=0,
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
                   help="also print, per line, what was dropped or rewritten by the text front end and the text "
                        "actually spoken (default off)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the audio_* files of an earlier run in --output (default: refuse to touch them)")
    add_longform_arguments(p)
    add_stream_arguments(p)
    add_triton_args(p)


def add_longform_arguments(p: argparse.ArgumentParser) -> None:
    from trtnet.runtime.longform import DEFAULT_CLAUSE_PAUSE_MS, DEFAULT_SENTENCE_PAUSE_MS, FRAMES_PER_TOKEN, SPLITS
    p.add_argument("--split", choices=SPLITS, default="sentence",
                   help="sentence (default): a line of any length is split into sentences (pysbd), a sentence too "
                        "long for a piece again at clause punctuation, then between words; the pieces are "
                        "synthesized in batches and joined into one WAV per line. none: one utterance per line, "
                        "refused past the text limit")
    p.add_argument("--max-piece-tokens", type=POSITIVE_INT, default=None,
                   help="most tokens per piece (default: the text limit, or fewer so that "
                        f"{FRAMES_PER_TOKEN} decoder frames per token stay within the step cap)")
    p.add_argument("--sentence-pause-ms", type=PAUSE_MS, default=DEFAULT_SENTENCE_PAUSE_MS,
                   help=f"silence between sentences of a line (default {DEFAULT_SENTENCE_PAUSE_MS:g} ms)")
    p.add_argument("--clause-pause-ms", type=PAUSE_MS, default=DEFAULT_CLAUSE_PAUSE_MS,
                   help="silence where a long sentence was split at a clause or between words (default "
                        f"{DEFAULT_CLAUSE_PAUSE_MS:g} ms)")


def longform(args: argparse.Namespace, pipe):
    from trtnet.runtime.longform import LongForm, Pauses
    return LongForm(pipe, split=args.split, pauses=Pauses(args.sentence_pause_ms, args.clause_pause_ms),
                    max_piece_tokens=args.max_piece_tokens)


def report_text(results, verbose: bool) -> None:
    """What the text front end did: with -v each changed line's drops and rewrites (the spoken text follows with
    each WAV); always one summary line when any line changed."""
    changed = [(n, r) for n, r in enumerate(results) if r.changes]
    if verbose:
        for n, r in changed:
            print(f"line {n + 1}: {r.summary()}")
    if changed:
        dropped = sum(c.dropped for _, r in changed for c in r.changes)
        rewritten = sum(not c.dropped for _, r in changed for c in r.changes)
        log.warning("text: %d of %d line(s) changed by the front end (%d rewrite(s), %d drop(s); first: line %d: %s)%s",
                    len(changed), len(results), rewritten, dropped, changed[0][0] + 1, changed[0][1].summary()[:120],
                    "" if verbose else "; -v lists them per line")


def run(args: argparse.Namespace) -> int:
    from trtnet.runtime.pipeline import check_batch_size, prepare_lines
    if args.normalize is None:
        args.normalize = "none" if args.stream else "peak"
    if args.triton_url:
        return synthesize_remote(args)
    check_stream_args(args)
    out = Path(args.output)
    vocoder_arch(args)                                # contradictory vocoder flags: before reading anything
    lines = _lines(args.input)
    max_batch, max_text_len = text_limits(args)       # checked before any model is loaded
    build_config = None
    if args.engine_dir:
        from trtnet.runtime.engine_dir import read_build_config
        build_config = read_build_config(Path(args.engine_dir))
        refuse_model_flags_with_engines(args, build_config)
    results = prepare_lines(lines, max_text_len if args.split == "none" else math.inf, text_frontend(args),
                            text_cleaners(args, build_config))
    report_text(results, args.verbose)
    if args.max_piece_tokens is not None and args.max_piece_tokens > max_text_len:
        raise ValueError(f"--max-piece-tokens {args.max_piece_tokens}: pieces take 1..{max_text_len} tokens (the "
                         "text limit)")
    check_batch_size(args.batch_size, max_batch)
    if args.plot:
        require_matplotlib()
    to_stdout = args.stream and args.output == "-"
    if not to_stdout:
        _earlier_outputs(out, args.overwrite)        # refused before any model is loaded
    with network_progress("synthesize") as hook:
        return _synthesize(args, lines, out, to_stdout, hook)


def _synthesize(args: argparse.Namespace, lines: list[str], out: Path, to_stdout: bool, hook) -> int:
    from trtnet.runtime.measures import fmt_seconds
    from trtnet.runtime.pipeline import Pipeline
    from trtnet.runtime.text import sequence_to_text
    backend = open_backend(args, PIPELINE + ((decoder_name(args),) if args.stream else ()), progress=hook)
    try:
        settings = settings_from(args, backend)
        pipe = Pipeline(backend.sessions, t2_config=backend.t2_config, vocoder_config=backend.vocoder_config,
                        limits=backend.limits, settings=settings)
        lf = longform(args, pipe)
        if to_stdout:
            return run_stream(args, lf, lines, None, hook)
        utterances = lf.synthesize(lines, args.batch_size)  # checks every line before synthesizing any
        from trtnet.runtime.acoustic import settings_summary
        log.info("synthesize: %d line(s) in batches of ≤ %d %s → %s; backend: %s; %s", len(lines), args.batch_size,
                 "lines" if args.split == "none" else f"pieces (≤ {lf.max_tokens} tokens each; pauses "
                 f"{args.sentence_pause_ms:g} / {args.clause_pause_ms:g} ms)", out, backend.description,
                 settings_summary(settings, pipe.acoustic, pipe.vocoder.settings))
        with output_dir(out, args.overwrite):          # one run per output directory; none left if refused
            if args.stream:
                return run_stream(args, lf, lines, out, hook)
            rate = backend.vocoder_config.sampling_rate
            with progress(len(lines), "lines") as bar:
                hook.set_phase(f"line 1/{len(lines)}")
                for u in utterances:                       # each line's files are written as soon as it is done
                    wav = _save(out, u, rate, args)
                    if args.plot:
                        plot_utterance(u, settings.gate_threshold, out / f"audio_{u.index}.png")
                    pieces = getattr(u, "pieces", [u])
                    capped = sum(p.hit_cap for p in pieces)
                    spoken = " | ".join(repr(sequence_to_text(p.ids)) for p in pieces)
                    bar.write(f"{wav}  {len(u.ids):4d} tokens  {u.mel_length:5d} mels  "
                              f"{fmt_seconds(u.audio.size / rate):>6s} s"
                              + (f"  {len(pieces)} pieces" if len(pieces) > 1 else "")
                              + (f"  ({capped} piece(s) hit the step cap: may end in noise)"
                                 if len(pieces) > 1 and capped else "  (hit the step cap)" if capped else "")
                              + (f"\n    spoken: {spoken}" if args.verbose else ""))
                    bar.update(1)
                    if u.index + 1 < len(lines):
                        hook.set_phase(f"line {u.index + 2}/{len(lines)}")
    finally:
        backend.close()
    return 0
