"""A small OpenAI-compatible chat-completions server for tests (JSON and SSE streaming), run in a thread.

``FakeOpenAI.replies`` is a queue of scripted behaviours, one per request: a reply text, or one of the
failure modes the drafting pipeline must survive — ``("status", 500)``, ``("hang", seconds)`` (accept and
say nothing), ``("drop", text)`` (stream part of ``text`` then close the connection without finishing),
``("garbage", "")`` (a 200 answer that is not a completion). Requests are recorded in ``requests``.
When the queue is empty, ``responder`` (if set) is called with the request's payload and returns the
behaviour (``tests/scripted_model.py`` reads the pipeline's prompts and answers like a model); else
``default`` is used.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    def __init__(self) -> None:
        self.replies: list[Any] = []
        self.default: Any = "【默认回复】"
        self.responder: Callable[[dict[str, Any]], Any] | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, payload: dict[str, Any] | None = None) -> Any:
        if self.replies:
            return self.replies.pop(0)
        if self.responder is not None:
            return self.responder(payload or {})
        return self.default

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                size = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(size) or b"{}")
                fake.requests.append(payload)
                fake.headers.append(dict(self.headers))
                if not self.path.endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                reply = fake._next(payload)
                kind, value = reply if isinstance(reply, tuple) else ("text", reply)
                if kind == "status":
                    self._send(int(value), json.dumps({"error": {"message": "server error"}}).encode())
                elif kind == "hang":
                    time.sleep(float(value))
                    self.close_connection = True
                elif kind == "garbage":
                    self._send(200, b'{"unexpected": true}')
                elif payload.get("stream"):
                    self._stream(payload, value, drop=(kind == "drop"))
                else:
                    self._send(200, json.dumps(_completion(payload, value)).encode())

            def _stream(self, payload: dict[str, Any], text: str, drop: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
                if drop:
                    pieces = pieces[: max(1, len(pieces) // 2)]
                for piece in pieces:
                    self._event(_chunk(payload, {"content": piece}, None))
                if drop:
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._event(_chunk(payload, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

        return Handler


def _completion(payload: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(payload: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": payload.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
