"""The CLI takes URLs and published names for weights: build-engines from checkpoints served by a loopback HTTP
server, trtnet fetch [--list], extract-weights offline (one line), and the README's table equals the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopback_http import Route, clear_proxies, closed_port, serve
from trtnet.files import file_sha256
from trtnet.tools.cli import main
from trtnet.weights.demo import write_demo_checkpoints
from trtnet.weights.published import markdown_table, registry

README = Path(__file__).resolve().parents[1] / "README.md"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    clear_proxies(monkeypatch)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    paths = write_demo_checkpoints(tmp_path_factory.mktemp("src"), "small")
    with serve({f"/{k}.pt": Route(p.read_bytes()) for k, p in paths.items()}) as srv:
        yield srv, paths


def test_build_engines_from_urls(served, tmp_path, capsys):
    srv, paths = served
    cache = tmp_path / "cache"
    assert main(["build-engines", "--tacotron2", srv.url("/tacotron2.pt"), "--waveglow", srv.url("/waveglow.pt"),
                 "-o", str(tmp_path / "engines"), "--demo-size", "small", "--cache-dir", str(cache),
                 "--precision", "fp32", "--optimization-level", "0", "--max-text-len", "64",
                 "--max-decoder-steps", "150", "--engines", "postnet,denoiser"]) == 0
    assert "postnet" in capsys.readouterr().out
    cfg = json.loads((tmp_path / "engines" / "build_config.json").read_text())
    for arch in ("tacotron2", "waveglow"):
        got = cfg["inputs"][arch]
        assert not got["demo"] and got["checkpoint_sha256"] == file_sha256(paths[arch])
        assert Path(got["checkpoint"]).is_relative_to(cache / "downloads")
    assert sorted(p for p, _ in srv.log) == ["/tacotron2.pt", "/waveglow.pt"]


def test_fetch_downloads_and_lists(served, tmp_path, capsys):
    srv, paths = served
    assert main(["fetch", srv.url("/waveglow.pt"), "--cache-dir", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(srv.url("/waveglow.pt") + ": ") and file_sha256(paths["waveglow"]) in line
    assert main(["fetch", "--list"]) == 0
    listed = [row.split()[0] for row in capsys.readouterr().out.splitlines()[1:-1]]
    assert listed == list(registry())


def test_extract_weights_offline_is_one_line(tmp_path, capsys):
    url = f"http://127.0.0.1:{closed_port()}/nvidia_tacotron2pyt_fp32_20190427"
    assert main(["extract-weights", url, "-o", str(tmp_path / "t2.h5"), "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and url in err and "pass the local file instead" in err
    assert not (tmp_path / "t2.h5").exists()


def test_a_name_given_to_the_wrong_flag_is_refused_before_any_download(tmp_path, capsys):
    assert main(["build-engines", "--tacotron2", "waveglow-dle-fp32", "-o", str(tmp_path / "e"),
                 "--cache-dir", str(tmp_path), "--engines", "postnet"]) == 2
    assert "is a waveglow model, not tacotron2" in capsys.readouterr().err
    assert not (tmp_path / "downloads").exists()


def test_readme_table_is_the_registry():
    section = README.read_text().split("## Real speech", 1)[1].split("\n## ", 1)[0]
    assert markdown_table() in section
