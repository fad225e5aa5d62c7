"""Benchmark statistics with DeepLearningExamples' semantics, and tables in DLE's column order.

As DLE's ``test_infer.py`` computes them (per measured iteration i, after dropping the warm-up ones):
- latency columns are seconds; ``std`` is the population std (``np.std``);
- the p50/p90/p95/p99 column is **the max of the lowest p% of the sorted latencies**, i.e.
  ``sorted(lat)[:n*p//100][-1]`` (DLE: ``max(latency[:int(len(latency)*p)])``); this is not numpy's
  interpolated percentile.  With fewer than 100/p iterations the lowest p% is empty; the smallest latency
  is used then;
- mels = mean_i(T_mel,i), T_mel,i the mean over the batch of each utterance's kept frames (``runtime.measures``:
  the stop frame is not counted, so ``synthesize`` prints the same mels and seconds for the same line; DLE's
  test_infer.py counts the padded output with the stop frame, one frame more);
- throughput (samples/s) = mean_i(B · T_mel,i · hop / latency_i): all utterances of a batch;
- audio seconds = mels · hop / sample_rate (per utterance: the WAV's length);
- RTF = audio seconds / average latency (per utterance, **not** multiplied by the batch size), as the
  README tables have it (6.99 s / 0.80 s = 8.74).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .measures import audio_seconds, fmt_rate, fmt_seconds

SAMPLE_RATE = 22050
HOP_LENGTH = 256
PERCENTILES = (50, 90, 95, 99)
# extra per-stage columns: key → header (values are per-iteration means, in ms)
EXTRA_COLUMNS = {"decoder_ms_per_step": "decoder ms/step", "vocoder_ms": "vocoder ms",
                 "denoiser_ms": "denoiser ms", "ttfa_ms": "TTFA ms", "ttfa_fraction": "TTFA / total",
                 "rt_margin_min": "min RT margin"}


def drop_warmup(values: Sequence[float], warmup: int) -> list[float]:
    """The measured iterations: ``values`` without the first ``warmup`` (all stats call this one place)."""
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    if len(values) <= warmup:
        raise ValueError(f"{len(values)} iterations leave none after {warmup} warm-up iterations")
    return [float(v) for v in values[warmup:]]


def dle_percentile(latencies: Sequence[float], p: int) -> float:
    """DLE's "cl p" column: the max of the lowest ``p`` percent of the sorted latencies (see module doc)."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    ordered = sorted(latencies)
    return ordered[max(len(ordered) * p // 100, 1) - 1]


@dataclass(frozen=True)
class BenchRow:
    """One table row: a framework/backend at one batch size and precision."""

    framework: str
    batch_size: int
    precision: str
    latency_avg: float
    latency_std: float
    percentiles: Mapping[int, float]
    throughput: float
    mels: float
    audio_seconds: float
    rtf: float
    latencies: tuple[float, ...] = ()
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d = {"framework": self.framework, "batch_size": self.batch_size, "precision": self.precision,
             "iterations": len(self.latencies), "latency_avg_s": self.latency_avg,
             "latency_std_s": self.latency_std}
        d.update({f"latency_p{p}_s": v for p, v in self.percentiles.items()})
        d.update({"throughput_samples_per_s": self.throughput, "mels": self.mels,
                  "audio_seconds": self.audio_seconds, "rtf": self.rtf, **dict(self.extra),
                  "latencies_s": list(self.latencies)})
        return d


def summarize(latencies_s: Sequence[float], mels: Sequence[int] | int, *, batch_size: int, warmup: int,
              framework: str, precision: str, sample_rate: int = SAMPLE_RATE, hop_length: int = HOP_LENGTH,
              extra: Mapping[str, Sequence[float]] | None = None) -> BenchRow:
    """A :class:`BenchRow` from all iterations' latencies (s) and mel lengths; the first ``warmup`` are dropped.

    ``mels`` is per iteration (or one int for all); ``extra`` maps a column key (see ``EXTRA_COLUMNS``) to
    per-iteration values, averaged over the measured iterations.
    """
    lat = np.asarray(drop_warmup(latencies_s, warmup))
    per_iter = [int(mels)] * (len(lat) + warmup) if isinstance(mels, (int, np.integer)) else list(mels)
    if len(per_iter) != len(lat) + warmup:
        raise ValueError(f"{len(per_iter)} mel lengths for {len(lat) + warmup} iterations")
    frames = np.asarray(drop_warmup(per_iter, warmup))
    if (lat <= 0).any():
        raise ValueError("latencies must be positive seconds")
    avg_mels = float(frames.mean())
    audio = audio_seconds(avg_mels, hop_length, sample_rate)
    avg = float(lat.mean())
    extras = {k: float(np.mean(drop_warmup(v, warmup))) for k, v in (extra or {}).items()}
    return BenchRow(framework=framework, batch_size=batch_size, precision=precision, latency_avg=avg,
                    latency_std=float(lat.std()), percentiles={p: dle_percentile(lat, p) for p in PERCENTILES},
                    throughput=float(np.mean(batch_size * frames * hop_length / lat)), mels=avg_mels,
                    audio_seconds=audio, rtf=audio / avg, latencies=tuple(float(v) for v in lat), extra=extras)


def _cells(row: BenchRow, extra_keys: Sequence[str]) -> list[str]:
    cells = [row.framework, str(row.batch_size), row.precision,
             *(f"{v:.4f}" for v in (row.latency_avg, row.latency_std, *row.percentiles.values())),
             fmt_rate(row.throughput), f"{row.mels:.0f}", fmt_seconds(row.audio_seconds), f"{row.rtf:.2f}"]
    cells += [f"{row.extra[k]:.3f}" if k in row.extra and math.isfinite(row.extra[k]) else "" for k in extra_keys]
    return cells


def format_table(rows: Sequence[BenchRow]) -> str:
    """A Markdown table in DLE's column order, then the extra columns any row has."""
    extra_keys = [k for k in EXTRA_COLUMNS if any(k in r.extra for r in rows)]
    extra_keys += sorted({k for r in rows for k in r.extra} - set(extra_keys))
    header = ["framework", "bs", "precision", "avg latency (s)", "std (s)",
              *(f"p{p} (s)" for p in PERCENTILES), "samples/s", "mels", "audio (s)", "RTF",
              *(EXTRA_COLUMNS.get(k, k) for k in extra_keys)]
    return markdown_table(header, [_cells(r, extra_keys) for r in rows])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table whose columns are padded to their widest cell (aligned in a terminal for any name
    length); every bench table, local or Triton, is printed through this."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    widths = [max(w, 3) for w in widths]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |" for cells in lines)


def to_json(rows: Sequence[BenchRow], **context: Any) -> str:
    """The rows (and ``context`` such as GPU name, TensorRT version) as indented JSON."""
    return json.dumps({**context, "rows": [r.to_json() for r in rows]}, indent=2)
