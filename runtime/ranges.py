"""The valid range of every run-time setting a user, a request or an engine directory's index may give, defined
once: the CLI's argparse types (``tools/argtypes.py``), the Triton models' request checks
(``trtnet.serve.triton_model``) and the index schema (``runtime/dir_schema.py``) all read these.

Upper bounds keep the output finite and audible: WaveGlow's prior is N(0, 1), so ``sigma`` above 2 only scales
noise up (FP32 audio turns NaN from about 1e19: the denoiser squares STFT magnitudes); the denoiser subtracts
``strength`` × the bias spectrum, so 1 removes all of it and more only silences.  Counts and sizes are TensorRT's
int32, seeds int64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class RangeError(ValueError):
    """A value outside its :class:`Range`; the message names the setting, the range and the value."""


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integral: bool = False

    def describe(self) -> str:
        """e.g. 'a finite number > 0 and < 1', 'a whole number >= 0'."""
        kind = "a whole number" if self.integral else "a finite number"
        fmt = (lambda v: str(int(v))) if self.integral else (lambda v: f"{v:g}")
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {fmt(self.low)}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {fmt(self.high)}"
        return kind + (f" {lo}" if lo else "") + (" and" if lo and hi else "") + (f" {hi}" if hi else "")

    def contains(self, v: float | int) -> bool:
        if self.integral and (isinstance(v, float) and not v.is_integer()):
            return False
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if self.low is not None and (v < self.low or self.low_open and v == self.low):
            return False
        return not (self.high is not None and (v > self.high or self.high_open and v == self.high))

    def check(self, name: str, v: float | int) -> float | int:
        """``v`` when inside; RangeError '<name> must be <range>, got <v>' otherwise."""
        if not self.contains(v):
            raise RangeError(f"{name} must be {self.describe()}, got {v}")
        return v


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1

GATE_THRESHOLD = Range(0.0, 1.0, low_open=True, high_open=True)   # sigmoid(gate) > threshold stops
SIGMA = Range(0.0, 2.0)                                            # WaveGlow z scale
DENOISER_STRENGTH = Range(0.0, 1.0)                                # × the bias spectrum subtracted
SEED = Range(0, INT64_MAX, integral=True)                          # int64 request input, --seed
CHUNK_FRAMES = Range(1, 4096, integral=True)                       # decoder steps per streamed chunk
PAUSE_MS = Range(0.0, 10_000.0)                                    # silence between pieces of a long line
# FastPitch's pace divides the predicted durations (each at most max_duration frames): from 0.1 the repeat counts
# and their running sum (an FP32 matmul) stay exact integers; beyond 10 DLE's typical 3-10 frame durations round to
# no frame at all
PACE = Range(0.1, 10.0)
# the affine pitch transform pitch × scale + shift_Hz / pitch_std (DLE --pitch-transform-amplify, typically 1-3, and
# --pitch-transform-shift): scale 0 flattens the contour to the speaker's mean; a shift past 1000 Hz leaves every voice
PITCH_SCALE = Range(0.0, 10.0)
PITCH_SHIFT = Range(-1000.0, 1000.0)                               # in Hz
