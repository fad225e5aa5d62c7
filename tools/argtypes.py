"""argparse ``type=`` checkers: every number a flag takes is range-checked at parse time, NaN and Inf refused,
and the message states the valid range (argparse turns the ValueError text into ``--flag: message``)."""

from __future__ import annotations

import argparse
from typing import Callable

from trtnet.runtime import ranges


def _fail(text: str, want: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{text!r} is not {want}")


def integer(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """A whole number in [low, high]."""
    return of_range(ranges.Range(low, high, integral=True))


def of_range(r: ranges.Range) -> Callable[[str], float]:
    """The argparse type of a library :class:`trtnet.runtime.ranges.Range` (one definition for the CLI, the
    server's requests and the engine directory's index)."""
    want = r.describe()

    def parse(text: str) -> float:
        try:
            v = int(text) if r.integral else float(text)
        except ValueError:
            raise _fail(text, want) from None
        if not r.contains(v):
            raise _fail(text, want)
        return v
    parse.__name__ = "integer" if r.integral else "number"   # argparse names the type in its own messages
    return parse


GATE_THRESHOLD = of_range(ranges.GATE_THRESHOLD)                  # sigmoid(gate) > threshold stops
SIGMA = of_range(ranges.SIGMA)                                    # WaveGlow noise scale (README: why the bound)
DENOISER_STRENGTH = of_range(ranges.DENOISER_STRENGTH)            # bias-spectrum removal, 0 = off
SEED = of_range(ranges.SEED)                                      # seeds of fed randomness and random fills
POSITIVE_INT = integer(1, ranges.INT32_MAX)                       # batch, steps, tokens, iterations, MiB
NON_NEGATIVE_INT = integer(0, ranges.INT32_MAX)                   # warm-up iterations, context frames
PACE = of_range(ranges.PACE)                                      # FastPitch: durations / pace
PITCH_SCALE = of_range(ranges.PITCH_SCALE)                        # FastPitch: pitch × scale + shift
PITCH_SHIFT = of_range(ranges.PITCH_SHIFT)                        # in Hz
PAUSE_MS = of_range(ranges.PAUSE_MS)                              # silence joined between pieces of a line
PORT = integer(1, 65535)                                          # a TCP port the server listens on


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
