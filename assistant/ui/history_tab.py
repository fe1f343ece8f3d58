"""The 历史 (history) tab: the writer's finished drafts kept on the server, listed with title, type and time;
open one in the 起草 tab, duplicate it as the start of a new draft, or delete it (asked first).

Storage is ``history.History``; every call names the logged-in writer, so a list, an open or a delete can
only ever reach that writer's own drafts.
"""

from __future__ import annotations

import time

import gradio as gr

from ..doctypes import load_doctypes
from ..errors import UserError
from ..history import History
from .draft_tab import DraftTab
from .session import user_of
from .views import LiveSettings

HEADERS = ["标题", "文种", "修改时间"]


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


class HistoryTab:
    def __init__(self, live: LiveSettings, draft_tab: DraftTab, tabs: gr.Tabs) -> None:
        self.live = live
        self.draft_tab = draft_tab
        self.tabs = tabs
        self.labels = {t.name: t.label for t in load_doctypes(live.get().prompts_dir).values()}
        self.ids = gr.State([])
        self.selected = gr.State(None)
        gr.Markdown(
            "每篇完成的草稿都自动保存在服务器上（只有您本人能看到）。选中一篇后可打开、复制为新稿或删除。"
        )
        self.table = gr.Dataframe(
            headers=HEADERS,
            value=None,
            interactive=False,
            wrap=True,
            label="我的草稿",
            elem_id="history-table",
        )
        with gr.Row():
            self.open_btn = gr.Button("打开", variant="primary", elem_id="history-open")
            self.copy_btn = gr.Button("复制为新稿", elem_id="history-copy")
            self.delete_btn = gr.Button("删除", variant="stop", elem_id="history-delete")
            self.refresh_btn = gr.Button("刷新", elem_id="history-refresh")
        with gr.Row(visible=False) as self.confirm_row:
            self.confirm_text = gr.Markdown(elem_id="history-confirm-text")
            self.confirm_btn = gr.Button("确认删除", variant="stop", scale=0, elem_id="history-confirm")
            self.cancel_btn = gr.Button("取消", scale=0, elem_id="history-cancel")
        self.status = gr.Markdown(elem_id="history-status")

    def wire(self, tab: gr.Tab) -> None:
        private = {"api_visibility": "private", "show_progress": "hidden"}
        listing = [self.table, self.ids, self.selected, self.confirm_row]
        tab.select(self.refresh, outputs=listing, **private)
        self.refresh_btn.click(self.refresh, outputs=listing, **private)
        self.table.select(self.select, inputs=[self.ids], outputs=[self.selected, self.status], **private)
        opened = [*self.draft_tab.record_outputs, self.tabs, self.status]
        self.open_btn.click(
            self.open, inputs=[self.selected, self.draft_tab.outline.rev], outputs=opened, **private
        )
        self.copy_btn.click(
            self.duplicate, inputs=[self.selected, self.draft_tab.outline.rev], outputs=opened, **private
        )
        self.delete_btn.click(
            self.ask_delete,
            inputs=[self.selected, self.ids],
            outputs=[self.confirm_row, self.confirm_text, self.status],
            **private,
        )
        self.cancel_btn.click(
            lambda: (gr.update(visible=False), "已取消删除。"),
            outputs=[self.confirm_row, self.status],
            **private,
        )
        self.confirm_btn.click(
            self.delete, inputs=[self.selected], outputs=[*listing, self.status], **private
        )

    def _history(self) -> History:
        return History.open(self.live.get())

    def refresh(self, request: gr.Request):
        try:
            entries = self._history().list(user_of(request))
        except UserError as exc:
            return {"headers": HEADERS, "data": [[f"⚠ {exc}", "", ""]]}, [], None, gr.update(visible=False)
        rows = [
            [e.title, self.labels.get(e.doc_type, e.doc_type or "未识别"), _when(e.updated)] for e in entries
        ]
        data = rows or [["（还没有草稿：在“起草”页生成正文后会自动保存在这里）", "", ""]]
        return {"headers": HEADERS, "data": data}, [e.id for e in entries], None, gr.update(visible=False)

    def select(self, ids, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if not isinstance(row, int) or not 0 <= row < len(ids or []):
            return None, ""
        return ids[row], f"已选中第 {row + 1} 篇。"

    def open(self, draft_id, rev, request: gr.Request):
        if not draft_id:
            return {self.status: "⚠ 请先在列表中点选一篇草稿。"}
        try:
            record = self._history().get(user_of(request), draft_id)
        except UserError as exc:
            return {self.status: f"⚠ {exc}"}
        if record is None:
            return {self.status: "⚠ 这篇草稿已不存在（可能已被删除），请刷新列表。"}
        update = self.draft_tab.show_record(record, rev, "已从“历史”打开这篇草稿。")
        return update | {self.tabs: gr.Tabs(selected="draft"), self.status: ""}

    def duplicate(self, draft_id, rev, request: gr.Request):
        if not draft_id:
            return {self.status: "⚠ 请先在列表中点选一篇草稿。"}
        try:
            history = self._history()
            copy_id = history.duplicate(user_of(request), draft_id)
            record = history.get(user_of(request), copy_id) if copy_id else None
        except UserError as exc:
            return {self.status: f"⚠ {exc}"}
        if record is None:
            return {self.status: "⚠ 这篇草稿已不存在（可能已被删除），请刷新列表。"}
        update = self.draft_tab.show_record(
            record, rev, "已复制为新稿：可修改要求或提纲后重新生成，原稿不变。"
        )
        return update | {self.tabs: gr.Tabs(selected="draft"), self.status: ""}

    def ask_delete(self, draft_id, ids):
        if not draft_id:
            return gr.update(visible=False), "", "⚠ 请先在列表中点选一篇草稿。"
        return gr.update(visible=True), "**确定删除所选草稿吗？**删除后无法恢复。", ""

    def delete(self, draft_id, request: gr.Request):
        try:
            removed = self._history().delete(user_of(request), draft_id or "")
        except UserError as exc:
            return (*self.refresh(request), f"⚠ {exc}")
        return (*self.refresh(request), "已删除。" if removed else "⚠ 这篇草稿已不存在。")
