"""The web UI: ``build_app(settings)`` returns the Gradio Blocks app (起草 / 历史 / 范文库 / 设置 tabs plus a
named ``/draft`` API endpoint); ``launch(app, settings)`` serves it on ``settings.host:port``.

The only package importing gradio (``ui/``). Building is separate from launching so tests can start the app
in-process on a free port. The UI holds no drafting or retrieval logic. The server's settings live in one
in-memory ``LiveSettings`` (changed only by the admin login); a writer's own LLM endpoint, drafts and undo
stack live in that writer's session state, and finished drafts in the writer's history on the server, so
concurrent writers never see or steer each other's work.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from ..doctypes import load_doctypes  # noqa: E402
from ..draft import export, scoring  # noqa: E402
from ..draft import pipeline as drafting  # noqa: E402
from ..errors import UserError  # noqa: E402
from ..index.retrieval import warm_in_background  # noqa: E402
from ..settings import Settings  # noqa: E402
from . import exports  # noqa: E402
from .auth import server_middleware  # noqa: E402
from .corpus_tab import CorpusTab  # noqa: E402
from .draft_tab import DraftTab  # noqa: E402
from .history_tab import HistoryTab  # noqa: E402
from .settings_tab import SettingsTab  # noqa: E402
from .style import CSS, HEAD  # noqa: E402
from .views import LiveSettings, build_request  # noqa: E402

DRAFT_CONCURRENCY = 4


def build_app(settings: Settings) -> gr.Blocks:
    """The whole web app for ``settings`` (not launched)."""
    live = LiveSettings(settings)
    with gr.Blocks(title="公文写作助手", fill_width=True, analytics_enabled=False) as app:
        gr.Markdown("### 公文写作助手", elem_id="app-title")
        endpoint = gr.State(None)  # this session's own LLM endpoint (session.SessionEndpoint), if any
        with gr.Tabs(selected="draft") as tabs:
            with gr.Tab("起草", id="draft"):
                draft_tab = DraftTab(live, endpoint)
            with gr.Tab("历史", id="history") as history:
                history_tab = HistoryTab(live, draft_tab, tabs)
            with gr.Tab("范文库", id="corpus"):
                corpus_tab = CorpusTab(live)
            with gr.Tab("设置", id="settings"):
                settings_tab = SettingsTab(live, endpoint)
        history_tab.wire(history)
        draft_tab.wire_load(app)
        corpus_tab.wire_load(app)
        settings_tab.wire_load(app)
        _add_api(live)
    app.queue(default_concurrency_limit=DRAFT_CONCURRENCY)
    return app


def _add_api(live: LiveSettings) -> None:
    labels = {}
    for doctype in load_doctypes(live.get().prompts_dir).values():
        labels[doctype.label] = doctype.name
        labels[doctype.name] = doctype.name

    def draft(doc_type: str, topic: str, unit: str = "", points: str = "") -> str:
        """起草一篇公文，返回 Markdown 全文。

        Args:
            doc_type: 文种：speech / duty-report / research-report / work-report（或 讲话稿、述职报告、调研报告、汇报发言）
            topic: 主题
            unit: 单位（可空）
            points: 要点，每行一条（可空）
        """
        name = labels.get((doc_type or "").strip(), (doc_type or "").strip())
        try:
            request = build_request(name, topic, unit, "", points)
            result = drafting.write_draft(request, live.get())
        except UserError as exc:
            raise gr.Error(str(exc), title="无法起草") from exc
        return export.to_markdown(result)

    gr.api(draft, api_name="draft", concurrency_limit=DRAFT_CONCURRENCY, concurrency_id="draft")


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: local address, optional login, no share link, no telemetry,
    no run history in the browser (it would keep form values)."""
    auth = (
        (settings.auth_user, settings.auth_password)
        if settings.auth_user and settings.auth_password
        else None
    )
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise UserError(
            "登录设置不完整：请同时设置 ASSISTANT_AUTH_USER 和 ASSISTANT_AUTH_PASSWORD，或都不设置。"
        )
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": auth,
        "auth_message": "请输入用户名和密码登录公文写作助手。连续输错后需等待一段时间才能再试。"
        if auth
        else None,
        "share": False,
        "run_history": False,
        "enable_monitoring": False,
        "footer_links": ["api"],
        "css": CSS,
        "head": HEAD,
        "mcp_server": False,
        "ssr_mode": False,
        "pwa": False,
        # only the login page answers without a login; exported drafts removed when the server stops
        "app_kwargs": {"middleware": server_middleware(), "lifespan": exports.lifespan},
    }


def launch(app: gr.Blocks, settings: Settings, **overrides: Any) -> tuple:
    """Serve ``app`` with ``launch_options(settings)`` (``overrides`` win, e.g. ``prevent_thread_lock``).
    The index is opened and its vectors loaded in the background meanwhile, so the first search is fast."""
    options = {**launch_options(settings), **overrides}
    app.delete_cache = app.delete_cache or exports.GRADIO_CACHE_POLICY  # Gradio's copies of downloads
    warm_in_background(settings, then=scoring.warm)  # the first draft's judge and word statistics too
    return app.launch(**options)
