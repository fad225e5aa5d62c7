"""What the pipeline and the host loop need of a session: ``run(feeds) -> outputs`` by name, and its I/O spec.

Sessions are TensorRT engine sessions (``trtnet.runtime.session.Session``, I/O from the plan's sidecar) or the
eager twins (``trtnet.engines.eager.EagerNetwork``, I/O from a declaration run).  Numpy only.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

import numpy as np

from ..iospec import IOSpec


class SessionLike(Protocol):
    io: IOSpec

    def run(self, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]: ...


def conform(session: SessionLike, feeds: Mapping[str, Any]) -> dict[str, Any]:
    """Cast float feeds to the dtypes the session declares, so one pipeline drives FP32 and FP16 networks."""
    io = getattr(session, "io", None)
    if io is None:
        return dict(feeds)
    want = {s.name: s.dtype for s in io.inputs if not s.is_shape_tensor}
    out = {}
    for k, v in feeds.items():
        arr = np.asarray(v)
        out[k] = arr.astype(want[k]) if k in want and arr.dtype.kind == "f" and arr.dtype.name != want[k] else arr
    return out


def run(session: SessionLike, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return session.run(conform(session, feeds))
