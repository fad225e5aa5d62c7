"""trtnet synthesize --stream: each line's audio written as it is made (runtime.streaming), to a WAV whose header
is patched after every chunk, or as raw 16-bit PCM to stdout with ``-o -`` (then every message goes to stderr)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .argtypes import NON_NEGATIVE_INT, POSITIVE_INT
from .flag_checks import refuse_unused

log = logging.getLogger("trtnet.synthesize")


def add_stream_arguments(p: argparse.ArgumentParser) -> None:
    from trtnet.runtime.streaming import DEFAULT_CHUNK_FRAMES
    p.add_argument("--stream", action="store_true",
                   help="write each line's audio progressively as its decoder chunks finish (first audio long before "
                        "the line is decoded; equal to the unstreamed audio); not peak-normalised. With -o -: raw "
                        "16-bit mono PCM on stdout, lines one after another (--batch-size 1). Default off")
    p.add_argument("--limiter", choices=["off", "soft"], default="off",
                   help="--stream: 'soft' passes samples above 0.9 in magnitude through a soft knee into (0.9, 1), "
                        "so nothing clips (streamed audio is not peak-normalised; default off: a warning gives the "
                        "percentage of clipped samples per line)")
    p.add_argument("--chunk-frames", type=POSITIVE_INT, default=None,
                   help=f"--stream: decoder steps (mel frames) per chunk (default {DEFAULT_CHUNK_FRAMES})")
    p.add_argument("--context-frames", type=NON_NEGATIVE_INT, default=None,
                   help="--stream: real mel frames on each side of a chunk for the vocoder (default: the vocoder's "
                        "measured context, WaveGlow 32, HiFi-GAN 16; README 'Streaming'); postnet and denoiser "
                        "contexts are their exact receptive fields")


def check_stream_args(args: argparse.Namespace) -> None:
    """Flag combinations --stream cannot honour (or that act only with it), before any work; fills in the
    default --chunk-frames."""
    from trtnet.runtime.streaming import DEFAULT_CHUNK_FRAMES
    refuse_unused(args, "--stream", args.stream, {"--chunk-frames": None, "--context-frames": None})
    if args.chunk_frames is None:
        args.chunk_frames = DEFAULT_CHUNK_FRAMES
    if not args.stream:
        if getattr(args, "limiter", "off") != "off":
            raise ValueError("--limiter is for --stream (without it each line is peak-normalised, nothing clips)")
        if args.output == "-":
            raise ValueError("-o - (raw PCM on stdout) needs --stream")
        return
    if args.normalize == "peak":
        raise ValueError("--stream writes audio as it is made, so it cannot peak-normalise; use --normalize none")
    if args.output == "-":
        if args.batch_size != 1:
            raise ValueError("-o - streams the lines one after another; use --batch-size 1")
        if args.sample_format != "pcm16" or args.save_mel or args.plot:
            raise ValueError("-o - writes raw 16-bit PCM only (no --sample-format float32, --save-mel or --plot)")
    elif args.save_mel or args.plot:
        raise ValueError("--stream writes audio only (no --save-mel or --plot)")


def decoder_name(args: argparse.Namespace) -> str:
    """decoder-chunk, or decoder-step for an engine directory built without it."""
    from trtnet.runtime.engine_dir import stream_decoder
    name = stream_decoder(args.engine_dir)
    if name != "decoder-chunk":
        log.warning("%s has no decoder-chunk engine: streaming over %s (build it with --engines "
                    "...,decoder-chunk for the in-engine chunk loop)", args.engine_dir, name)
    return name


def run_stream(args: argparse.Namespace, lf, lines: list[str], out: Path | None, hook=None) -> int:
    """Stream ``lines`` through ``lf`` (a ``runtime.longform.LongForm``), one WAV per line; ``out`` None: raw PCM
    to stdout.  Each line's first-audio time is counted from the end of the line before (the run's start).  A WAV
    is written under a temp name until its last chunk: never partial under its final name.  ``hook``:
    tools.progress's NetworkProgress (its phase names the line and chunk).  Samples beyond ±1 (clipped by the
    16-bit conversion) are counted per line and warned of, or with ``--limiter soft`` compressed first."""
    from trtnet.files import StreamedFile, named_os_error
    from trtnet.runtime.limiter import clipped, soft_limit
    from trtnet.runtime.measures import fmt_seconds
    from trtnet.runtime.wav_stream import WavStream
    rate = lf.pipe.vocoder_config.sampling_rate
    raw = out is None
    limiter = getattr(args, "limiter", "off")
    counts = raw or args.sample_format == "pcm16"           # float32 WAVs keep samples beyond ±1: nothing clips
    phase = hook.set_phase if hook is not None else (lambda _: None)
    chunks = lf.stream(lines, args.batch_size, chunk_frames=args.chunk_frames, vocoder_context=args.context_frames,
                       dtype="float32")          # limited / counted here, converted to 16 bits by WavStream
    t0 = time.perf_counter()
    file, writer, first, line, clips, k = None, None, None, -1, 0, 0
    phase(f"line 1/{len(lines)} chunk 1")
    try:
        for c in chunks:
            if c.line != line:
                line, first, clips, k = c.line, None, 0, 0
                if raw:
                    writer = WavStream(sys.stdout.buffer, rate, raw=True)
                else:
                    file = StreamedFile(out / f"audio_{line}.wav")
                    writer = WavStream(file.file, rate, args.sample_format)
            k += 1
            phase(f"line {line + 1}/{len(lines)} chunk {k + 1}")     # the chunk being made next
            audio = soft_limit(c.audio) if limiter == "soft" else c.audio
            clips += clipped(audio) if counts else 0
            if first is None and c.audio.size:
                first = time.perf_counter() - t0
                log.info("line %d: first audio after %.0f ms", line, 1e3 * first)
            try:
                writer.write(audio)
            except OSError as e:   # a full disk or a file-size limit: name the file, not a temp name
                raise named_os_error(e, file.path if file is not None else Path("stdout")) from None
            if c.final:
                n = writer.samples
                if clips:
                    log.warning("line %d: %.1f %% of its samples clipped (streamed audio is not peak-normalised: "
                                "the peak is unknown until the end); --limiter soft avoids it, or synthesize "
                                "without --stream to peak-normalise", line, 100 * clips / max(n, 1))
                where = "stdout" if raw else out / f"audio_{line}.wav"
                if file is not None:
                    file.commit()
                    file = None
                print(f"{where}  line {line}  {fmt_seconds(n / rate):>6s} s  first audio after "
                      f"{1e3 * (first or 0):.0f} ms, done after {1e3 * (time.perf_counter() - t0):.0f} ms",
                      file=sys.stderr if raw else sys.stdout, flush=True)
                t0 = time.perf_counter()
    except BaseException as e:
        if file is not None:
            file.abort("interrupted" if isinstance(e, KeyboardInterrupt) else f"failed ({type(e).__name__})")
        raise
    if file is not None:
        file.abort("ended")
    return 0
