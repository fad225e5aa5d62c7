"""Ctrl-C honoured at once while TensorRT works in C++ and calls back into Python.

TensorRT calls Python back (its logger, the builder's progress monitor) from inside long calls; a
``KeyboardInterrupt`` raised in such a callback is caught and printed by the bindings ("Exception caught in
log()") and the work goes on.  :func:`interruptible` instead records SIGINT in a flag, and an ``IProgressMonitor``
whose ``step_complete`` returns False once it is set makes the builder cancel at its next step; when the call
returns, the interrupt is raised as ``KeyboardInterrupt`` in the caller, as Python would have.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator


class Interrupt:
    """The flag a SIGINT sets during :func:`interruptible`; also set by the logger if a KeyboardInterrupt reaches
    a callback despite it."""

    def __init__(self) -> None:
        self.requested = False

    def set(self, *_: Any) -> None:
        self.requested = True


@contextlib.contextmanager
def interruptible(trt: Any = None, builder_config: Any = None) -> Iterator[Interrupt]:
    """While the block runs, SIGINT sets the flag instead of raising inside a TensorRT callback; with a TensorRT
    module and builder config, a progress monitor cancels the build on it.  Raises KeyboardInterrupt on exit if
    SIGINT came.  Outside the main thread (no signal handlers there) it only yields the flag."""
    flag = Interrupt()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    default = previous is signal.default_int_handler
    if main and default:
        signal.signal(signal.SIGINT, flag.set)
    if builder_config is not None and hasattr(trt, "IProgressMonitor"):
        builder_config.progress_monitor = _monitor(trt, flag)
    try:
        yield flag
    finally:
        if main and default:
            signal.signal(signal.SIGINT, previous)
    if flag.requested:
        raise KeyboardInterrupt


def _monitor(trt: Any, flag: Interrupt) -> Any:
    class _Cancel(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            pass

        def step_complete(self, phase_name: str, step: int) -> bool:
            return not flag.requested        # False: the builder cancels and returns None

        def phase_finish(self, phase_name: str) -> None:
            pass
    return _Cancel()
