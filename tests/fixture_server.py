"""A local HTTP server for download tests: serves bytes from memory or a folder, with injectable faults.

Use it as a context manager::

    with FixtureServer({"/a.bin": data}) as srv:
        srv.faults["/a.bin"] = "drop"
        download([srv.url + "/a.bin"], dest, asset="a")
        assert srv.requests[1][1] == "bytes=...-"

GET and HEAD are answered with ``Content-Length``, ``Accept-Ranges: bytes`` and single-range
support (``Range: bytes=N-`` or ``bytes=N-M``: 206 with ``Content-Range``; 416 when N is past the
end). Anything unknown is 404. Every answered request is logged in :attr:`FixtureServer.requests`
as ``(path, Range header or None, status)``.

Faults (:attr:`FixtureServer.faults`, keyed by URL path) apply to the next request of that path
only and are then removed from the dict, except ``"404"`` and ``"corrupt"``, which stay:

* ``"drop"``: headers with the full Content-Length, then about half of the body, then the
  connection is closed.
* ``"corrupt"``: the same number of bytes, every byte inverted.
* ``"404"`` / ``"500"``: that status, no body.
* ``"stall"``: headers, then a pause of :data:`STALL_S` seconds before the body.
* ``"norange"``: the Range header is ignored; 200 with the whole file.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

STALL_S = 3.0
PERMANENT_FAULTS = {"404", "corrupt"}
KNOWN_FAULTS = {"drop", "corrupt", "404", "500", "stall", "norange"}
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    """Answers one request (HTTP/1.0: one request per connection, so no keep-alive thread lingers)."""

    server: _Server
    timeout = 10  # a client that connects and sends nothing cannot hold a thread for long

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        fixture = self.server.fixture
        path = unquote(urlsplit(self.path).path)
        range_header = self.headers.get("Range")
        data = fixture._lookup(path)
        fault = fixture._take_fault(path)

        if data is None or fault == "404":
            self._status_only(path, range_header, 404)
            return
        if fault == "500":
            self._status_only(path, range_header, 500)
            return
        if fault == "corrupt":
            data = bytes(b ^ 0xFF for b in data)

        start, end = 0, len(data)
        status = 200
        match = _RANGE.match(range_header or "")
        if range_header and match and fault != "norange":
            start = int(match.group(1))
            if start >= len(data):
                self._status_only(path, range_header, 416, {"Content-Range": f"bytes */{len(data)}"})
                return
            if match.group(2):
                end = min(len(data), int(match.group(2)) + 1)
            status = 206
        payload = data[start:end]

        fixture._log(path, range_header, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if not body:
            return
        try:
            if fault == "stall":
                self.wfile.flush()
                if fixture._closing.wait(STALL_S):
                    return
            if fault == "drop":
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a read timeout in a test): nothing to do

    def _status_only(self, path: str, range_header: str | None, status: int, headers: Mapping[str, str] | None = None) -> None:
        self.server.fixture._log(path, range_header, status)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True
    fixture: FixtureServer


class FixtureServer:
    """Serve ``files`` (URL path -> bytes) and/or the files under ``root`` on 127.0.0.1 (a free port)."""

    def __init__(self, files: Mapping[str, bytes] | None = None, root: str | os.PathLike | None = None):
        self._files: dict[str, bytes] = {}
        self._root = Path(root).resolve() if root is not None else None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str | None, int]] = []
        for path, data in (files or {}).items():
            self.add(path, data)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fixture = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, path: str, data: bytes) -> None:
        """Serve ``data`` at URL path ``path`` (a leading ``/`` is added when missing)."""
        if not path.startswith("/"):
            path = "/" + path
        with self._lock:
            self._files[path] = bytes(data)

    def paths_requested(self, path: str) -> list[tuple[str | None, int]]:
        """(Range header, status) of each request of ``path``, in order."""
        with self._lock:
            return [(rng, status) for p, rng, status in self.requests if p == path]

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> FixtureServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, wake stalled handlers and join every thread."""
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    # -- used by the handler -------------------------------------------------------------------

    def _lookup(self, path: str) -> bytes | None:
        with self._lock:
            if path in self._files:
                return self._files[path]
        if self._root is None:
            return None
        candidate = (self._root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        return candidate.read_bytes()

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            fault = self.faults.get(path)
            if fault is None:
                return None
            if fault not in KNOWN_FAULTS:
                raise ValueError(f"unknown fault {fault!r} for {path}; known: {sorted(KNOWN_FAULTS)}")
            if fault not in PERMANENT_FAULTS:
                del self.faults[path]  # a one-shot fault is used up (set it again to re-arm it)
            return fault

    def _log(self, path: str, range_header: str | None, status: int) -> None:
        with self._lock:
            self.requests.append((path, range_header, status))
