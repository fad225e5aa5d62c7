"""Input lines and output files of ``trtnet synthesize`` (local and --triton-url alike)."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
from pathlib import Path
from typing import Iterator


OUTPUT = re.compile(r"^audio_\d+(\.wav|\.mel\.npy|\.npy|\.png)$")


def _writable_dir(path: Path) -> None:
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"output directory {path} is not writable")


def _earlier_outputs(out: Path, overwrite: bool) -> list[Path]:
    """audio_* files already in ``out``: an error unless ``overwrite`` (then they are removed, all or none, before
    the run, so the directory never mixes two runs).  Checked before any work and again under the lock."""
    from trtnet.files import check_creatable_dir
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"-o {out}: exists and is not a directory; choose an output directory")
    check_creatable_dir(out)
    found = sorted(p for p in out.iterdir() if OUTPUT.match(p.name)) if out.is_dir() else []
    if found and not overwrite:
        raise FileExistsError(f"output directory {out} already holds {len(found)} audio file(s) of an earlier run "
                              f"({found[0].name}, ...); pass --overwrite to replace them, or choose another -o")
    return found


@contextlib.contextmanager
def output_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """``out`` locked for this run (a second run into it fails at once; temp files of killed runs are removed),
    writable, and emptied of an earlier run's files (all or none, with ``overwrite``; else an error)."""
    from trtnet.files import locked_dir, remove_all_or_none
    with locked_dir(out, "trtnet synthesize"):
        _writable_dir(out)
        remove_all_or_none(out, _earlier_outputs(out, overwrite))
        yield out


def _lines(path: str) -> list[str]:
    from trtnet.runtime.text import decode_lines
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"input file {path} does not exist") from None
    lines = decode_lines(data, f"input file {path}")
    if not lines:
        raise ValueError(f"input file {path} is empty")
    return lines


def _save(out: Path, u, rate: int, args: argparse.Namespace) -> Path:
    import numpy as np

    from trtnet.runtime.wav import write_wav
    from trtnet.files import atomic_write_bytes
    audio = u.audio
    if args.normalize == "peak" and audio.size and np.abs(audio).max() > 0:
        audio = audio / np.abs(audio).max()
    wav = out / f"audio_{u.index}.wav"
    write_wav(wav, audio, rate, sample_format=args.sample_format)
    if args.save_mel:
        buf = io.BytesIO()
        np.save(buf, u.mel_postnet)
        atomic_write_bytes(out / f"audio_{u.index}.mel.npy", buf.getvalue())
    return wav
