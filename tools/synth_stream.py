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
    p.add_argument("--limiter", choices=["off", "soft"], default="off",
                   help="--stream: 'soft' passes samples above 0.9 in magnitude through a soft knee into (0.9, 1), "
                        "so nothing clips (streamed audio is not peak-normalised; default off: a warning gives the "
                        "percentage of clipped samples per line)")
    p.add_argument("--chunk-frames", type=POSITIVE_INT, default=DEFAULT_CHUNK_FRAMES,
                   help=f"--stream: decoder steps (mel frames) per chunk (default {DEFAULT_CHUNK_FRAMES})")
    p.add_argument("--context-frames", type=NON_NEGATIVE_INT, default=None,
                   help="--stream: real mel frames on each side of a chunk for the vocoder (default: the vocoder's "
                        "measured context, WaveGlow 32, HiFi-GAN 16; README 'Streaming'); postnet and denoiser "
                        "contexts are their exact receptive fields")


def check_stream_args(args: argparse.Namespace) -> None:
    """Flag combinations --stream cannot honour, before any work."""
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


def run_stream(args: argparse.Namespace, pipe, lines: list[str], out: Path | None, hook=None) -> int:
    """Stream ``lines`` batch by batch; ``out`` None: raw PCM to stdout.  ``hook``: tools.progress's
    NetworkProgress (its phase names the line and chunk)."""
    from trtnet.runtime.limiter import clipped, soft_limit
    from trtnet.runtime.measures import fmt_seconds
    from trtnet.runtime.wav_stream import WavStream
    rate = pipe.vocoder_config.sampling_rate
    raw = out is None
    limiter = getattr(args, "limiter", "off")
    counts = raw or args.sample_format == "pcm16"           # float32 WAVs keep samples beyond ±1: nothing clips
    for start in range(0, len(lines), args.batch_size):
        t0 = time.perf_counter()
        stream = pipe.stream(lines[start:start + args.batch_size], chunk_frames=args.chunk_frames,
                             vocoder_context=args.context_frames, first_index=start, dtype="float32")
        files, writers, first, clips = {}, {}, None, {}
        if hook is not None:
            hook.set_phase(f"line {start + 1}/{len(lines)} chunk 1")
        try:
            for k, c in enumerate(stream, 1):
                if hook is not None:
                    hook.set_phase(f"line {c.index + 1}/{len(lines)} chunk {k + 1}")
                audio = soft_limit(c.audio) if limiter == "soft" else c.audio
                clips[c.item] = clips.get(c.item, 0) + (clipped(audio) if counts else 0)
                if c.item not in writers:
                    if raw:
                        writers[c.item] = WavStream(sys.stdout.buffer, rate, raw=True)
                    else:
                        files[c.item] = open(out / f"audio_{c.index}.wav", "wb")
                        writers[c.item] = WavStream(files[c.item], rate, args.sample_format)
                if first is None and c.audio.size:
                    first = time.perf_counter() - t0
                writers[c.item].write(audio)
                if c.final:
                    n = writers[c.item].samples
                    if clips.get(c.item):
                        log.warning("line %d: %.1f %% of its samples clipped (streamed audio is not peak-normalised: "
                                    "the peak is unknown until the end); --limiter soft avoids it, or synthesize "
                                    "without --stream to peak-normalise", c.index, 100 * clips[c.item] / max(n, 1))
                    where = "stdout" if raw else out / f"audio_{c.index}.wav"
                    msg = (f"{where}  line {c.index}  {fmt_seconds(n / rate):>6s} s  first audio after "
                           f"{1e3 * (first or 0):.0f} ms, done after {1e3 * (time.perf_counter() - t0):.0f} ms")
                    print(msg, file=sys.stderr if raw else sys.stdout, flush=True)
        finally:
            for f in files.values():
                f.close()
    return 0
