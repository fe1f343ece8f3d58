"""The 设置 (settings) tab: the LLM endpoint, a connection test, and what embedder and index are in use.

Changes apply to the running app only (held in ``LiveSettings``, shared by every session, never written to
disk). The key box is a password field that is always cleared after applying: the key is never sent back
to a browser, shown, or logged; the page only says whether one is set.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import gradio as gr

from .. import llm
from ..errors import UserError
from ..index import ingest
from .views import LiveSettings


class SettingsTab:
    def __init__(self, live: LiveSettings) -> None:
        self.live = live
        settings = live.get()
        gr.Markdown(
            "未配置大模型时使用**离线组稿**（依据范文库检索结果组织文字，不联网）。"
            "配置任一 OpenAI 兼容接口（DeepSeek、通义千问、Ollama、vLLM 等）后由大模型起草，"
            "接口出错时自动改用离线组稿并给出提示。此处的修改只对本次运行有效，不写入磁盘。"
        )
        with gr.Row():
            self.base_url = gr.Textbox(
                label="接口地址（base URL）",
                value=settings.llm_base_url,
                placeholder="例如 http://127.0.0.1:11434/v1",
                elem_id="llm-base-url",
            )
            self.model = gr.Textbox(
                label="模型名称", value=settings.llm_model, placeholder="例如 qwen2.5:7b", elem_id="llm-model"
            )
            self.key = gr.Textbox(
                label="API 密钥（不回显；留空则保持不变）",
                type="password",
                value="",
                elem_id="llm-key",
            )
        with gr.Row():
            self.apply_btn = gr.Button("应用设置", variant="primary", elem_id="settings-apply")
            self.test_btn = gr.Button("测试连接", elem_id="settings-test")
            self.clear_btn = gr.Button("改用离线组稿", elem_id="settings-clear")
        self.status = gr.Markdown(elem_id="settings-status")
        self.info = gr.Markdown(elem_id="settings-info")
        self._wire()

    def _wire(self) -> None:
        common = {"api_visibility": "private"}
        self.apply_btn.click(
            self.apply,
            inputs=[self.base_url, self.model, self.key],
            outputs=[self.key, self.status, self.info],
            **common,
        )
        self.clear_btn.click(
            self.clear, outputs=[self.base_url, self.model, self.key, self.status, self.info], **common
        )
        self.test_btn.click(
            self.test, inputs=[self.base_url, self.model, self.key], outputs=[self.status], **common
        )

    def wire_load(self, app: gr.Blocks) -> None:
        app.load(self.describe, outputs=[self.info], api_visibility="private")

    def apply(self, base_url: str, model: str, key: str):
        base_url, model = (base_url or "").strip(), (model or "").strip()
        if bool(base_url) != bool(model):
            message = "请同时填写接口地址和模型名称；两项都留空则使用离线组稿。"
            gr.Warning(message, title="设置不完整")
            return "", f"⚠ {message}", self.describe()
        values = {"llm_base_url": base_url, "llm_model": model}
        if key:
            values["llm_api_key"] = key.strip()
        self.live.update(**values)
        mode = f"大模型 {model}" if base_url else "离线组稿"
        return "", f"✔ 已应用：起草方式为{mode}。", self.describe()

    def clear(self):
        self.live.update(llm_base_url="", llm_model="", llm_api_key="")
        return "", "", "", "✔ 已改用离线组稿，密钥已从内存中清除。", self.describe()

    def test(self, base_url: str, model: str, key: str) -> str:
        current = self.live.get()
        base_url, model = (base_url or "").strip(), (model or "").strip()
        if not base_url or not model:
            return "⚠ 请先填写接口地址和模型名称再测试。"
        trial = current.with_overrides(llm_base_url=base_url, llm_model=model)
        if key:
            trial = trial.with_overrides(llm_api_key=key.strip())
        try:
            reply = _ping(trial)
        except UserError as exc:
            return f"⚠ 连接失败：{exc}"
        return f"✔ 连接成功：{reply}" if reply else "✔ 连接成功。"

    def describe(self) -> str:
        s = self.live.get()
        mode = (
            f"大模型 `{s.llm_model}`（{s.llm_base_url}）" if s.llm_configured else "离线组稿（未配置大模型）"
        )
        try:
            count = f"{len(ingest.list_documents(s))} 篇"
        except UserError as exc:
            count = f"无法读取（{exc}）"
        rows = [
            ("当前起草方式", mode),
            ("API 密钥", "已设置（不显示）" if s.llm_api_key else "未设置"),
            ("嵌入模型", f"`{s.embedder}`"),
            (
                "索引",
                f"`{s.chroma_url}`（Chroma 服务）" if s.chroma_url else f"`{Path(s.index_dir)}`（本地）",
            ),
            ("范文文件夹", f"`{Path(s.corpus_dir)}`"),
            ("已入库范文", count),
        ]
        return "| 项目 | 当前值 |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def _ping(settings) -> str:
    """Ask the endpoint for a one-word reply (``llm.test_connection`` when llm.py offers one)."""
    check = getattr(llm, "test_connection", None)
    if check is not None:
        return str(check(settings) or "")
    client = llm.LLMClient(settings)
    reply = "".join(itertools.islice(client.stream("你是连接测试助手，只回答“好”。", "连接测试"), 5))
    return f"模型 {settings.llm_model} 已回复“{reply.strip()[:20]}”"
