"""Progress for long commands: a tqdm bar with ETA on stderr while it is a terminal; results go to stdout
line by line either way (``bar.write``), so piped or logged runs get plain lines and no bar.

:func:`network_progress` renders the library's ``runtime.progress`` events (each engine load, each network run,
emulated, engine or eager): on a terminal a tqdm status line naming the network running and the phase, or without
tqdm a plain line per network load and per run of a second or more; quiet when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator


class _Plain:
    """What the commands use of a bar when tqdm is not installed: printing only."""

    def write(self, text: str) -> None:
        print(text, flush=True)

    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def progress(total: int | None, unit: str, desc: str = "", scale: bool = False) -> Iterator[object]:
    """A bar over ``total`` ``unit``s (None: unknown), shown only when stderr is a terminal (tqdm's
    ``disable=None``); ``scale`` prints k/M/G prefixes (bytes)."""
    try:
        from tqdm import tqdm
    except ImportError:
        yield _Plain()
        return
    with tqdm(total=total, unit=unit if scale else f" {unit}", desc=desc, file=sys.stderr, disable=None,
              dynamic_ncols=True, leave=False, unit_scale=scale) as bar:
        if bar.disable:
            yield _Plain()
        else:
            yield _Bar(bar)


class _Bar:
    def __init__(self, bar) -> None:
        self._bar = bar

    def write(self, text: str) -> None:
        self._bar.write(text, file=sys.stdout)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)


class NetworkProgress:
    """A ``ProgressHook`` for the CLI (see the module doc); ``phase`` names what the runs belong to (a bench row,
    a line, a chunk), shown before the network."""

    PLAIN_MIN_SECONDS = 1.0      # without tqdm, runs shorter than this print no line
    REFRESH_SECONDS = 0.2        # the bar's status text is redrawn at most this often

    def __init__(self, bar, plain: bool) -> None:
        self._bar, self._plain = bar, plain
        self.phase = ""
        self._t0 = self._shown = time.perf_counter()
        self._last: dict[str, float] = {}           # seconds of each network's latest run

    @property
    def active(self) -> bool:
        """False when quiet (stderr not a terminal): callers may skip observing sessions at all."""
        return self._bar is not None or self._plain

    def _label(self, text: str) -> str:
        return f"{self.phase}: {text}" if self.phase else text

    def __call__(self, event) -> None:
        if not self.active:
            return                                   # quiet: nothing formatted, nothing timed (bench stays honest)
        if event.kind == "start":            # first run of a network, or one that took long before: shown now
            force = self._last.get(event.network, self.PLAIN_MIN_SECONDS) >= self.PLAIN_MIN_SECONDS
            self._show(self._label(f"running {event.network}"), force=force)
            return
        if event.kind == "load":
            text = self._label(f"loaded {event.network} in {event.seconds:.1f} s")
        else:
            self._last[event.network] = event.seconds
            text = self._label(f"{event.network} run {event.count} took {event.seconds:.1f} s")
        if self._bar is not None:
            self._bar.update(1)
            self._show(text, force=event.kind == "load" or event.seconds >= self.PLAIN_MIN_SECONDS)
        elif event.kind == "load" or event.seconds >= self.PLAIN_MIN_SECONDS:
            print(f"[{time.perf_counter() - self._t0:6.1f} s] {text}", file=sys.stderr, flush=True)

    def _show(self, text: str, force: bool) -> None:
        """The bar's status text, redrawn at most every ``REFRESH_SECONDS`` unless ``force`` (a long run's end)."""
        if self._bar is None:
            return
        now = time.perf_counter()
        if force or now - self._shown >= self.REFRESH_SECONDS:
            self._bar.set_postfix_str(text, refresh=True)
            self._shown = now

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        if self._bar is not None:
            self._bar.set_description_str(phase, refresh=True)
            self._shown = time.perf_counter()
        elif self._plain:
            print(f"[{time.perf_counter() - self._t0:6.1f} s] {phase}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def network_progress(desc: str = "") -> Iterator[Callable]:
    """A hook for ``open_backend(..., progress=)``: on a terminal a tqdm status line (or plain lines without
    tqdm); a silent hook (with a no-op ``set_phase``) when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield NetworkProgress(None, plain=False)
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield NetworkProgress(None, plain=True)
        return
    with tqdm(total=None, unit=" runs", desc=desc, file=sys.stderr, dynamic_ncols=True, leave=False,
              mininterval=0.5) as bar:
        yield NetworkProgress(bar, plain=False)


def byte_progress(total: int | None, desc: str):
    """A download's bar: bytes with k/M/G prefixes, quiet when stderr is not a terminal."""
    return progress(total, "B", desc, scale=True)
