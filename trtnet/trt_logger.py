"""A TensorRT ILogger that forwards to ``logging`` and keeps the errors and warnings for BuildError."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("trtnet.tensorrt")

# messages TensorRT-RTX prints on every CPU-only build; they are expected there and not errors of ours
_CPU_ONLY_NOISE = ("CUDA driver version is insufficient", "cudaError 35", "CUDA initialization failure")


_LOGGERS: dict[str, Any] = {}


def CapturingLogger(trt: Any) -> Any:
    """The process-wide logger for a TensorRT module (TensorRT keeps the first logger it is given and ignores
    later ones, so there is exactly one per module; ``clear()`` it before work whose messages you want)."""
    if trt.__name__ not in _LOGGERS:
        _LOGGERS[trt.__name__] = _make(trt)
    return _LOGGERS[trt.__name__]


def _make(trt: Any) -> Any:

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.messages: list[str] = []
            self.interrupted = False   # a KeyboardInterrupt reached log(); the caller re-raises it

        def log(self, severity: Any, msg: str) -> None:
            try:
                self._log(severity, msg)
            except KeyboardInterrupt:   # raised here it would be printed and dropped by the bindings: keep it
                self.interrupted = True

        def _log(self, severity: Any, msg: str) -> None:
            S = trt.ILogger.Severity
            if any(s in msg for s in _CPU_ONLY_NOISE):
                log.debug("%s", msg)
                return
            if "BuildCanceled" in msg:      # our progress monitor cancelled it (Ctrl-C): the caller says so
                log.debug("%s", msg)
                return
            if severity in (S.INTERNAL_ERROR, S.ERROR):
                self.messages.append(f"[E] {msg}")
                log.error("%s", msg)
            elif severity == S.WARNING:
                self.messages.append(f"[W] {msg}")
                log.warning("%s", msg)
            elif severity == S.INFO:
                log.debug("%s", msg)

        def errors(self) -> list[str]:
            return [m for m in self.messages if m.startswith("[E]")]

        def recent(self) -> str:
            errs = self.errors()[-3:]
            return ("; TensorRT said: " + " | ".join(errs)) if errs else ""

        def clear(self) -> None:
            self.messages.clear()
            self.interrupted = False

    return _Logger()
