"""Progress from the library, which never prints: a caller passes a hook and gets one :class:`ProgressEvent` per
network load and per network run (each decoder chunk, each per-step call, each vocoder pass), emulated, engine
and eager alike.  The CLI renders them (``tools/progress.py``); a server may log or ignore them.

    sessions = observe(backend.sessions, hook)        # same keys; each run reports "start" then "end"
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .sessions import SessionLike


@dataclass(frozen=True)
class ProgressEvent:
    kind: str                 # "load" (a network opened), "start" / "end" (one run of a network)
    network: str              # the session's name: encoder, decoder-loop, decoder-chunk, waveglow, ...
    seconds: float = 0.0      # load / end: how long it took; start: 0
    count: int = 0            # end: runs of this network so far (1-based)


ProgressHook = Callable[[ProgressEvent], None]


class ObservedSession:
    """``session`` whose ``run`` reports to ``hook``; everything else (``io``, ``swap``, ...) is the session's."""

    def __init__(self, name: str, session: SessionLike, hook: ProgressHook) -> None:
        self._name, self._session, self._hook, self._count = name, session, hook, 0

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._session, attr)

    def run(self, feeds: Mapping[str, Any], **kw: Any) -> dict:
        self._hook(ProgressEvent("start", self._name))
        t0 = time.perf_counter()
        out = self._session.run(feeds, **kw)
        self._count += 1
        self._hook(ProgressEvent("end", self._name, time.perf_counter() - t0, self._count))
        return out


def observe(sessions: Mapping[str, SessionLike], hook: ProgressHook | None) -> dict:
    """``sessions`` with each run reported to ``hook`` (``None``: the sessions unchanged)."""
    if hook is None:
        return dict(sessions)
    return {name: ObservedSession(name, s, hook) for name, s in sessions.items()}
