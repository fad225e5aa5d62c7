"""argparse ``type=`` checkers: every number a flag takes is range-checked at parse time, NaN and Inf refused,
and the message states the valid range (argparse turns the ValueError text into ``--flag: message``)."""

from __future__ import annotations

import argparse
from typing import Callable

from trtnet.engines import ranges


def _fail(text: str, want: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r} is not {want}")


def real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False) -> Callable[[str], float]:
    """A finite float in the range [low, high] (either end open or absent)."""
    r = ranges.Range(low, high, low_open, high_open)
    want = r.describe()

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise _fail(text, want) from None
        if not r.contains(v):
            raise _fail(text, want)
        return v
    parse.__name__ = "number"   # argparse names the type in its own messages
    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high]."""
    want = "a whole number" + (f" >= {low}" if low is not None else "") + (f" <= {high}" if high is not None else "")

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise _fail(text, want) from None
        if low is not None and v < low or high is not None and v > high:
            raise _fail(text, want)
        return v
    parse.__name__ = "integer"
    return parse


def of_range(r: ranges.Range) -> Callable[[str], float]:
    """The argparse type of a library :class:`trtnet.engines.ranges.Range` (one definition for CLI and server)."""
    return integer(int(r.low), int(r.high)) if r.integral else real(r.low, r.high, low_open=r.low_open,
                                                                     high_open=r.high_open)


GATE_THRESHOLD = of_range(ranges.GATE_THRESHOLD)                  # sigmoid(gate) > threshold stops
SIGMA = of_range(ranges.SIGMA)
DENOISER_STRENGTH = of_range(ranges.DENOISER_STRENGTH)
POSITIVE_INT = integer(1)                                         # batch, steps, tokens, iterations, MiB
NON_NEGATIVE_INT = integer(0)                                     # seeds, warm-up iterations
