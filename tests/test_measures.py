"""One number for one thing: bench and synthesize report the same mels and seconds for the same line and
backend; build-engines, its log, build_config.json and inspect the same build time; tables stay aligned."""

from __future__ import annotations

import json
import logging

import pytest

from trtnet.runtime import stats
from trtnet.runtime.measures import audio_seconds, fmt_duration, fmt_rate, mels_of


@pytest.fixture(scope="module")
def pipe():
    from trtnet.engines.spec import BackendSpec, open_backend
    from trtnet.runtime.pipeline import Pipeline
    names = ("encoder", "decoder-loop", "decoder-chunk", "postnet", "vocoder", "vocoder-denoiser")
    b = open_backend(BackendSpec(demo_size="small", dropout="off", noise="input"), names)
    yield Pipeline(b.sessions, t2_config=b.t2_config, vocoder_config=b.vocoder_config, limits=b.limits,
                   settings=b.settings)
    b.close()


def test_bench_rows_report_the_mels_and_seconds_synthesize_writes(pipe):
    from trtnet.verify.bench import bench_pipeline, bench_stream
    text = "Hello world."
    u = next(iter(pipe.synthesize([text]))).utterances[0]
    rate, hop = pipe.vocoder_config.sampling_rate, pipe.vocoder_config.upsample_stride
    assert 0 < u.mel_length < pipe.settings.max_decoder_steps, "the gate fires, so there is a stop frame to count"
    row = bench_pipeline(pipe, text, 2, 1, 0, framework="t", precision="fp32")
    streamed = bench_stream(pipe, text, 1, 1, 0, chunk_frames=8, framework="s", precision="fp32")
    for r in (row, streamed):
        assert r.mels == u.mel_length, "bench counts the frames synthesize keeps (the stop frame is not one)"
        assert r.audio_seconds == pytest.approx(u.audio.size / rate) == audio_seconds(u.mel_length, hop, rate)
        assert r.throughput == pytest.approx(r.batch_size * u.audio.size / r.latency_avg)


def test_mels_of_is_the_mean_of_the_kept_frames():
    assert mels_of([46, 40]) == 43
    with pytest.raises(ValueError, match="empty"):
        mels_of([])


def test_table_columns_stay_aligned_for_long_names_and_rates_have_separators():
    rows = [stats.summarize([0.5, 0.5], 5000, batch_size=1, warmup=0, framework=name, precision="fp32")
            for name in ("pytorch", "trtnet hifigan-denoiser engine-stream (emulated)")]
    lines = stats.format_table(rows).splitlines()
    assert len({len(line) for line in lines}) == 1, lines
    bars = [[i for i, ch in enumerate(line) if ch == "|"] for line in lines]
    assert all(b == bars[0] for b in bars), "every column starts at the same offset"
    assert fmt_rate(rows[0].throughput) in lines[2] and "," in fmt_rate(rows[0].throughput)


def test_build_time_is_one_number_in_stdout_log_index_and_inspect(tmp_path, capsys, caplog):
    from trtnet.sidecar import Sidecar, sidecar_path
    from trtnet.tools.cli import main
    caplog.set_level(logging.INFO)
    out = tmp_path / "engines"
    assert main(["build-engines", "--demo-size", "small", "-o", str(out), "--precision", "fp32",
                 "--optimization-level", "0", "--max-text-len", "64", "--max-decoder-steps", "150",
                 "--engines", "encoder,postnet"]) == 0
    printed = capsys.readouterr().out
    index = json.loads((out / "build_config.json").read_text())["engines"]
    for name in ("encoder", "postnet"):
        side = Sidecar.read(sidecar_path(out / f"{name}.plan"))
        said = f"built in {fmt_duration(side.build_seconds)}"
        assert index[name]["build_seconds"] == side.build_seconds        # the same number, not re-rounded
        assert any(line.startswith(name) and line.endswith(said) for line in printed.splitlines()), printed
        assert any(r.getMessage().startswith(f"built {name} in {fmt_duration(side.build_seconds)} ")
                   for r in caplog.records)
        assert main(["inspect", str(out / f"{name}.plan")]) == 0
        assert said in capsys.readouterr().out


def test_build_table_stays_aligned_for_long_engine_names():
    from trtnet.tools.cmd_build import engine_lines
    engines = {name: {"plan": f"{name}.plan", "plan_bytes": n * 10**6, "cached": n > 100, "build_seconds": 0.31}
               for name, n in (("hifigan", 55.2), ("hifigan-denoiser", 139.3), ("fused", 7.0))}
    lines = engine_lines(engines)
    assert len({line.index(".plan") - len(line.split()[1]) for line in lines}) == 1, lines   # plan column
    assert len({line.index(" MB ") for line in lines}) == 1, lines                            # sizes right-aligned
    assert lines[1].endswith("cached") and lines[0].endswith("built in 0.3 s")
