"""The LLM generator's connection: any OpenAI-compatible chat endpoint through langchain-openai's ChatOpenAI.

This is the only module that talks to a model server. It streams text and turns every way a server can fail
(refused connection, timeout, HTTP error, a malformed or empty reply, a stream that stops half-way) into one
``BackendError`` with a Chinese message, so the drafting pipeline has a single thing to catch before it falls
back to the offline composer. Retries are off (``max_retries=0``): a writer waiting on a draft is better
served by a quick fallback than by a minute of silent retrying. The API key is passed to the client and
nowhere else; every message this module produces is scrubbed of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import BackendError
from .settings import Settings


class LLMClient:
    """Streams completions for (system, user) prompt pairs from ``settings``' endpoint."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_configured:
            raise BackendError("未配置大模型服务：请设置 ASSISTANT_LLM_BASE_URL 和 ASSISTANT_LLM_MODEL。")
        self.settings = settings
        self._model: Any = None

    def describe(self) -> dict[str, Any]:
        """What the draft records about the backend (never the key)."""
        return {
            "backend": "openai-compatible",
            "model": self.settings.llm_model,
            "base_url": self.settings.llm_base_url,
        }

    def _chat(self) -> Any:
        if self._model is None:
            from langchain_openai import ChatOpenAI

            s = self.settings
            self._model = ChatOpenAI(
                model=s.llm_model,
                base_url=s.llm_base_url,
                api_key=s.llm_api_key or "not-needed",
                timeout=s.llm_timeout,
                max_retries=0,
                temperature=s.llm_temperature,
                streaming=True,
            )
        return self._model

    def scrub(self, text: str) -> str:
        key = self.settings.llm_api_key
        return text.replace(key, "***") if key else text

    def explain(self, exc: BaseException) -> str:
        """A Chinese one-line description of a failure, naming the endpoint but never the key."""
        import httpx
        import openai

        url = self.settings.llm_base_url
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            why = f"大模型服务 {url} 超过 {self.settings.llm_timeout:g} 秒未响应"
        elif isinstance(exc, openai.APIStatusError):
            why = f"大模型服务 {url} 返回错误（HTTP {exc.status_code}）"
        elif isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
            why = f"无法连接大模型服务 {url}（服务未启动或连接中断）"
        else:
            why = f"大模型服务 {url} 返回的内容无法解析（{type(exc).__name__}）"
        return self.scrub(why)

    def stream(self, system: str, user: str, *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the reply's text as it arrives; raise ``BackendError`` on any failure or an empty reply.
        ``max_tokens`` caps the answer's length (sent as the request's ``max_tokens``)."""
        from langchain_core.messages import HumanMessage, SystemMessage

        received = 0
        finished = False
        # ``max_tokens`` is the field every OpenAI-compatible server knows (ChatOpenAI would send
        # ``max_completion_tokens``, which llama.cpp, older vLLM and Ollama versions ignore)
        extra = {"extra_body": {"max_tokens": int(max_tokens)}} if max_tokens else {}
        try:
            for chunk in self._chat().stream([SystemMessage(system), HumanMessage(user)], **extra):
                finished = finished or bool(chunk.response_metadata.get("finish_reason"))
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    received += len(text)
                    yield text
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - every client failure becomes one user-facing error
            raise BackendError(self.explain(exc)) from None
        if not finished:  # the server closed the stream before its final chunk
            raise BackendError(self.scrub(f"大模型服务 {self.settings.llm_base_url} 的输出中途断开"))
        if received == 0:
            raise BackendError(self.scrub(f"大模型服务 {self.settings.llm_base_url} 返回了空内容"))


TEST_SYSTEM = "你是连接测试助手。只回答一个字：好。"
TEST_USER = "连接测试"


def test_connection(settings: Settings) -> str:
    """Send one tiny prompt to the configured endpoint; a Chinese success line naming the model, or a
    ``BackendError`` with a Chinese reason (never the API key)."""
    import time

    client = LLMClient(settings)
    started = time.monotonic()
    reply = "".join(client.stream(TEST_SYSTEM, TEST_USER)).strip()
    seconds = time.monotonic() - started
    shown = client.scrub(reply[:20])
    return f"连接成功：模型 {settings.llm_model} 在 {seconds:.1f} 秒内回复“{shown}”。"


test_connection.__test__ = False  # not a pytest test, despite its name
