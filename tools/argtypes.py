"""argparse ``type=`` checkers: every number a flag takes is range-checked at parse time, NaN and Inf refused,
and the message states the valid range (argparse turns the ValueError text into ``--flag: message``)."""

from __future__ import annotations

import argparse
import math
from typing import Callable


def _fail(text: str, want: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r} is not {want}")


def real(low: float | None = None, high: float | None = None, *, low_open: bool = False,
         high_open: bool = False) -> Callable[[str], float]:
    """A finite float in the range [low, high] (either end open or absent)."""
    lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
    hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
    want = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "") + (f" {hi}" if hi else "")

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise _fail(text, want) from None
        if not math.isfinite(v):
            raise _fail(text, want)
        if low is not None and (v < low or low_open and v == low):
            raise _fail(text, want)
        if high is not None and (v > high or high_open and v == high):
            raise _fail(text, want)
        return v
    parse.__name__ = "number"   # argparse names the type in its own messages
    return parse


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high]."""
    want = "a whole number" + (f" >= {low}" if low is not None else "") + (" and" if low is not None and high is not None
                                                                             else "") + (f" <= {high}" if high is not None else "")

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


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1     # TensorRT shapes and counts are int32; seeds are int64

GATE_THRESHOLD = real(0.0, 1.0, low_open=True, high_open=True)   # sigmoid(gate) > threshold stops
POSITIVE_INT = integer(1, INT32_MAX)                              # batch, steps, tokens, iterations, MiB
NON_NEGATIVE_INT = integer(0, INT32_MAX)                          # warm-up iterations, context frames
SEED = integer(0, INT64_MAX)                                      # seeds of fed randomness and random fills
PAUSE_MS = real(0.0, 10_000.0)                                   # silence joined between pieces of a line
PORT = integer(1, 65535)                                          # a TCP port the server listens on


def _settings() -> tuple[float, float]:
    from trtnet.runtime.dir_schema import DENOISER_STRENGTH_MAX, SIGMA_MAX
    return SIGMA_MAX, DENOISER_STRENGTH_MAX


SIGMA = real(0.0, _settings()[0])                                 # WaveGlow noise scale (README: why the bound)
DENOISER_STRENGTH = real(0.0, _settings()[1])                     # bias-spectrum removal, 0 = off


def device(text: str) -> str:
    """A torch device the eager backend can use: ``cpu``, or ``cuda`` / ``cuda:N`` where PyTorch sees that GPU."""
    import re
    if text == "cpu":
        return text
    if not re.fullmatch(r"cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device trtnet runs on: use cpu, cuda or cuda:N")
    import torch
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(text.partition(":")[2] or 0)
    if index >= n:
        raise argparse.ArgumentTypeError(f"{text!r}: PyTorch sees {n or 'no'} CUDA GPU{'' if n == 1 else 's'} "
                                         f"here; use --device cpu" + (f" or cuda:0..{n - 1}" if n else ""))
    return text


def host(text: str) -> str:
    """An address to listen on or connect to: an IPv4/IPv6 address, or a host name (all-digit dotted names must
    be valid IPv4 addresses: ``999.1.1.1`` is refused here, not reported later as a port in use)."""
    import ipaddress
    import re
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", text) or not re.fullmatch(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address or host name")
    return text


def host_port(text: str) -> str:
    """``HOST:PORT`` of a server (no scheme), with the port in 1..65535."""
    name, sep, port = text.rpartition(":")
    if "://" in text or not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8000 for HTTP, :8001 for gRPC)")
    try:
        PORT(port)
        if name:
            host(name.strip("[]"))
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    return text
