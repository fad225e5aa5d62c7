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
                        "16-bit mono PCM on stdout, lines one after another (--batch-size 1)")
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


def run_stream(args: argparse.Namespace, lf, lines: list[str], out: Path | None) -> int:
    """Stream ``lines`` through ``lf`` (a ``runtime.longform.LongForm``), one WAV per line; ``out`` None: raw PCM
    to stdout.  Each line's first-audio time is counted from the end of the line before (the run's start).  A WAV
    is written under a temp name until its last chunk: never partial under its final name."""
    from trtnet.files import StreamedFile, named_os_error
    from trtnet.runtime.wav_stream import WavStream
    rate = lf.pipe.vocoder_config.sampling_rate
    raw = out is None
    chunks = lf.stream(lines, args.batch_size, chunk_frames=args.chunk_frames, vocoder_context=args.context_frames,
                       dtype="int16" if raw else "float32")
    t0 = time.perf_counter()
    file, writer, first, line = None, None, None, -1
    try:
        for c in chunks:
            if c.line != line:
                line, first = c.line, None
                if raw:
                    writer = WavStream(sys.stdout.buffer, rate, raw=True)
                else:
                    file = StreamedFile(out / f"audio_{line}.wav")
                    writer = WavStream(file.file, rate, args.sample_format)
            if first is None and c.audio.size:
                first = time.perf_counter() - t0
                log.info("line %d: first audio after %.0f ms", line, 1e3 * first)
            try:
                writer.write(c.audio)
            except OSError as e:   # a full disk or a file-size limit: name the file, not a temp name
                raise named_os_error(e, file.path if file is not None else Path("stdout")) from None
            if c.final:
                n = writer.samples
                where = "stdout" if raw else out / f"audio_{line}.wav"
                if file is not None:
                    file.commit()
                    file = None
                print(f"{where}  line {line}  {n / rate:6.2f} s  first audio after {1e3 * (first or 0):.0f} ms, "
                      f"done after {1e3 * (time.perf_counter() - t0):.0f} ms", file=sys.stderr if raw else sys.stdout,
                      flush=True)
                t0 = time.perf_counter()
    except BaseException as e:
        if file is not None:
            file.abort("interrupted" if isinstance(e, KeyboardInterrupt) else f"failed ({type(e).__name__})")
        raise
    if file is not None:
        file.abort("ended")
    return 0
