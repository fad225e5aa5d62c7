"""Benchmark statistics against hand-computed numbers (DLE semantics)."""

import json
import math

import pytest

from trtnet.runtime import stats

# 2 warm-up iterations (huge, must vanish), then 0.1 .. 1.0 s in shuffled order
LATENCIES = [9.0, 9.0, 0.3, 1.0, 0.1, 0.7, 0.5, 0.9, 0.2, 0.8, 0.4, 0.6]


def test_drop_warmup_is_explicit():
    assert stats.drop_warmup([5, 1, 2], 1) == [1.0, 2.0]
    with pytest.raises(ValueError, match="none after 3 warm-up"):
        stats.drop_warmup([1, 2, 3], 3)
    with pytest.raises(ValueError, match=">= 0"):
        stats.drop_warmup([1, 2], -1)


def test_dle_percentile_is_max_of_lowest_share():
    lat = [0.3, 1.0, 0.1, 0.7, 0.5, 0.9, 0.2, 0.8, 0.4, 0.6]
    # n=10: lowest 50% = 5 values -> 0.5; 90%, 95%, 99% -> 9 values -> 0.9 (never the max 1.0)
    assert stats.dle_percentile(lat, 50) == 0.5
    assert stats.dle_percentile(lat, 90) == 0.9
    assert stats.dle_percentile(lat, 95) == 0.9
    assert stats.dle_percentile(lat, 99) == 0.9
    assert stats.dle_percentile(lat, 100) == 1.0
    # n=200: 99% -> 198 values -> the 198th smallest
    assert stats.dle_percentile(list(range(200, 0, -1)), 99) == 198
    # fewer iterations than 100/p: the smallest, instead of DLE's max() of an empty list
    assert stats.dle_percentile([3.0, 2.0], 10) == 2.0
    with pytest.raises(ValueError):
        stats.dle_percentile(lat, 0)


def test_summarize_known_numbers():
    row = stats.summarize(LATENCIES, 100, batch_size=2, warmup=2, framework="trtnet", precision="fp16")
    assert row.latency_avg == pytest.approx(0.55)
    assert row.latency_std == pytest.approx(math.sqrt(0.0825))          # population std of 0.1..1.0
    assert dict(row.percentiles) == {50: 0.5, 90: 0.9, 95: 0.9, 99: 0.9}
    inv = sum(1 / (k / 10) for k in range(1, 11)) / 10                  # mean(1 / latency)
    assert row.throughput == pytest.approx(2 * 100 * 256 * inv)        # B * T_mel * hop / latency, averaged
    assert row.mels == 100
    assert row.audio_seconds == pytest.approx(100 * 256 / 22050)
    assert row.rtf == pytest.approx((100 * 256 / 22050) / 0.55)        # per utterance: not times the batch
    assert len(row.latencies) == 10 and 9.0 not in row.latencies


def test_summarize_per_iteration_mels_and_extras():
    lat = [1.0, 0.5, 0.25]
    row = stats.summarize(lat, [999, 600, 604], batch_size=1, warmup=1, framework="f", precision="fp32",
                          extra={"vocoder_ms": [100.0, 10.0, 20.0], "decoder_ms_per_step": [1, 0.3, 0.5]})
    assert row.mels == 602
    assert row.throughput == pytest.approx((600 * 256 / 0.5 + 604 * 256 / 0.25) / 2)
    assert row.extra == {"vocoder_ms": 15.0, "decoder_ms_per_step": 0.4}
    with pytest.raises(ValueError, match="2 mel lengths for 3"):
        stats.summarize(lat, [1, 2], batch_size=1, warmup=1, framework="f", precision="fp32")
    with pytest.raises(ValueError, match="positive"):
        stats.summarize([1.0, 0.0], 5, batch_size=1, warmup=0, framework="f", precision="fp32")


def test_dle_a100_row_reproduces_audio_and_rtf():
    """DLE README A100 bs1 FP16: 602 mels -> 6.99 s of audio; 0.80 s latency -> RTF 8.74."""
    row = stats.summarize([0.80] * 4, 602, batch_size=1, warmup=1, framework="PyTorch", precision="FP16")
    assert f"{row.audio_seconds:.2f}" == "6.99"
    assert f"{row.rtf:.2f}" == "8.74"
    assert f"{row.throughput:,.0f}" == "192,640"   # 602*256/0.8; DLE's 192,086 averages varying latencies


def test_format_table_columns_in_dle_order():
    a = stats.summarize(LATENCIES, 100, batch_size=2, warmup=2, framework="trtnet engine loop", precision="fp16",
                        extra={"vocoder_ms": [1.0] * 12, "denoiser_ms": [0.5] * 12})
    b = stats.summarize(LATENCIES, 100, batch_size=1, warmup=2, framework="per-step loop", precision="fp32",
                        extra={"decoder_ms_per_step": [0.25] * 12})
    lines = stats.format_table([a, b]).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["framework", "bs", "precision", "avg latency (s)", "std (s)", "p50 (s)", "p90 (s)",
                      "p95 (s)", "p99 (s)", "samples/s", "mels", "audio (s)", "RTF",
                      "decoder ms/step", "vocoder ms", "denoiser ms"]
    first = [c.strip() for c in lines[2].strip("|").split("|")]
    assert first[:4] == ["trtnet engine loop", "2", "fp16", "0.5500"]
    assert first[-3:] == ["", "1.000", "0.500"]
    second = [c.strip() for c in lines[3].strip("|").split("|")]
    assert second[-3:] == ["0.250", "", ""]
    assert len(lines) == 4


def test_to_json_round_trips():
    row = stats.summarize(LATENCIES, 100, batch_size=2, warmup=2, framework="x", precision="fp16")
    data = json.loads(stats.to_json([row], gpu="NVIDIA H100", trt_version="10.13"))
    assert data["gpu"] == "NVIDIA H100"
    r = data["rows"][0]
    assert r["iterations"] == 10 and r["latency_p90_s"] == 0.9 and r["batch_size"] == 2
    assert r["rtf"] == pytest.approx(row.rtf)
