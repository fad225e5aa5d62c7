"""trtnet synthesize --stream: each line's audio written as it is made (runtime.streaming), to a WAV whose header
is patched after every chunk, or as raw 16-bit PCM to stdout with ``-o -`` (then every message goes to stderr)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from .argtypes import NON_NEGATIVE_INT, POSITIVE_INT

log = logging.getLogger("trtnet.synthesize")


def add_stream_arguments(p: argparse.ArgumentParser) -> None:
    from trtnet.runtime.streaming import DEFAULT_CHUNK_FRAMES
    p.add_argument("--stream", action="store_true",
                   help="write each line's audio progressively as its decoder chunks finish (first audio long before "
                        "the line is decoded; equal to the unstreamed audio); not peak-normalised. With -o -: raw "
                        "16-bit mono PCM on stdout, lines one after another (--batch-size 1). Default off")
    p.add_argument("--chunk-frames", type=POSITIVE_INT, default=DEFAULT_CHUNK_FRAMES,
                   help=f"--stream: decoder steps (mel frames) per chunk (default {DEFAULT_CHUNK_FRAMES})")
    p.add_argument("--context-frames", type=NON_NEGATIVE_INT, default=None,
                   help="--stream: real mel frames on each side of a chunk for the vocoder (default: the vocoder's "
                        "measured context, WaveGlow 32, HiFi-GAN 16; README 'Streaming'); postnet and denoiser "
                        "contexts are their exact receptive fields")


def check_stream_args(args: argparse.Namespace) -> None:
    """Flag combinations --stream cannot honour, before any work."""
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


def run_stream(args: argparse.Namespace, pipe, lines: list[str], out: Path | None) -> int:
    """Stream ``lines`` batch by batch; ``out`` None: raw PCM to stdout."""
    from trtnet.runtime.wav_stream import WavStream
    rate = pipe.vocoder_config.sampling_rate
    raw = out is None
    for start in range(0, len(lines), args.batch_size):
        t0 = time.perf_counter()
        stream = pipe.stream(lines[start:start + args.batch_size], chunk_frames=args.chunk_frames,
                             vocoder_context=args.context_frames, first_index=start,
                             dtype="int16" if raw else "float32")
        files, writers, first = {}, {}, None
        try:
            for c in stream:
                if c.item not in writers:
                    if raw:
                        writers[c.item] = WavStream(sys.stdout.buffer, rate, raw=True)
                    else:
                        files[c.item] = open(out / f"audio_{c.index}.wav", "wb")
                        writers[c.item] = WavStream(files[c.item], rate, args.sample_format)
                if first is None and c.audio.size:
                    first = time.perf_counter() - t0
                writers[c.item].write(c.audio)
                if c.final:
                    n = writers[c.item].samples
                    where = "stdout" if raw else out / f"audio_{c.index}.wav"
                    msg = (f"{where}  line {c.index}  {n / rate:6.2f} s  first audio after "
                           f"{1e3 * (first or 0):.0f} ms, done after {1e3 * (time.perf_counter() - t0):.0f} ms")
                    print(msg, file=sys.stderr if raw else sys.stdout, flush=True)
        finally:
            for f in files.values():
                f.close()
    return 0
