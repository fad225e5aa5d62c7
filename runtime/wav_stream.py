"""Progressive mono WAV output for streaming synthesis: the header is rewritten after every chunk, so the file is
a complete, valid WAV (16-bit PCM or 32-bit float) whenever a chunk has been written; or headerless 16-bit
little-endian PCM to a pipe (``trtnet synthesize --stream -o -``, for a player reading raw samples).

Float samples are clipped to [-1, 1] (16-bit: ×32767, rounded, as ``wav.write_wav`` does).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np

from .wav import FORMATS, WavError, _float32_wav

_PCM = 1


def _header(sample_format: str, n: int, rate: int) -> bytes:
    if sample_format == "float32":
        return _float32_wav(b"", n, rate)[:-4] + struct.pack("<I", 4 * n)
    fmt = struct.pack("<HHIIHH", _PCM, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 2 * n)
    return b"RIFF" + struct.pack("<I", len(body) + 2 * n) + body


def _fix_riff(header: bytes, data_bytes: int) -> bytes:
    """The RIFF size of a header whose data chunk holds ``data_bytes``."""
    return header[:4] + struct.pack("<I", len(header) - 8 + data_bytes) + header[8:]


class WavStream:
    """Append audio chunks to ``f`` (a seekable binary file: a WAV with its header patched after each chunk; or,
    with ``raw``, any binary stream: 16-bit PCM, no header)."""

    def __init__(self, f: BinaryIO, sample_rate: int, sample_format: str = "pcm16", *, raw: bool = False):
        if sample_format not in FORMATS:
            raise WavError(f"sample_format {sample_format!r}: use one of {FORMATS}")
        if raw and sample_format != "pcm16":
            raise WavError("raw output is 16-bit PCM; use sample_format 'pcm16'")
        self.f, self.rate, self.format, self.raw, self.samples = f, int(sample_rate), sample_format, raw, 0
        if not raw:
            self.f.write(self._header())
            self.f.flush()

    def _header(self) -> bytes:
        h = _header(self.format, self.samples, self.rate)
        width = 4 if self.format == "float32" else 2
        return _fix_riff(h, width * self.samples)

    def write(self, audio: np.ndarray) -> None:
        """Append mono float (in [-1, 1]) or int16 samples; the file is a valid WAV again when this returns."""
        a = np.asarray(audio).reshape(-1)
        if a.dtype == np.int16:
            data = a.astype("<i2").tobytes() if self.format == "pcm16" else (a / 32768.0).astype("<f4").tobytes()
        elif a.dtype.kind == "f":
            if np.isnan(a).any():
                raise WavError(f"audio chunk contains {int(np.isnan(a).sum())} NaN samples")
            c = np.clip(a, -1.0, 1.0)
            data = (np.round(c * 32767.0).astype("<i2") if self.format == "pcm16" else c.astype("<f4")).tobytes()
        else:
            raise WavError(f"audio dtype {a.dtype}; expected floating point in [-1, 1] or int16")
        self.f.write(data)
        self.samples += a.size
        if not self.raw:
            end = self.f.tell()
            self.f.seek(0)
            self.f.write(self._header())
            self.f.seek(end)
        self.f.flush()
