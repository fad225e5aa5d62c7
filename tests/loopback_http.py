"""A loopback HTTP server for download tests (127.0.0.1, port 0, one thread): each route serves bytes with a
behaviour (Range support, a body cut short, a redirect, 404, HTML), and every request is logged."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Route:
    body: bytes = b""
    ranges: bool = True            # honour Range: bytes=N-
    cut_first: int = 0             # the first N responses stop half-way (Content-Length still the whole)
    status: int = 200
    location: str | None = None    # a 302 to this path
    content_type: str = "application/octet-stream"
    etag: str = '"v1"'


@dataclass
class Server:
    port: int
    routes: dict[str, Route]
    log: list[tuple[str, str | None]] = field(default_factory=list)   # (path, Range header)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            server.log.append((self.path, self.headers.get("Range")))
            route = server.routes.get(self.path.split("?")[0]) or server.routes.get(self.path)
            if route is None or route.status == 404:
                self.send_error(404, "Not Found")
                return
            if route.location:
                self.send_response(302)
                self.send_header("Location", route.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = 0
            m = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
            if route.ranges and m:
                start = int(m.group(1))
                if start >= len(route.body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(route.body)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(route.body) - 1}/{len(route.body)}")
            else:
                self.send_response(200)
            body = route.body[start:]
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", route.etag)
            if route.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if route.cut_first > 0:
                route.cut_first -= 1
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Server]:
    server = Server(0, routes)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def clear_proxies(monkeypatch) -> None:
    """Keep a test's traffic on the loopback server, whatever proxy the machine has."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
