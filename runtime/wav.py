"""Mono WAV files: 16-bit PCM (stdlib ``wave``) or 32-bit float (``WAVE_FORMAT_IEEE_FLOAT``, written here).

Float audio is expected in [-1, 1]; samples outside are clipped and the count is logged as a warning.
Files are written atomically (a temporary name, then ``os.replace``).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import wave
from pathlib import Path

import numpy as np

from ..files import atomic_write_bytes

log = logging.getLogger(__name__)

FORMATS = ("pcm16", "float32")
_IEEE_FLOAT = 3  # WAVE_FORMAT_IEEE_FLOAT


class WavError(ValueError):
    """A WAV file or the audio given for one is not what this module reads or writes."""


def _as_mono(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise WavError(f"expected mono audio of shape [N] (or [1, N]), got shape {list(a.shape)}")
    return a


def _clip(audio: np.ndarray, path: Path) -> np.ndarray:
    """Float audio clipped to [-1, 1], logging how many samples were out of range (NaN is an error)."""
    a = audio.astype(np.float32, copy=False)
    if np.isnan(a).any():
        raise WavError(f"{path}: audio contains {int(np.isnan(a).sum())} NaN samples")
    over = int(np.count_nonzero(np.abs(a) > 1.0))
    if over:
        log.warning("%s: clipped %d of %d samples outside [-1, 1] (peak %.3f)", path, over, a.size,
                    float(np.abs(a).max()))
        a = np.clip(a, -1.0, 1.0)
    return a


def _pcm16(audio: np.ndarray, path: Path) -> bytes:
    if audio.dtype == np.int16:
        return audio.astype("<i2", copy=False).tobytes()
    return np.round(_clip(audio, path) * 32767.0).astype("<i2").tobytes()


def _float32_wav(samples: bytes, n: int, sample_rate: int) -> bytes:
    """RIFF header for WAVE_FORMAT_IEEE_FLOAT mono (fmt chunk of 18 bytes and the ``fact`` chunk it requires)."""
    fmt = struct.pack("<HHIIHHH", _IEEE_FLOAT, 1, sample_rate, sample_rate * 4, 4, 32, 0)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, n)
            + b"data" + struct.pack("<I", len(samples)) + samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = 22050,
              sample_format: str = "pcm16") -> Path:
    """Write mono ``audio`` (float in [-1, 1], or int16 for pcm16) to ``path``; returns the path."""
    p = Path(path)
    if sample_format not in FORMATS:
        raise WavError(f"sample_format {sample_format!r}: use one of {FORMATS}")
    a = _as_mono(audio)
    if a.dtype.kind not in "fi" or (a.dtype.kind == "i" and a.dtype != np.int16):
        raise WavError(f"{p}: audio dtype {a.dtype}; expected floating point in [-1, 1] or int16")
    if sample_format == "float32":
        f = a.astype(np.float32) / 32768.0 if a.dtype == np.int16 else _clip(a, p)
        data = _float32_wav(f.astype("<f4", copy=False).tobytes(), a.size, int(sample_rate))
    else:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(_pcm16(a, p))
        data = buf.getvalue()
    atomic_write_bytes(p, data)
    return p


def _chunks(data: bytes, path: Path) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{path}: not a RIFF/WAVE file")
    chunks, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.setdefault(cid, data[pos + 8:pos + 8 + size])
        pos += 8 + size + (size & 1)
    return chunks


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(mono float32 audio in [-1, 1], sample rate) from a 16-bit PCM or 32-bit float WAV."""
    p = Path(path)
    data = p.read_bytes()
    chunks = _chunks(data, p)
    if b"fmt " not in chunks or b"data" not in chunks:
        raise WavError(f"{p}: no 'fmt ' or 'data' chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
    if channels != 1:
        raise WavError(f"{p}: {channels} channels; only mono is supported")
    if (tag, bits) == (_IEEE_FLOAT, 32):
        return np.frombuffer(chunks[b"data"], dtype="<f4").astype(np.float32), rate
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getsampwidth() != 2:
                raise WavError(f"{p}: {8 * w.getsampwidth()}-bit PCM; expected 16-bit PCM or 32-bit float")
            frames = w.readframes(w.getnframes())
    except wave.Error as e:
        raise WavError(f"{p}: {e}; expected 16-bit PCM or 32-bit float") from None
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, rate
