"""Errors about a missing capability name the flag, port or package that provides it."""

from __future__ import annotations

import http.server
import threading

import pytest

from trtnet.tools.cli import main


def test_export_hint_without_tritonserver_says_how_to_serve(monkeypatch, tmp_path):
    from trtnet.tools.cmd_export_triton import serve_hint
    monkeypatch.setenv("PATH", str(tmp_path))                  # no tritonserver anywhere
    said = serve_hint(tmp_path / "repo")
    assert "trtnet serve" in said and "pip install nvidia-pytriton" in said and "nvcr.io/nvidia/tritonserver" in said
    exe = tmp_path / "tritonserver"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert serve_hint(tmp_path / "repo").startswith(f"serve it: tritonserver --model-repository {tmp_path / 'repo'}")


def test_stream_to_an_http_port_says_streaming_uses_the_grpc_port(tmp_path, capsys):
    pytest.importorskip("tritonclient.grpc", reason="the gRPC client ships in the [serve] extra")
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)   # an HTTP-only port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lines = tmp_path / "l.txt"
    lines.write_text("hello\n")
    try:
        url = f"127.0.0.1:{server.server_address[1]}"
        assert main(["synthesize", "-i", str(lines), "-o", str(tmp_path / "o"), "--triton-url", url, "--stream"]) == 2
    finally:
        server.shutdown()
        server.server_close()
    err = capsys.readouterr().err
    assert "ConnectionError" in err and "gRPC port (8001 by default" in err and "--triton-url HOST:8001" in err
    assert not (tmp_path / "o").exists()
