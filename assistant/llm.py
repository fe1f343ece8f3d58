"""The LLM generator's connection: any OpenAI-compatible chat endpoint through langchain-openai's ChatOpenAI.

This is the only module that talks to a model server. It streams text and turns every way a server can fail
(refused connection, timeout, HTTP error, a malformed or empty reply, a stream that stops half-way) into one
``BackendError`` with a Chinese message, so the drafting pipeline has a single thing to catch before it falls
back to the offline composer. Retries are off (``max_retries=0``): a writer waiting on a draft is better
served by a quick fallback than by a minute of silent retrying. The API key is passed to the client and
nowhere else; every message this module produces is scrubbed of it.

Every answer is bounded, whatever the server does: the first text must come within ``llm_timeout``, no gap
between pieces may exceed ``llm_idle_timeout``, the whole answer must end by a deadline (``llm_deadline``, or
derived from ``max_tokens``: ``llm_timeout`` plus ``max_tokens`` at ``MIN_TOKENS_PER_SECOND``), and it may
hold at most ``llm_max_chars`` characters; once text flows it must keep at least ``llm_min_rate`` characters a
second over any ``llm_rate_window`` seconds. A server that drips, stalls with the stream open, streams forever
or sends an endless line is cut off with a ``BackendError`` naming which limit it passed. The HTTP client
reads on a worker thread, so the caller's wait is exact even while a read blocks; the worker's own reads
are capped in bytes (and per line) so that an endless body without a newline cannot grow memory, and it
stops at its next read once the caller has given up (or when its read timeout passes).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import BackendError, BackendStalledError
from .settings import Settings

DEFAULT_MAX_TOKENS = 4096  # what a caller that names no max_tokens may get
MIN_TOKENS_PER_SECOND = 5  # slower than this the whole-answer deadline passes: a server this slow is stuck
BYTES_PER_CHAR = 512  # an SSE event carries ~150-400 bytes of JSON around each token
MAX_LINE_BYTES = 1 << 20  # one SSE line (one event); a body that sends more without a newline is not SSE


class _Pace:
    """The output rate once text flows: a server that sends a token every few seconds keeps within the idle
    limit and would hold a writer (and a draft slot) until the whole-answer deadline, minutes away. Over any
    ``window`` seconds after the first text, fewer than ``min_rate`` characters a second is too slow."""

    def __init__(self, min_rate: float, window: float) -> None:
        self.min_rate, self.window = min_rate, window
        self.marks: deque[tuple[float, int]] = deque()  # (time, characters received by then)

    def add(self, received: int) -> int:
        """Record the total so far; the characters of the last window when that is too few, else 0."""
        if self.min_rate <= 0 or self.window <= 0:
            return 0
        now = time.monotonic()
        self.marks.append((now, received))
        start = now - self.window
        if self.marks[0][0] > start:
            return 0  # text has flowed for less than a window
        while len(self.marks) > 1 and self.marks[1][0] <= start:
            self.marks.popleft()
        got = received - self.marks[0][1]
        return max(got, 1) if got < self.min_rate * self.window else 0


class _Cut(Exception):
    """Raised inside the HTTP stream when a limit passes (``why``) or the caller has gone."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class _Call:
    """One answer's limits, shared by the caller and the thread reading the HTTP stream."""

    deadline: float  # time.monotonic() by which the answer must be complete
    max_bytes: int
    gone: threading.Event = field(default_factory=threading.Event)


class _GuardedStream(httpx.SyncByteStream):
    """A response body read under ``_Call``'s limits."""

    def __init__(self, inner: Any, call: _Call) -> None:
        self.inner = inner
        self.call = call

    def __iter__(self) -> Iterator[bytes]:
        total = line = 0
        for chunk in self.inner:
            if self.call.gone.is_set():
                raise _Cut("gone")
            total += len(chunk)
            newline = chunk.rfind(b"\n")
            line = len(chunk) - newline - 1 if newline >= 0 else line + len(chunk)
            if total > self.call.max_bytes or line > MAX_LINE_BYTES:
                raise _Cut("bytes")
            if time.monotonic() > self.call.deadline:
                raise _Cut("deadline")
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _GuardedTransport(httpx.BaseTransport):
    def __init__(self, call: _Call) -> None:
        self.inner = httpx.HTTPTransport()
        self.call = call

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.stream = _GuardedStream(response.stream, self.call)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Limits:
    """The bounds of one answer, in seconds and characters."""

    first: float  # until the first text
    idle: float  # longest gap between two pieces of text
    total: float  # the whole answer
    max_chars: int
    max_tokens: int
    min_rate: float = 0.0  # characters per second, over ``window`` seconds once text flows (0: no floor)
    window: float = 0.0


