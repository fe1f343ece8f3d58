"""Login for a shared server: only the login page answers a visitor who has not logged in, and password
guessing is slowed down.

Gradio checks the login on its API routes, but some answer without it (FastAPI's ``/openapi.json``, the
heartbeat stream, ``startup-events``, ``user``). ``LoginGate`` is an ASGI middleware in front of the whole app:
with a login configured, a request without a valid session reaches the app only if it is the login page
itself (``/``, Gradio's own ``/assets``, ``/static``, ``/theme.css``, ``/favicon.ico``), the login form's
``POST /login``, or Gradio's start-up check of itself from this machine; everything else gets ``401`` with
a Chinese message.

Guessing: each failed login counts against the client's address and against the user name tried. After
``FREE_FAILURES`` failures in a row, each further attempt from that address or for that user must wait a
delay that doubles with every failure (1 s, 2 s, 4 s … up to ``MAX_DELAY``); an attempt inside the delay is
refused with ``429`` and a Chinese message naming the wait, without the password being checked. A success
clears both counts. Trade-offs: behind a reverse proxy all visitors share one address, and someone who
knows a user name can make that user wait up to ``MAX_DELAY`` — accepted for a small office server, where
a quarter of an hour of waiting is better than an unlimited number of guesses (before this, ~270 a second).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs

FREE_FAILURES = 3  # failures in a row before delays begin
MAX_DELAY = 15 * 60.0  # seconds
FORGET_AFTER = 3600.0  # a count left alone this long starts again from zero
MAX_TRACKED = 10_000  # addresses and user names remembered (the oldest are forgotten first)
LOGIN_PATHS = ("/login", "/login/")
PUBLIC_PREFIXES = ("/assets/", "/static/")
PUBLIC_PATHS = ("/", "/theme.css", "/favicon.ico")
# Gradio asks this of itself while it starts (from this machine); it answers only true/false
LOCAL_PATHS = ("/gradio_api/startup-events",)
LOOPBACK = ("127.0.0.1", "::1", "localhost")
LOGIN_REQUIRED = "请先登录公文写作助手（用户名和密码由管理员设置）。"


class Throttle:
    """Failed logins per key (an address, or a user name) and the delay they impose."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key -> (count, last failure)
        self._lock = threading.Lock()

    def _count(self, key: str, now: float) -> tuple[int, float]:
        count, last = self._failures.get(key, (0, 0.0))
        if count and now - last > FORGET_AFTER:
            return 0, 0.0
        return count, last

    def wait(self, keys: list[str]) -> float:
        """Seconds the caller must still wait before the next attempt for any of ``keys`` (0: may try now)."""
        now = self._clock()
        longest = 0.0
        with self._lock:
            for key in keys:
                count, last = self._count(key, now)
                if count >= FREE_FAILURES:
                    delay = min(MAX_DELAY, 2.0 ** (count - FREE_FAILURES))
                    longest = max(longest, last + delay - now)
        return max(0.0, longest)

    def failed(self, keys: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                count, _ = self._count(key, now)
                self._failures[key] = (count + 1, now)
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def throttled_message(seconds: float) -> str:
    return f"登录失败次数过多，请 {math.ceil(seconds)} 秒后再试。如忘记密码，请联系管理员。"


class LoginGate:
    """ASGI middleware: see the module docstring. ``scope["app"]`` is Gradio's app, which holds the login
    (``auth``), the session tokens and the cookie name."""

    def __init__(self, app: Any, throttle: Throttle | None = None) -> None:
        self.app = app
        self.throttle = throttle or Throttle()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        gradio = scope.get("app")
        if scope["type"] not in ("http", "websocket") or getattr(gradio, "auth", None) is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if scope["type"] == "http" and method == "POST" and path in LOGIN_PATHS:
            await self._login(scope, receive, send)
        elif _logged_in(scope, gradio) or (
            scope["type"] == "http"
            and method in ("GET", "HEAD")
            and (
                path in PUBLIC_PATHS
                or path.startswith(PUBLIC_PREFIXES)
                or (path in LOCAL_PATHS and (scope.get("client") or ("",))[0] in LOOPBACK)
            )
        ):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            await _respond(send, 401, LOGIN_REQUIRED)

    async def _login(self, scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = parse_qs(body.decode("utf-8", "replace"))
        user = (form.get("username") or [""])[0].strip()
        address = (scope.get("client") or ("?", 0))[0]
        keys = [f"address:{address}", f"user:{user}"]
        wait = self.throttle.wait(keys)
        if wait > 0:
            await _respond(send, 429, throttled_message(wait), {"retry-after": str(math.ceil(wait))})
            return
        status: list[int] = []

        async def replay() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, replay, watch)
        if status and status[0] == 200:
            self.throttle.succeeded(keys)
        else:
            self.throttle.failed(keys)


def _logged_in(scope: dict, gradio: Any) -> bool:
    cookies: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                cookies[key] = val
    cookie_id = getattr(gradio, "cookie_id", "")
    token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
    return bool(token) and token in getattr(gradio, "tokens", {})


async def _respond(send: Any, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def server_middleware() -> list:
    """The middleware list for ``Blocks.launch(app_kwargs={"middleware": …})``."""
    from starlette.middleware import Middleware

    return [Middleware(LoginGate)]
