"""PyTorch at its best, for ``trtnet bench``: the independent reference with its decoder step captured once as a
CUDA graph and replayed (``pytorch-graph``), or compiled by Inductor first (``pytorch-compile``).

- Decoder: :class:`~trtnet.verify.step_loop.DeviceDecoder` (the step and DLE's stop rule on the device, the stop
  flag read back every ``readback_every`` steps), one graph per (batch, text length).
- Postnet, vocoder and denoiser: one CUDA graph each per input shape (captured on first sight of a shape), their
  input copied into the graph's input buffer before each replay; with ``compile`` each is an Inductor-compiled
  function (``torch.compile(dynamic=False)``) captured the same way.
- Encoder: eager in both (once per utterance; its packed BiLSTM reads the lengths on the host).
- Randomness as in the eager PyTorch row: prenet dropout on (F.dropout), WaveGlow noise drawn inside the vocoder;
  under a graph both come from PyTorch's graph-safe generator, new values every replay.
- WaveGlow's inverse 1×1 weights W⁻¹ are inverted once and kept (as DLE's own WaveGlow caches them), since an
  inversion per call synchronises the device and cannot be captured.

Compilation and capture happen in :meth:`Anchor.prepare` (timed apart as ``prepare_s``), not in the measured
iterations.  Needs a CUDA device."""

from __future__ import annotations

import time
from typing import Any, Callable

import torch

from .step_loop import DeviceDecoder

KINDS = ("graph", "compile")
WARM_CALLS = 3     # eager calls on a side stream before a capture (cuBLAS / cuDNN workspaces, compilation)


class AnchorUnavailable(RuntimeError):
    """This anchor cannot run here (no CUDA device)."""


def check_device(device: str) -> None:
    """Raise :class:`AnchorUnavailable` unless ``device`` is a CUDA device this machine has."""
    if not str(device).startswith("cuda"):
        raise AnchorUnavailable(f"runs CUDA graphs: needs --device cuda (got --device {device})")
    if not torch.cuda.is_available():
        raise AnchorUnavailable("runs CUDA graphs: no CUDA GPU on this machine (torch.cuda.is_available() is False)")


def capture(fn: Callable[..., Any], *args: Any) -> tuple[torch.cuda.CUDAGraph, Any]:
    """(graph, outputs) of ``fn(*args)`` captured once, after ``WARM_CALLS`` calls on a side stream."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(WARM_CALLS):
            fn(*args)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn(*args)
    return graph, out


class ShapeGraphs:
    """``fn(x)`` replayed from one CUDA graph per shape of ``x`` (returns the graph's output buffer)."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], compile: bool):
        self.eager, self.fn = fn, (torch.compile(fn, dynamic=False) if compile else fn)
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, torch.Tensor, torch.Tensor]] = {}

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype)
        if key not in self.graphs:
            static = x.clone()
            self.eager(static)      # fills the parts' own caches (the STFT's window sums) outside the capture
            graph, out = capture(self.fn, static)
            self.graphs[key] = (graph, static, out)
        graph, static, out = self.graphs[key]
        static.copy_(x)
        graph.replay()
        return out


def count_kernels(fn: Callable[[], Any]) -> int:
    """GPU activities (kernels, copies, fills) the profiler records during one ``fn()``."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(1 for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA)


def cache_inverse_weights(vocoder: Any) -> None:
    """WaveGlow: each flow's W⁻¹ computed once (DLE caches it too); other vocoders are left alone."""
    for conv in getattr(vocoder, "convinv", ()):
        w_inv = conv.inverse_weight()
        conv.inverse_weight = lambda w=w_inv: w


class Anchor:
    """The reference pipeline (Tacotron 2 → vocoder → denoiser) with its parts captured (``kind`` "graph") or
    compiled and captured ("compile"); models already on the device in their dtype.  ``dropout``: the prenet's,
    "on" as DLE runs it ("off" for exact comparisons)."""

    def __init__(self, kind: str, t2: Any, vocoder: Any, vocode: Callable[[Any, Any], Any], denoiser: Any, *,
                 strength: float, readback_every: int, dropout: str = "on"):
        if kind not in KINDS:
            raise ValueError(f"anchor kind must be one of {KINDS}, got {kind!r}")
        if readback_every < 1:
            raise ValueError(f"readback_every must be >= 1, got {readback_every}")
        self.kind, self.t2, self.readback_every, self.dropout = kind, t2, int(readback_every), dropout
        compile = kind == "compile"
        cache_inverse_weights(vocoder)
        self.postnet = ShapeGraphs(t2.postnet, compile)
        self.vocode = ShapeGraphs(lambda mel: vocode(vocoder, mel), compile)
        self.denoise = ShapeGraphs(lambda audio: denoiser(audio.float(), strength), compile)
        self.decoders: dict[tuple[int, int], tuple[DeviceDecoder, Callable[[], None]]] = {}
        self.kernels_per_step: int | None = None
        self.overrun_steps = 0

    def _decoder(self, batch: int, t_in: int, dtype: torch.dtype, device: torch.device):
        key = (batch, t_in)
        if key not in self.decoders:
            cfg = self.t2.config
            dec = DeviceDecoder(self.t2, batch, t_in, max_steps=cfg.max_decoder_steps, threshold=cfg.gate_threshold,
                                dtype=dtype, device=device, dropout=self.dropout)
            body = torch.compile(dec.body, dynamic=False) if self.kind == "compile" else dec.body
            args = dec.args()
            graph, _ = capture(body, *args)
            self.kernels_per_step = count_kernels(graph.replay) or count_kernels(lambda: body(*args))
            self.decoders[key] = (dec, graph.replay)
        return self.decoders[key]

    @torch.no_grad()
    def infer(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, Any]:
        """DLE ``Tacotron2.infer`` on the anchor: mel_postnet [B, n_mel, T], mel_lengths [B] (stop frame not
        counted, as the reference's), n_steps."""
        memory, processed = self.t2.encode(tokens, lengths)
        mask = self.t2.padding_mask(lengths.to(memory.device), memory.shape[1])
        dec, step = self._decoder(memory.shape[0], memory.shape[1], memory.dtype, memory.device)
        dec.reset(memory, processed, mask)
        n_steps, run = dec.run(step, self.readback_every)
        self.overrun_steps = run - n_steps
        return {"mel_postnet": self.postnet(dec.mel(n_steps).contiguous()), "mel_lengths": dec.mel_lengths.clone(),
                "n_steps": n_steps}

    @torch.no_grad()
    def prepare(self, tokens: torch.Tensor, lengths: torch.Tensor) -> float:
        """Compile and capture every part for these inputs' shapes (one synthesis); returns the seconds it took."""
        t0 = time.perf_counter()
        out = self.infer(tokens, lengths)
        self.denoise(self.vocode(out["mel_postnet"]))
        torch.cuda.synchronize()
        return time.perf_counter() - t0
