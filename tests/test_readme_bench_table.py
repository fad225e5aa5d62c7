"""The README's GPU PyTorch table is docs/bench/readme_table.py's output from the committed JSON, unedited."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "docs" / "bench" / "readme_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_table_equals_the_script_output_from_the_committed_json():
    mod = _script()
    text = (ROOT / "README.md").read_text()
    if not list((ROOT / "docs" / "bench").glob(mod.PATTERN)):
        assert mod.BEGIN not in text, "the README has a generated table but no JSON it came from is committed"
        pytest.skip(f"no docs/bench/{mod.PATTERN} committed yet (docs/bench/gpu_pytorch.sh on a GPU makes them)")
    assert text.count(mod.BEGIN) == 1 and text.count(mod.END) == 1
    block = text.split(mod.BEGIN)[1].split(mod.END)[0].strip("\n")
    assert block == mod.table(), "README table differs: run python3 docs/bench/readme_table.py --write README.md"


def _row(framework, bs, precision, latency, **extra):
    return {"framework": framework, "batch_size": bs, "precision": precision, "latency_avg_s": latency,
            "latency_p90_s": latency * 1.1, "mels": 569.0, "rtf": 6.6 / latency, "decoder_ms_per_step": 0.5,
            "vocoder_ms": 40.0, "denoiser_ms": 3.0, **extra}


def test_table_orders_rows_and_marks_columns_a_row_lacks(tmp_path):
    mod = _script()
    gpu = "NVIDIA H200"
    (tmp_path / "h200_pytorch_fp16_waveglow.json").write_text(json.dumps({"vocoder": "waveglow", "gpu": gpu, "rows": [
        _row("PyTorch compiled", 1, "fp16", 0.2, kernels_per_step=30.0, prepare_s=41.25),
        _row("PyTorch reference", 4, "fp16", 0.6), _row("PyTorch reference", 1, "fp16", 0.5)]}))
    (tmp_path / "h200_pytorch_fp16_hifigan.json").write_text(json.dumps({"vocoder": "hifigan", "gpu": gpu, "rows": [
        _row("PyTorch CUDA graph", 1, "fp16", 0.25, kernels_per_step=80.0, prepare_s=1.04)]}))
    lines = mod.table(tmp_path).splitlines()
    assert [ln.split(" | ")[:3] for ln in lines[2:]] == [
        ["| PyTorch CUDA graph", "H200", "HiFi-GAN"], ["| PyTorch reference", "H200", "WaveGlow"],
        ["| PyTorch compiled", "H200", "WaveGlow"], ["| PyTorch reference", "H200", "WaveGlow"]]
    assert [ln.split(" | ")[3] for ln in lines[2:]] == ["1", "1", "1", "4"]
    assert lines[3].endswith("| 0.500 | 40.0 | 3.0 | — | — |") and lines[4].endswith("| 30 | 41.2 |")
    with pytest.raises(FileNotFoundError, match="no \\*_pytorch_"):
        mod.table(tmp_path / "none")


def test_write_replaces_only_the_block_and_refuses_without_markers(tmp_path):
    mod = _script()
    text = f"intro\n{mod.BEGIN}\nold table\n{mod.END}\noutro\n"
    assert mod.replace_block(text, "new") == f"intro\n{mod.BEGIN}\nnew\n{mod.END}\noutro\n"
    with pytest.raises(ValueError, match="expected one"):
        mod.replace_block("no markers here", "new")
