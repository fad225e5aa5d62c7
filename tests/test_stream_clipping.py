"""Streamed audio is not peak-normalised: samples beyond ±1 clip at 16 bits, so each line that clips gets a
warning with the percentage, and ``--limiter soft`` keeps every sample inside (0.9 knee, never 1)."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from trtnet.runtime.limiter import KNEE, clipped, soft_limit
from trtnet.runtime.wav import read_wav
from trtnet.tools.cli import main


@pytest.fixture
def loud(monkeypatch):
    """Every streamed chunk 40× louder, so a demo line surely clips."""
    from trtnet.runtime.pipeline import Pipeline
    original = Pipeline.stream

    def stream(self, *a, **kw):
        for c in original(self, *a, **kw):
            c.audio = c.audio * np.float32(40.0)
            yield c
    monkeypatch.setattr(Pipeline, "stream", stream)


def _run(tmp_path, name, *extra):
    lines = tmp_path / "l.txt"
    lines.write_text("Hello world.\n")
    out = tmp_path / name
    assert main(["synthesize", "-i", str(lines), "-o", str(out), "--backend", "eager", "--demo-size", "small",
                 "--dropout", "off", "--stream", *extra]) == 0
    audio, _ = read_wav(out / "audio_0.wav")
    return audio


def test_stream_that_clips_warns_with_the_percentage(loud, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    audio = _run(tmp_path, "a")
    said = [r.getMessage() for r in caplog.records if "clipped" in r.getMessage()]
    assert len(said) == 1 and "--limiter soft" in said[0], said
    percent = float(re.search(r"([\d.]+) % of its samples clipped", said[0]).group(1))
    at_full_scale = np.count_nonzero(np.abs(audio) >= 32767 / 32768) / audio.size
    assert percent == pytest.approx(100 * at_full_scale, abs=0.1) and percent > 1


def test_limiter_soft_keeps_every_sample_inside_and_warns_of_nothing(loud, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    audio = _run(tmp_path, "b", "--limiter", "soft")
    assert not [r for r in caplog.records if "clipped" in r.getMessage()]
    assert np.abs(audio).max() < 1.0 and np.abs(audio).max() > KNEE


def test_soft_limit_is_identity_below_the_knee_and_continuous():
    x = np.linspace(-50, 50, 200001, dtype=np.float32)
    y = soft_limit(x)
    assert clipped(y) == 0 and np.abs(y).max() <= 1.0
    assert np.abs(soft_limit(np.float32([1.5]))) < 1.0                       # strictly inside near the knee
    inside = np.abs(x) <= KNEE
    assert np.array_equal(y[inside], x[inside])
    assert np.abs(np.diff(y)).max() <= np.abs(np.diff(x)).max() + 1e-6      # slope ≤ 1: no jumps
    assert clipped(np.array([1.5, -1.01, 1.0, 0.2])) == 2


def test_limiter_without_stream_is_refused(tmp_path, capsys):
    lines = tmp_path / "l.txt"
    lines.write_text("Hello.\n")
    assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--backend", "eager", "--demo-size",
                 "small", "--limiter", "soft"]) == 2
    assert "--limiter is for --stream" in capsys.readouterr().err
