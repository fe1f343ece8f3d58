"""Loopback servers that misbehave on purpose, for the limits on outside calls (kept apart from
``fake_openai.FakeOpenAI``, which answers like a model).

``HostileOpenAI(mode)`` answers every chat-completions request the same way:
  ``drip``     a valid stream, one token every ``interval`` seconds, never finishing;
  ``stall``    one token, then the stream stays open and silent;
  ``endless``  a valid stream of tokens as fast as the client reads, never finishing;
  ``noline``   a 200 answer whose body is bytes without a newline, forever.
It records each request's JSON (``requests``) and how many bytes it wrote (``sent``).

``SilentServer`` accepts TCP connections and never answers (a hung Chroma server, or any service that is up
but stuck).

``bounded(fn, seconds)`` runs a call that may hang against them on a thread and says how it ended, so a test
(or ``bench.stalls``) waits a bounded time whatever the call does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from fake_openai import FakeOpenAI

MODES = ("drip", "stall", "endless", "noline")


def bounded(fn: Callable[[], Any], seconds: float) -> tuple[str, float, Any]:
    """Run ``fn()`` on a daemon thread for at most ``seconds``: ("returned", took, value), ("error", took,
    exception) or ("hung", took, None) when it is still running then."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    started = time.monotonic()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    took = time.monotonic() - started
    if worker.is_alive():
        return "hung", took, None
    if "error" in box:
        return "error", took, box["error"]
    return "returned", took, box.get("value")


class HostileOpenAI(FakeOpenAI):
    """``FakeOpenAI``'s loopback server with a handler that misbehaves in ``mode`` on every request."""

    def __init__(self, mode: str, interval: float = 2.0, token: str = "字") -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self.interval = interval
        self.token = token
        self.sent = 0
        self.stop = threading.Event()
        super().__init__()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        super().__exit__(*exc)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _write(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                server.sent += len(data)

            def _event(self, content: str) -> bytes:
                chunk = {
                    "id": "chatcmpl-hostile",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": "hostile",
                    "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
                }
                return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                size = int(self.headers.get("Content-Length") or 0)
                server.requests.append(json.loads(self.rfile.read(size) or b"{}"))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    self._misbehave()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return  # the client gave up: what the tests wait for

            def _misbehave(self) -> None:
                mode = server.mode
                if mode == "noline":
                    block = b"x" * 65536
                    while not server.stop.is_set():
                        self._write(block)
                    return
                event = self._event(server.token)
                self._write(event)
                if mode == "stall":
                    server.stop.wait()
                elif mode == "drip":
                    while not server.stop.wait(server.interval):
                        self._write(event)
                else:  # endless
                    burst = event * 64
                    while not server.stop.is_set():
                        self._write(burst)

        return Handler


class SilentServer:
    """Accepts connections on a loopback port and reads what is sent, but never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)  # kept open, never answered

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self._sock.close()
