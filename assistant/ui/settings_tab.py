"""The 设置 (settings) tab: which generator this writer's drafts use, a connection test, and what embedder
and index the server runs.

An endpoint set here applies to this writer's session only (``session.SessionEndpoint`` in session state,
turned into a ``Settings`` copy per call); the page says so. Only the admin login named in
``ASSISTANT_ADMIN_USER`` sees and may use 设为全站默认, and the handler checks that login itself, so a raw
call to it from anyone else changes nothing. Apply is refused until a connection test of exactly the typed
values has passed in this session. The server's key goes only to the server's own URL; a typed URL is tried
and used with the typed key. Keys are never sent back to a browser, shown or logged.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import llm
from ..errors import UserError
from ..index import ingest
from .session import (
    SessionEndpoint,
    describe_endpoint,
    endpoint_settings,
    is_admin,
    same_url,
    settings_for,
    signature,
    user_of,
)
from .views import LiveSettings

INTRO = (
    "未配置大模型时使用**离线组稿**（依据范文库检索结果组织文字，不联网）。可填写任一 OpenAI 兼容接口"
    "（DeepSeek、通义千问、Ollama、vLLM 等），**先点“测试连接”，通过后才能应用**。"
    "这里的设置**只对您本人在本次登录中有效**，不影响其他用户，也不写入磁盘；您填写的接口只会使用您填写的密钥。"
)


class SettingsTab:
    def __init__(self, live: LiveSettings, endpoint: gr.State) -> None:
        self.live = live
        self.endpoint = endpoint
        self.tested = gr.State(None)
        gr.Markdown(INTRO)
        self.mode = gr.Markdown(elem_id="settings-mode")
        with gr.Row():
            self.base_url = gr.Textbox(
                label="接口地址（base URL）",
                placeholder="例如 http://127.0.0.1:11434/v1",
                elem_id="llm-base-url",
            )
            self.model = gr.Textbox(label="模型名称", placeholder="例如 qwen2.5:7b", elem_id="llm-model")
            self.key = gr.Textbox(label="API 密钥（不回显）", type="password", value="", elem_id="llm-key")
        with gr.Row():
            self.test_btn = gr.Button("测试连接", elem_id="settings-test")
            self.apply_btn = gr.Button("应用（仅本人本次登录）", variant="primary", elem_id="settings-apply")
            self.offline_btn = gr.Button("本人改用离线组稿", elem_id="settings-offline")
            self.reset_btn = gr.Button("恢复服务器默认", elem_id="settings-reset")
        with gr.Row(visible=False) as self.admin_row:
            gr.Markdown("**管理员**：把上面测试通过的接口设为全站默认（所有未自行设置的用户都将使用它）。")
            self.admin_btn = gr.Button(
                "设为全站默认（仅管理员）", variant="stop", elem_id="settings-admin-apply"
            )
        self.status = gr.Markdown(elem_id="settings-status")
        self.info = gr.Markdown(elem_id="settings-info")
        self._wire()

    def _wire(self) -> None:
        private = {"api_visibility": "private", "show_progress": "hidden"}
        fields = [self.base_url, self.model, self.key]
        shown = [self.status, self.mode, self.info]
        self.test_btn.click(self.test, inputs=fields, outputs=[self.status, self.tested], **private)
        self.apply_btn.click(
            self.apply,
            inputs=[*fields, self.tested, self.endpoint],
            outputs=[self.key, self.endpoint, *shown],
            **private,
        )
        self.offline_btn.click(self.offline, outputs=[self.endpoint, *shown], **private)
        self.reset_btn.click(self.reset, outputs=[self.endpoint, *shown], **private)
        self.admin_btn.click(
            self.admin_apply,
            inputs=[*fields, self.tested, self.endpoint],
            outputs=[self.key, *shown],
            **private,
        )

    def wire_load(self, app: gr.Blocks) -> None:
        app.load(
            self.on_load,
            inputs=[self.endpoint],
            outputs=[self.mode, self.info, self.admin_row],
            api_visibility="private",
            show_progress="hidden",
        )

    # ---- views -----------------------------------------------------------------------------------------

    def on_load(self, endpoint, request: gr.Request):
        return (
            self.describe_mode(endpoint, request),
            self.describe(),
            gr.update(visible=is_admin(self.live.get(), request)),
        )

    def describe_mode(self, endpoint, request) -> str:
        server = self.live.get()
        settings = settings_for(server, endpoint, request)
        own = settings is not server
        return f"**您当前的起草方式**：{describe_endpoint(settings, own)}"

    def describe(self) -> str:
        s = self.live.get()
        server_mode = (
            f"大模型 `{s.llm_model}`（{s.llm_base_url}）" if s.llm_configured else "离线组稿（未配置大模型）"
        )
        try:
            count = f"{len(ingest.list_documents(s))} 篇"
        except UserError as exc:
            count = f"无法读取（{exc}）"
        rows = [
            ("服务器默认起草方式", server_mode),
            ("服务器密钥", "已设置（不显示，只用于服务器默认接口）" if s.llm_api_key else "未设置"),
            ("嵌入模型", f"`{s.embedder}`"),
            (
                "索引",
                f"`{s.chroma_url}`（Chroma 服务，由管理员在服务器上设置）"
                if s.chroma_url
                else f"`{Path(s.index_dir)}`（本地）",
            ),
            ("范文文件夹", f"`{Path(s.corpus_dir)}`"),
            ("已入库范文", count),
        ]
        return "| 项目 | 当前值 |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)

    # ---- handlers --------------------------------------------------------------------------------------

    def test(self, base_url: str, model: str, key: str):
        base_url, model, key = (base_url or "").strip(), (model or "").strip(), (key or "").strip()
        if not base_url or not model:
            return "⚠ 请先填写接口地址和模型名称再测试。", None
        trial = endpoint_settings(self.live.get(), base_url, model, key)
        try:
            reply = str(llm.test_connection(trial) or "")
        except UserError as exc:
            return f"⚠ 连接失败：{exc}。未应用任何设置。", None
        return f"✔ {reply or '连接成功。'}现在可以点“应用”。", signature(base_url, model, key)

    def _checked(self, base_url, model, key, tested) -> str | None:
        """Why the typed values may not be applied, or None."""
        if bool(base_url) != bool(model):
            return "请同时填写接口地址和模型名称；要离线起草请点“本人改用离线组稿”。"
        if not base_url:
            return "请填写接口地址和模型名称，或点“本人改用离线组稿”。"
        if tested != signature(base_url, model, key):
            return "请先点“测试连接”，测试通过后才能应用（改动接口地址、模型或密钥后需要重新测试）。"
        return None

    def apply(self, base_url, model, key, tested, endpoint, request: gr.Request):
        base_url, model, key = (base_url or "").strip(), (model or "").strip(), (key or "").strip()
        problem = self._checked(base_url, model, key, tested)
        if problem:
            return (
                gr.update(),
                endpoint,
                f"⚠ {problem}",
                self.describe_mode(endpoint, request),
                self.describe(),
            )
        server = self.live.get()
        if not key and same_url(base_url, server.llm_base_url):
            key = ""  # the server's own endpoint: its key is added per call, never stored in a session
        mine = SessionEndpoint(user_of(request), base_url, model, key)
        data = mine.__dict__.copy()
        return (
            "",
            data,
            f"✔ 已应用：您的草稿改由大模型 {model} 起草（只对您本人有效）。",
            self.describe_mode(data, request),
            self.describe(),
        )

    def offline(self, request: gr.Request):
        data = SessionEndpoint(user_of(request), "", "").__dict__.copy()
        return (
            data,
            "✔ 您的草稿改用离线组稿（只对您本人有效）。",
            self.describe_mode(data, request),
            self.describe(),
        )

    def reset(self, request: gr.Request):
        return None, "✔ 已恢复使用服务器默认设置。", self.describe_mode(None, request), self.describe()

    def admin_apply(self, base_url, model, key, tested, endpoint, request: gr.Request):
        server = self.live.get()
        if not is_admin(server, request):
            message = "只有管理员（服务器环境变量 ASSISTANT_ADMIN_USER 指定的账号）可以修改全站默认设置。"
            return gr.update(), f"⚠ {message}", self.describe_mode(endpoint, request), self.describe()
        base_url, model, key = (base_url or "").strip(), (model or "").strip(), (key or "").strip()
        problem = self._checked(base_url, model, key, tested)
        if problem:
            return gr.update(), f"⚠ {problem}", self.describe_mode(endpoint, request), self.describe()
        if not key and same_url(base_url, server.llm_base_url):
            key = server.llm_api_key
        self.live.update(llm_base_url=base_url, llm_model=model, llm_api_key=key)
        return (
            "",
            f"✔ 已设为全站默认：大模型 {model}。",
            self.describe_mode(endpoint, request),
            self.describe(),
        )