def limits_for(settings: Settings, max_tokens: int | None = None) -> Limits:
    tokens = int(max_tokens or DEFAULT_MAX_TOKENS)
    total = settings.llm_deadline or settings.llm_timeout + tokens / MIN_TOKENS_PER_SECOND
    return Limits(
        first=settings.llm_timeout,
        idle=settings.llm_idle_timeout,
        total=float(total),
        max_chars=int(settings.llm_max_chars),
        max_tokens=tokens,
        min_rate=float(settings.llm_min_rate),
        window=float(settings.llm_rate_window),
    )


def _mb(settings: Settings) -> int:
    return max(1 << 20, int(settings.llm_max_chars) * BYTES_PER_CHAR) >> 20


class LLMClient:
    """Streams completions for (system, user) prompt pairs from ``settings``' endpoint."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_configured:
            raise BackendError("未配置大模型服务：请设置 ASSISTANT_LLM_BASE_URL 和 ASSISTANT_LLM_MODEL。")
        self.settings = settings

    def describe(self) -> dict[str, Any]:
        """What the draft records about the backend (never the key)."""
        return {
            "backend": "openai-compatible",
            "model": self.settings.llm_model,
            "base_url": self.settings.llm_base_url,
        }

    def _chat(self, call: _Call, limits: Limits) -> Any:
        """A ChatOpenAI whose HTTP reads go through ``call``'s limits. Its own read timeout is only the
        backstop that ends an abandoned reader thread; the caller's wait is timed in ``stream``."""
        from langchain_openai import ChatOpenAI

        s = self.settings
        backstop = max(limits.first, limits.idle) + 5
        return ChatOpenAI(
            model=s.llm_model,
            base_url=s.llm_base_url,
            api_key=s.llm_api_key or "not-needed",
            timeout=httpx.Timeout(backstop, connect=min(limits.first, 30.0)),
            max_retries=0,
            temperature=s.llm_temperature,
            streaming=True,
            # ``max_tokens`` is the field every OpenAI-compatible server knows (ChatOpenAI would send
            # ``max_completion_tokens``, which llama.cpp, older vLLM and Ollama versions ignore)
            extra_body={"max_tokens": limits.max_tokens},
            http_client=httpx.Client(transport=_GuardedTransport(call), timeout=backstop),
        )

    def scrub(self, text: str) -> str:
        key = self.settings.llm_api_key
        return text.replace(key, "***") if key else text

    def failure(self, exc: BaseException, limits: Limits) -> BackendError:
        """The ``BackendError`` for a failure: ``BackendStalledError`` when the server took too long or sent
        too much (a timeout, a limit passed), a plain one otherwise (refused, HTTP error, a bad reply)."""
        import openai

        message = self.explain(exc, limits)
        if isinstance(exc, _Cut | openai.APITimeoutError | httpx.TimeoutException):
            return BackendStalledError(message)
        return BackendError(message)

    def explain(self, exc: BaseException, limits: Limits | None = None) -> str:
        """A Chinese one-line description of a failure, naming the endpoint but never the key."""
        import openai

        url = self.settings.llm_base_url
        limits = limits or limits_for(self.settings)
        cut = exc if isinstance(exc, _Cut) else exc.__cause__ or exc.__context__
        if isinstance(cut, _Cut) and cut.why == "deadline":
            why = self._too_slow(limits)
        elif isinstance(cut, _Cut):
            why = (
                f"大模型服务 {url} 发送的数据超出上限（共 {_mb(self.settings)} MB，或一行超过 1 MB）"
                "仍未结束，已停止接收"
            )
        elif isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            why = f"大模型服务 {url} 超过 {self.settings.llm_timeout:g} 秒未响应"
        elif isinstance(exc, openai.APIStatusError):
            why = f"大模型服务 {url} 返回错误（HTTP {exc.status_code}）"
        elif isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
            why = f"无法连接大模型服务 {url}（服务未启动或连接中断）"
        else:
            why = f"大模型服务 {url} 返回的内容无法解析（{type(exc).__name__}）"
        return self.scrub(why)

    def _too_slow(self, limits: Limits) -> str:
        return (
            f"大模型服务 {self.settings.llm_base_url} 未能在 {limits.total:g} 秒内完成回答（输出过慢），"
            "已停止等待"
        )

    def stream(self, system: str, user: str, *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the reply's text as it arrives; raise ``BackendError`` on any failure, an empty reply, or
        a reply that passes one of the limits (``limits_for``). ``max_tokens`` is sent to the server and
        sets the default deadline."""
        limits = limits_for(self.settings, max_tokens)
        call = _Call(deadline=0.0, max_bytes=_mb(self.settings) << 20)
        chat = self._chat(call, limits)  # built (and langchain imported) before the clock starts
        call.deadline = time.monotonic() + limits.total
        pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
        reader = threading.Thread(
            target=self._read, args=(chat, system, user, call, pieces), daemon=True, name="llm-reader"
        )
        reader.start()
        received = 0
        pace = _Pace(limits.min_rate, limits.window)
        url = self.settings.llm_base_url
        try:
            while True:
                now = time.monotonic()
                wait = min(limits.idle if received else limits.first, call.deadline - now)
                try:
                    kind, value = pieces.get(timeout=max(0.0, wait))
                except queue.Empty:
                    if time.monotonic() >= call.deadline:
                        raise BackendStalledError(self.scrub(self._too_slow(limits))) from None
                    if not received:
                        why = f"大模型服务 {url} 超过 {limits.first:g} 秒未响应"
                    else:
                        why = (
                            f"大模型服务 {url} 超过 {limits.idle:g} 秒没有输出新内容（输出停滞），已停止等待"
                        )
                    raise BackendStalledError(self.scrub(why)) from None
                if kind == "error":
                    raise self.failure(value, limits) from None
                if kind == "end":
                    finished = value
                    break
                received += len(value)
                if slow := pace.add(received):
                    raise BackendStalledError(
                        self.scrub(
                            f"大模型服务 {url} 在 {limits.window:g} 秒内只输出了 {slow} 字（输出过慢，"
                            f"低于每秒 {limits.min_rate:g} 字），已停止等待"
                        )
                    )
                if received > limits.max_chars:
                    raise BackendStalledError(
                        self.scrub(f"大模型服务 {url} 的回答超过 {limits.max_chars} 字仍未结束，已停止接收")
                    )
                yield value
        finally:
            call.gone.set()  # the reader stops at its next read
        if not finished:  # the server closed the stream before its final chunk
            raise BackendError(self.scrub(f"大模型服务 {url} 的输出中途断开"))
        if received == 0:
            raise BackendError(self.scrub(f"大模型服务 {url} 返回了空内容"))

    @staticmethod
    def _read(chat: Any, system: str, user: str, call: _Call, out: queue.Queue) -> None:
        """The reader thread: every piece of text, then ``("end", finished)`` or ``("error", exc)``."""
        from langchain_core.messages import HumanMessage, SystemMessage

        finished = False
        try:
            for chunk in chat.stream([SystemMessage(system), HumanMessage(user)]):
                if call.gone.is_set():
                    return
                finished = finished or bool(chunk.response_metadata.get("finish_reason"))
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    out.put(("text", text))
        except Exception as exc:  # noqa: BLE001 - every client failure becomes one user-facing error
            out.put(("error", exc))
            return
        out.put(("end", finished))


TEST_SYSTEM = "你是连接测试助手。只回答一个字：好。"
TEST_USER = "连接测试"


def test_connection(settings: Settings) -> str:
    """Send one tiny prompt to the configured endpoint; a Chinese success line naming the model, or a
    ``BackendError`` with a Chinese reason (never the API key)."""
    import time

    client = LLMClient(settings)
    started = time.monotonic()
    reply = "".join(client.stream(TEST_SYSTEM, TEST_USER, max_tokens=16)).strip()
    seconds = time.monotonic() - started
    shown = client.scrub(reply[:20])
    return f"连接成功：模型 {settings.llm_model} 在 {seconds:.1f} 秒内回复“{shown}”。"


test_connection.__test__ = False  # not a pytest test, despite its name
