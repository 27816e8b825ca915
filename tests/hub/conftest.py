"""Fixtures of the hub tests: an isolated cache and a scriptable HTTP server on 127.0.0.1."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zoo.hub import index


@dataclass
class Request:
    path: str
    range: str | None


@dataclass
class ServerState:
    """What the server serves: ``files[path] = bytes``; ``script[path]`` is a list of
    behaviours consumed one per request (then ``ok``):

    ``ok`` (honours Range), ``500``, ``404``, ``drop:N`` (announces the full length, sends
    N bytes, closes), ``ignore-range`` (always the whole file with 200), ``nolength:N`` (no
    Content-Length, N bytes, close)."""

    files: dict[str, bytes] = field(default_factory=dict)
    script: dict[str, list[str]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: ServerState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            with state.lock:
                state.requests.append(Request(self.path, self.headers.get("Range")))
                steps = state.script.get(self.path)
                action = steps.pop(0) if steps else "ok"
            data = state.files.get(self.path)
            if action == "404" or data is None:
                self.send_error(404)
                return
            if action == "500":
                self.send_error(500, "scripted failure")
                return
            start = 0
            header = self.headers.get("Range")
            if header and action != "ignore-range":
                start = int(header.split("=")[1].split("-")[0])
            body = data[start:]
            if action.startswith("nolength:"):
                self.send_response(200)
                self.end_headers()
                self.wfile.write(data[: int(action.split(":")[1])])
                return
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if action.startswith("slow:"):
                pieces = 10
                step = -(-len(body) // pieces)
                for i in range(pieces):
                    self.wfile.write(body[i * step:(i + 1) * step])
                    self.wfile.flush()
                    time.sleep(float(action.split(":")[1]) / pieces)
                return
            if action.startswith("drop:"):
                self.wfile.write(body[: int(action.split(":")[1])])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


class LocalServer:
    def __init__(self):
        self.state = ServerState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, data: bytes, script: list[str] | None = None) -> str:
        self.state.files[path] = data
        if script is not None:
            self.state.script[path] = list(script)
        return self.base + path

    @property
    def requests(self) -> list[Request]:
        return self.state.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LocalServer()
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder (``VSZOO_HOME``) and a clean hub environment."""
    home = tmp_path / "vszoo_home"
    monkeypatch.setenv("VSZOO_HOME", str(home))
    monkeypatch.setenv("VSZOO_NO_PROGRESS", "1")
    for name in ("VSZOO_MIRROR", "VSZOO_OFFLINE", "VSZOO_TRUST_ON_FIRST_USE"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def add_entry(monkeypatch):
    """Register a temporary index entry (removed after the test)."""
    def add(**kwargs) -> index.ModelEntry:
        kwargs.setdefault("task", "test")
        kwargs.setdefault("dataset", "test")
        kwargs.setdefault("source", "tests")
        kwargs.setdefault("licence", "test")
        kwargs.setdefault("metric", None)
        entry = index.ModelEntry(**kwargs)
        monkeypatch.setitem(index.MODEL_INDEX, entry.name, entry)
        return entry

    return add
