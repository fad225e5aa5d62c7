"""trtnet synthesize: one WAV per input line, through the engines (--engine-dir) or the eager twin."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .common import add_backend_args, add_runtime_args, open_backend, settings_from

log = logging.getLogger("trtnet.synthesize")
PIPELINE = ("encoder", "decoder-loop", "postnet", "waveglow", "denoiser")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", required=True, help="text file, one utterance per line")
    p.add_argument("-o", "--output", required=True, help="output directory (audio_<n>.wav per line)")
    add_backend_args(p)
    add_runtime_args(p)
    p.add_argument("--max-decoder-steps", type=int, default=None, help="step cap for this run (≤ the engines')")
    p.add_argument("--batch-size", type=int, default=1, help="lines per batch (ragged lengths are fine)")
    p.add_argument("--seed", type=int, default=0, help="seed for fed dropout masks / noise and eager random fills")
    p.add_argument("--save-mel", action="store_true", help="also write the post-net mel [n_mel, frames] as .npy")
    p.add_argument("--sample-format", choices=["pcm16", "float32"], default="pcm16", help="WAV sample format")
    p.add_argument("--normalize", choices=["peak", "none"], default="peak",
                   help="peak-normalise each utterance as DLE's inference.py does (default), or write raw")


def _writable_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"output directory {path} cannot be created: {e.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory {path} is not writable")


def _lines(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"input file {path} does not exist") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"input file {path} is not UTF-8 text: {e}") from None
    lines = text.splitlines()
    if not lines:
        raise ValueError(f"input file {path} is empty")
    return lines


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from trtnet.runtime.pipeline import Pipeline, encode_lines
    from trtnet.runtime.wav import write_wav
    from trtnet.sidecar import atomic_write_bytes
    out = Path(args.output)
    lines = _lines(args.input)
    if args.engine_dir:  # the engines' limit, from build_config.json: checked before any GPU work
        from trtnet.runtime.engine_dir import read_build_config
        encode_lines(lines, int(read_build_config(Path(args.engine_dir))["options"]["max_text_len"]))
    _writable_dir(out)
    backend = open_backend(args, PIPELINE)
    try:
        settings = settings_from(args, backend)
        pipe = Pipeline(backend.sessions, t2_config=backend.t2_config, wg_config=backend.wg_config,
                        limits=backend.limits, settings=settings)
        rate = backend.wg_config.sampling_rate
        for batch in pipe.synthesize(lines, args.batch_size):  # checks every line before synthesizing any
            for u in batch.utterances:
                audio = u.audio
                if args.normalize == "peak" and audio.size and np.abs(audio).max() > 0:
                    audio = audio / np.abs(audio).max()
                wav = out / f"audio_{u.index}.wav"
                write_wav(wav, audio, rate, sample_format=args.sample_format)
                if args.save_mel:
                    import io
                    buf = io.BytesIO()
                    np.save(buf, u.mel_postnet)
                    atomic_write_bytes(out / f"audio_{u.index}.npy", buf.getvalue())
                print(f"{wav}  {len(u.ids):4d} tokens  {u.mel_length:5d} mels  {u.audio.size / rate:6.2f} s"
                      + ("  (hit the step cap)" if u.hit_cap else ""))
            log.info("batch of %d: %d decoder steps; %s", len(batch.utterances), batch.n_steps,
                     ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in batch.seconds.items()))
    finally:
        backend.close()
    return 0
