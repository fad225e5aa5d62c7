"""The pytorch-graph / pytorch-compile rows of ``trtnet bench`` (used by bench_rows): run, or skipped with the
reason (no CUDA GPU)."""

from __future__ import annotations

import argparse
import logging
from typing import Any, Callable

log = logging.getLogger("trtnet.bench")
KIND = {"pytorch-graph": "graph", "pytorch-compile": "compile"}


def anchor_rows(args: argparse.Namespace, backends: list[str], reference: tuple[Any, Any, Any, Any],
                text: str, phase: Callable[[str], None] = lambda _: None) -> tuple[list, list[str]]:
    """(rows, skipped reasons) of ``backends`` (a subset of ``KIND``) over the reference's models; ``phase`` is
    told each row's name before its work (tools.progress's ``set_phase``)."""
    from trtnet.verify.anchors import AnchorUnavailable, check_device
    from trtnet.verify.bench import bench_anchor
    from .common import text_frontend
    rows, skipped = [], []
    for b in backends:
        try:
            check_device(args.device)
        except AnchorUnavailable as e:
            skipped.append(f"{b}: {e}")
            continue
        phase(b)
        log.info("%s: %s the reference's decoder step, postnet, vocoder and denoiser, then timing (stop flag read "
                 "every %d steps)", b, "compiling (Inductor) and capturing" if KIND[b] == "compile" else "capturing",
                 args.readback_every)
        rows += bench_anchor(KIND[b], *reference, text, args.batch_size or [1], args.iterations, args.warmup,
                             device=args.device, precision=args.precision, strength=args.denoiser_strength,
                             readback_every=args.readback_every, frontend=text_frontend(args))
    return rows, skipped
