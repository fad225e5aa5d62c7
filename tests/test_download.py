"""Downloads into the weights cache against a loopback HTTP server: whole, resumed with Range, restarted when
the server ignores Range, 404, a body cut short, a redirect, a zip, a wrong pinned sha256, proxies, no network;
and never anything partial under the final name."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from types import SimpleNamespace

import pytest

from loopback_http import Route, clear_proxies, closed_port, serve
from trtnet.weights.download import DownloadError, download, record_path
from trtnet.weights.errors import ArchitectureError, CheckpointError
from trtnet.weights.published import Published
from trtnet.weights.remote import download_dir, locate
from trtnet.weights.unpack import unpack

BODY = os.urandom(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    clear_proxies(monkeypatch)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_whole_download_records_size_and_sha256_and_is_reused(tmp_path):
    with serve({"/ckpt.pt": Route(BODY)}) as srv:
        out = download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt")
        assert out.read_bytes() == BODY
        assert json.loads(record_path(out).read_text()) == {"url": srv.url("/ckpt.pt"), "size": len(BODY),
                                                            "sha256": SHA}
        download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt")
        assert len(srv.log) == 1                          # reused: no second request
        out.write_bytes(b"x" + BODY[1:])                  # same size, other bytes: the recorded hash catches it
        download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt")
        assert len(srv.log) == 2 and out.read_bytes() == BODY
    assert not (tmp_path / "ckpt.pt.part").exists()


def test_a_body_cut_short_is_resumed_with_range(tmp_path):
    with serve({"/ckpt.pt": Route(BODY, cut_first=1)}) as srv:
        out = download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt")
        assert out.read_bytes() == BODY
        assert srv.log == [("/ckpt.pt", None), ("/ckpt.pt", f"bytes={len(BODY) // 2}-")]


def test_a_partial_file_left_by_an_earlier_run_is_resumed_and_the_bar_counts_every_byte(tmp_path):
    (tmp_path / "ckpt.pt.part").write_bytes(BODY[:1000])
    bars: list = []

    @contextlib.contextmanager
    def progress(total, desc):
        bars.append([total, desc])
        yield SimpleNamespace(update=lambda n: bars[-1].append(n))
    with serve({"/ckpt.pt": Route(BODY)}) as srv:
        assert download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt", progress=progress).read_bytes() == BODY
        assert srv.log == [("/ckpt.pt", "bytes=1000-")]
    (total, desc, first, *rest), = bars
    assert (total, desc, first, sum(rest)) == (len(BODY), "ckpt.pt", 1000, len(BODY) - 1000)


def test_a_server_without_range_support_restarts_from_zero(tmp_path):
    (tmp_path / "ckpt.pt.part").write_bytes(b"stale bytes that must not survive")
    with serve({"/ckpt.pt": Route(BODY, ranges=False)}) as srv:
        assert download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt").read_bytes() == BODY
        assert srv.log[0][1] is not None                  # asked for a range, got the whole file


def test_404_is_one_line_naming_the_url_and_leaves_nothing(tmp_path):
    with serve({}) as srv:
        with pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:\d+/gone\.pt: HTTP 404") as e:
            download(srv.url("/gone.pt"), tmp_path / "gone.pt")
    assert "\n" not in str(e.value) and not (tmp_path / "gone.pt").exists()


def test_a_body_always_cut_short_fails_and_keeps_only_the_part_file(tmp_path):
    with serve({"/ckpt.pt": Route(BODY, ranges=False, cut_first=99)}) as srv:
        with pytest.raises(DownloadError, match=f"ended after {len(BODY) // 2} of {len(BODY)} bytes 3 times"):
            download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt")
    assert not (tmp_path / "ckpt.pt").exists() and not record_path(tmp_path / "ckpt.pt").exists()
    assert (tmp_path / "ckpt.pt.part").stat().st_size == len(BODY) // 2


def test_a_redirect_is_followed(tmp_path):
    with serve({"/latest": Route(location="/v2/ckpt.pt"), "/v2/ckpt.pt": Route(BODY)}) as srv:
        assert download(srv.url("/latest"), tmp_path / "ckpt.pt").read_bytes() == BODY
        assert [p for p, _ in srv.log] == ["/latest", "/v2/ckpt.pt"]


def test_a_wrong_pinned_sha256_deletes_the_download(tmp_path):
    with serve({"/ckpt.pt": Route(BODY)}) as srv:
        with pytest.raises(DownloadError, match=f"sha256 {SHA} is not the pinned {'0' * 64}"):
            download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt", sha256="0" * 64)
        assert not list(p for p in tmp_path.iterdir() if p.name.startswith("ckpt.pt") and p.suffix != ".json"
                        or p.name == "ckpt.pt.json")
        assert download(srv.url("/ckpt.pt"), tmp_path / "ckpt.pt", sha256=SHA).read_bytes() == BODY


def test_an_html_page_is_not_taken_for_a_checkpoint(tmp_path):
    with serve({"/drive": Route(b"<html>confirm</html>", content_type="text/html; charset=utf-8")}) as srv:
        with pytest.raises(DownloadError, match="HTML page"):
            download(srv.url("/drive"), tmp_path / "ckpt.pt")
    assert not (tmp_path / "ckpt.pt").exists()


def test_no_network_fails_in_one_line_saying_how_to_pass_a_local_file(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/ckpt.pt"
    with pytest.raises(DownloadError) as e:
        locate(url, tmp_path, model="waveglow", flag="--waveglow")
    msg = str(e.value)
    assert msg.startswith(f"cannot download {url}: ") and "\n" not in msg
    assert "pass the local file instead (e.g. --waveglow /path/to/checkpoint)" in msg
    assert not any(p.is_file() and not p.name.startswith(".") for p in tmp_path.rglob("*"))


def test_http_proxy_is_used_and_no_proxy_bypasses_it(tmp_path, monkeypatch):
    far = "http://checkpoints.invalid/ckpt.pt"           # only the proxy (loopback) ever sees this host
    with serve({far: Route(BODY)}) as proxy:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        assert download(far, tmp_path / "a.pt").read_bytes() == BODY
        assert proxy.log == [(far, None)]
    with serve({"/ckpt.pt": Route(BODY)}) as srv:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
        with pytest.raises(DownloadError, match="refused"):
            download(srv.url("/ckpt.pt"), tmp_path / "b.pt")
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        assert download(srv.url("/ckpt.pt"), tmp_path / "b.pt").read_bytes() == BODY


def test_a_zip_is_unpacked_to_the_one_checkpoint_inside(tmp_path):
    archive = _zip({"README.txt": b"notes", "model/nvidia_waveglow256pyt_fp16.pt": BODY})
    with serve({"/zip": Route(archive)}) as srv:
        got = locate(srv.url("/zip"), tmp_path)
    assert got == download_dir(tmp_path, srv.url("/zip")) / "nvidia_waveglow256pyt_fp16.pt"
    assert got.read_bytes() == BODY and json.loads(record_path(got).read_text())["sha256"] == SHA


def test_a_published_name_downloads_its_member_with_the_pinned_hash(tmp_path, monkeypatch):
    archive = _zip({"a.pt": b"other", "wanted.pt": BODY})
    with serve({"/zip": Route(archive)}) as srv:
        entry = Published("wg-test", "waveglow", "AMP", srv.url("/zip"), "wg.zip", "wanted.pt", len(archive),
                          hashlib.sha256(archive).hexdigest(), "test")
        monkeypatch.setattr("trtnet.weights.remote.lookup", {"wg-test": entry}.get)
        assert locate("wg-test", tmp_path, model="waveglow").read_bytes() == BODY
        with pytest.raises(ArchitectureError, match="'wg-test' is a waveglow model, not tacotron2"):
            locate("wg-test", tmp_path, model="tacotron2", flag="--tacotron2")
    with pytest.raises(CheckpointError, match="no published checkpoint has this name"):
        locate("wg-tset", tmp_path)


@pytest.mark.parametrize("members, problem", [
    ({"a.pt": b"1", "b.pth": b"2"}, "holds 2 matching members"),
    ({"notes.txt": b"1"}, "holds 0 matching members"),
    ({"../../evil.pt": b"1"}, "unsafe path"),
    ({"/abs/evil.pt": b"1"}, "unsafe path"),
])
def test_an_archive_without_exactly_one_safe_checkpoint_is_refused(tmp_path, members, problem):
    (tmp_path / "sub").mkdir()
    archive = tmp_path / "sub" / "x.zip"
    archive.write_bytes(_zip(members))
    with pytest.raises(CheckpointError, match=problem):
        unpack(archive)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "x.zip"]


def test_a_torch_checkpoint_zip_is_not_unpacked(tmp_path):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(_zip({"model/data.pkl": b"\x80\x02}q\x00.", "model/version": b"3\n"}))
    assert unpack(ckpt) == ckpt
