"""Who is asking, and with which settings: the per-user side of the web app, with no Gradio in it.

The server's settings (``LiveSettings``) are the default for everyone. A writer who sets an LLM endpoint in
设置 gets a ``SessionEndpoint`` kept in that browser session's state; ``settings_for`` turns it into a
``Settings`` copy for that session's pipeline calls only, and only while the session belongs to the login
that set it (a session id sent by someone else does not carry the endpoint over). The server's API key is
never paired with a URL a user typed: an endpoint other than the server's own uses the key the user gave,
or none. Only the admin login named in ``ASSISTANT_ADMIN_USER`` may change the server-wide default, and then
too the server's key stays with the server's URL. Apply is refused unless a connection test of exactly the
values being applied has passed in the same session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ..settings import Settings

LOCAL_USER = "本机"  # the owner of drafts when the app runs without a login (one writer on this machine)


def user_of(request: Any) -> str:
    """The login name of a Gradio request, or ``LOCAL_USER`` without a login."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else LOCAL_USER


def is_admin(settings: Settings, request: Any) -> bool:
    """Whether the request comes from the admin login (never true without a login)."""
    name = getattr(request, "username", None) if request is not None else None
    return bool(settings.admin_user) and bool(name) and name == settings.admin_user


@dataclass(frozen=True)
class SessionEndpoint:
    """A writer's own LLM endpoint for their session (``base_url`` "" means 离线组稿 for this session)."""

    owner: str
    base_url: str
    model: str
    key: str = ""

    def signature(self) -> str:
        return signature(self.base_url, self.model, self.key)


def signature(base_url: str, model: str, key: str) -> str:
    """What a passed connection test vouches for (the key enters only as a hash)."""
    raw = "\n".join([base_url.strip().rstrip("/"), model.strip(), hashlib.sha256(key.encode()).hexdigest()])
    return hashlib.sha256(raw.encode()).hexdigest()


def same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def endpoint_settings(server: Settings, base_url: str, model: str, key: str) -> Settings:
    """Settings for trying or using the endpoint (``base_url``, ``model``) with the key the user typed. The
    server's key comes along only when the URL is the server's own configured one and no key was typed."""
    base_url, model, key = base_url.strip(), model.strip(), key.strip()
    if not key and server.llm_base_url and same_url(base_url, server.llm_base_url):
        key = server.llm_api_key
    return replace(server, llm_base_url=base_url, llm_model=model, llm_api_key=key)


def settings_for(server: Settings, endpoint: dict | SessionEndpoint | None, request: Any) -> Settings:
    """The settings a session's pipeline calls use: the server's, or the session's own endpoint when the
    session belongs to the login that set it."""
    if isinstance(endpoint, dict):
        try:
            endpoint = SessionEndpoint(**endpoint)
        except TypeError:
            endpoint = None
    if not isinstance(endpoint, SessionEndpoint) or endpoint.owner != user_of(request):
        return server
    if not endpoint.base_url:
        return replace(server, llm_base_url="", llm_model="", llm_api_key="")
    return endpoint_settings(server, endpoint.base_url, endpoint.model, endpoint.key)


def describe_endpoint(settings: Settings, own: bool) -> str:
    """One line for the page: which generator this session drafts with and whose setting it is."""
    if settings.llm_configured:
        mode = f"大模型 {settings.llm_model}（{settings.llm_base_url}）"
    else:
        mode = "离线组稿（不调用大模型）"
    whose = "您在本次会话中的设置，只对您本人有效" if own else "服务器的默认设置"
    return f"{mode}——{whose}"
