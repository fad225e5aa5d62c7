"""One definition of each figure the commands report, so ``synthesize``, ``bench`` (local and Triton) and the
server agree on the same line.

- **mels** of an utterance: its ``mel_length``, the frames before the stop frame (the frame where
  sigmoid(gate) first exceeds the threshold is generated but not kept; DLE's ``mel_lengths``).  The WAV holds
  exactly ``mels · hop`` samples.  (DLE's test_infer.py counts the padded decoder output, stop frame included:
  one frame more per utterance than reported here.)  A long-form line (``runtime.longform``) counts the sum of
  its pieces' mels; its WAV also holds the pauses between pieces.
- **audio seconds**: ``mels · hop / sample_rate``, i.e. the WAV's length (a long-form line's WAV: plus its pauses).
- **build time** of an engine: TensorRT's ``build_serialized_network`` only (the sidecar's ``build_seconds``;
  defining the network is logged apart), printed by :func:`fmt_duration` wherever it appears.
- **samples/s**: audio samples delivered per second of latency, printed with thousands separators.
"""

from __future__ import annotations

from typing import Iterable


def mels_of(mel_lengths: Iterable[int]) -> float:
    """The mean mel count of a batch: the mean of its utterances' ``mel_length`` (stop frame excluded)."""
    values = [int(m) for m in mel_lengths]
    if not values:
        raise ValueError("mels_of: an empty batch has no mel count")
    return sum(values) / len(values)


def audio_seconds(mels: float, hop: int, sample_rate: int) -> float:
    """Seconds of audio of ``mels`` frames: ``mels · hop / sample_rate``."""
    return mels * hop / sample_rate


def fmt_rate(value: float) -> str:
    """A throughput figure (samples/s, items/s): whole units with thousands separators, e.g. ``1,078``."""
    return f"{value:,.0f}"


def fmt_seconds(value: float) -> str:
    """A duration in seconds as the tables and per-line reports print it: two decimals."""
    return f"{value:.2f}"


def fmt_duration(seconds: float) -> str:
    """A build or phase duration: one decimal and the unit, e.g. ``0.3 s``."""
    return f"{seconds:.1f} s"
