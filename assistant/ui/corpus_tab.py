"""The 范文库 (corpus) tab: search the library with type and role filters, see a document as it was parsed
(type, warnings, headings and roles), upload documents, correct a type, delete, re-index.

Only wiring over ``ingest``, ``retrieval`` and ``loaders`` (whose ``SUPPORTED_SUFFIXES`` decide what may be
uploaded); notices go to the tab's status line. An upload is read with the same loader the index uses *before*
it is copied, so a file that cannot be read is reported by name and never enters ``corpus_dir``; names are
sanitised (directories stripped, Chinese kept). The draft tab sees every change at once: ``Retriever.open``
reloads when the index manifest changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from ..doctypes import load_doctypes
from ..errors import UserError, describe_os_error
from ..index import ingest, worker
from ..index.loaders import SUPPORTED_SUFFIXES
from ..index.retrieval import Retriever
from ..records import ROLES
from .library_view import document_html, hits_html
from .render import ROLE_NAMES
from .views import LiveSettings, document_rows, safe_upload_name, unique_destination

HEADERS = ["标题", "文件", "文种", "章节数", "片段数"]


class CorpusTab:
    def __init__(self, live: LiveSettings) -> None:
        self.live = live
        settings = live.get()
        types = load_doctypes(settings.prompts_dir)
        self.type_choices = [(t.label, t.name) for t in types.values()]
        self.labels = {t.name: t.label for t in types.values()}

        with gr.Row(equal_height=True):
            self.query = gr.Textbox(
                label="检索范文库", placeholder="例如：三会一课落实不到位", scale=4, elem_id="lib-query"
            )
            self.query_type = gr.Dropdown(
                [("全部文种", "")] + [(t.label, t.name) for t in types.values()],
                value="",
                label="文种",
                scale=1,
                min_width=120,
                elem_id="lib-type",
            )
            self.query_role = gr.Dropdown(
                [("全部作用", "")] + [(ROLE_NAMES[r], r) for r in ROLES if r in ROLE_NAMES],
                value="",
                label="作用",
                scale=1,
                min_width=120,
                elem_id="lib-role",
            )
            self.search_btn = gr.Button(
                "检索", variant="primary", scale=0, min_width=80, elem_id="lib-search"
            )
        self.hits = gr.HTML(elem_id="lib-results", max_height=420)
        gr.Markdown(
            f"上传本单位的范文（{' / '.join(SUPPORTED_SUFFIXES)}，GBK 编码亦可）。上传后自动入库，"
            "起草时即可检索引用；文种识别有误时可在下方更正。"
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                self.upload = gr.File(
                    label="上传范文",
                    file_count="multiple",
                    file_types=list(SUPPORTED_SUFFIXES),
                    type="filepath",
                    height=120,
                    elem_id="corpus-upload",
                )
                self.upload_btn = gr.Button("上传并入库", variant="primary", elem_id="corpus-upload-btn")
            with gr.Column(scale=2):
                self.rebuild = gr.Checkbox(label="全部重建（换了嵌入模型或索引损坏时使用）", value=False)
                self.reindex_btn = gr.Button("重新索引", elem_id="reindex-btn")
        self.status = gr.Markdown(elem_id="corpus-status")
        self.table = gr.Dataframe(
            headers=HEADERS,
            value=None,
            interactive=False,
            wrap=True,
            label="范文列表",
            elem_id="corpus-table",
        )
        with gr.Row():
            self.doc = gr.Dropdown([], label="选择文档", scale=3, elem_id="corpus-doc")
            self.new_type = gr.Dropdown(
                self.type_choices, value=None, label="更正文种为", scale=2, elem_id="corpus-type"
            )
            self.type_btn = gr.Button("更正文种", scale=1, elem_id="corpus-type-btn")
            self.delete_btn = gr.Button("删除所选文档", variant="stop", scale=1, elem_id="corpus-delete-btn")
        with gr.Row(visible=False) as self.confirm_row:  # a deletion is asked twice
            self.confirm_text = gr.Markdown(elem_id="corpus-confirm-text")
            self.confirm_btn = gr.Button("确认删除", variant="stop", scale=0, elem_id="corpus-confirm-btn")
            self.cancel_btn = gr.Button("取消", scale=0, elem_id="corpus-cancel-btn")
        self.doc_view = gr.HTML(elem_id="doc-view")
        self._wire()

    def _wire(self) -> None:
        outputs = [self.status, self.table, self.doc, self.upload]
        common = {
            "api_visibility": "private",
            "show_progress": "hidden",
            "concurrency_limit": 1,
            "concurrency_id": "corpus",
        }
        self.upload_btn.click(self.add_files, inputs=[self.upload], outputs=outputs, **common)
        self.reindex_btn.click(self.reindex, inputs=[self.rebuild], outputs=outputs, **common)
        self.type_btn.click(self.set_type, inputs=[self.doc, self.new_type], outputs=outputs, **common)
        self.delete_btn.click(
            self.ask_delete,
            inputs=[self.doc],
            outputs=[self.status, self.confirm_row, self.confirm_text],
            api_visibility="private",
            show_progress="hidden",
        )
        self.confirm_btn.click(self.delete, inputs=[self.doc], outputs=[*outputs, self.confirm_row], **common)
        self.cancel_btn.click(
            lambda: ("已取消删除。", gr.update(visible=False)),
            outputs=[self.status, self.confirm_row],
            api_visibility="private",
            show_progress="hidden",
        )
        self.doc.change(
            self.current_type,
            inputs=[self.doc],
            outputs=[self.new_type, self.confirm_row, self.doc_view],
            api_visibility="private",
            show_progress="hidden",
        )
        search = {"inputs": [self.query, self.query_type, self.query_role], "outputs": [self.hits]}
        self.search_btn.click(self.search, **search, api_visibility="private", show_progress="hidden")
        self.query.submit(self.search, **search, api_visibility="private", show_progress="hidden")

    def wire_load(self, app: gr.Blocks) -> None:
        app.load(
            self.refresh_view,
            outputs=[self.table, self.doc],
            api_visibility="private",
            show_progress="hidden",
        )

    # ---- views ---------------------------------------------------------------------------------------

    def refresh_view(self) -> tuple[dict, Any]:
        try:
            documents = ingest.list_documents(self.live.get())
        except UserError:
            documents = []
        rows = document_rows(documents, self.labels)
        choices = [(f"{row[0]}（{row[1]}）", doc["doc_id"]) for row, doc in zip(rows, documents, strict=True)]
        return {
            "headers": HEADERS,
            "data": rows
            or [["（范文库为空：请在上方“上传范文”处选择文件，点“上传并入库”）", "", "", "", ""]],
        }, gr.update(choices=choices, value=None)

    def current_type(self, doc_id: str | None):
        """Preselect the chosen document's current type, so "更正文种" starts from what is indexed; a
        pending deletion question is withdrawn when the selection changes."""
        hide = gr.update(visible=False)
        if not doc_id:
            return gr.update(value=None), hide, ""
        settings = self.live.get()
        docs = {d["doc_id"]: d for d in ingest.list_documents(settings)}
        doc = docs.get(doc_id, {})
        try:
            view = document_html(doc, ingest.document_sections(settings, doc_id), self.labels)
        except UserError as exc:
            view = f"<p>⚠ {exc}</p>"
        return gr.update(value=doc.get("doc_type") or None), hide, view

    def search(self, query: str, doc_type: str, role: str) -> str:
        query = (query or "").strip()
        if not query:
            return "<p class='gw-note'>请输入要查找的文字。</p>"
        try:
            passages = Retriever.open(self.live.get()).search(
                query, doc_type=doc_type or None, role=role or None, k=10
            )
        except UserError as exc:
            return f"<p>⚠ {exc if 'ingest' not in str(exc) else '范文库还是空的：请先在下方上传范文。'}</p>"
        return hits_html(query, passages, self.labels)

    def _result(self, message: str) -> tuple:
        table, doc = self.refresh_view()
        return message, table, doc, None

    # ---- handlers ------------------------------------------------------------------------------------

    def add_files(self, paths: list[str] | None, progress=gr.Progress()):  # noqa: B008 - how Gradio injects a progress bar
        if not paths:
            return "⚠ 请先选择要上传的文件。", gr.update(), gr.update(), gr.update()
        settings = self.live.get()
        folder = Path(settings.corpus_dir)
        folder.mkdir(parents=True, exist_ok=True)
        problems: list[str] = []
        accepted: list[tuple[Path, str, bytes]] = []
        for raw in paths:
            path = Path(raw)
            try:
                name = safe_upload_name(path.name)
                # read in a limited worker process, as the ingest below does: a hostile upload that would
                # take minutes or gigabytes to parse fails alone and never runs inside the web server
                parts = worker.read_file(path, {}, None, settings, isolate=True)
                if not any(part.document.text.strip() for part in parts):
                    raise UserError(f"文件“{path.name}”没有可读的文字。")
            except UserError as exc:
                problems.append(str(exc) if path.name in str(exc) else f"{path.name}：{exc}")
                continue
            accepted.append((path, name, path.read_bytes()))
        added: list[Path] = []
        created: list[Path] = []  # only these are removed again if the ingest fails
        lines = []
        try:
            for path, name, data in accepted:
                dest, exists = unique_destination(folder, name, data)
                if not exists:
                    created.append(dest)
                    shutil.copyfile(path, dest)
                added.append(dest)
            report = ingest_uploads(added, settings, _progress_callback(progress)) if added else None
        except (UserError, OSError) as exc:
            for dest in created:
                dest.unlink(missing_ok=True)
            message = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
            return self._result(f"⚠ 入库失败，上传的文件未保留，范文库未改动：{message}")
        if report is not None:
            names = "、".join(p.name for p in added)
            lines.append(f"✔ 已入库：{names}。{_report_text(report)}")
            lines.extend(f"⚠ {error}" for error in report.errors)
        for problem in problems:
            lines.append(f"⚠ 未入库（范文库未改动）：{problem}")
        return self._result("\n\n".join(lines))

    def reindex(self, rebuild: bool, progress=gr.Progress()):  # noqa: B008 - how Gradio injects a progress bar
        settings = self.live.get()
        try:
            report = ingest.ingest(
                [Path(settings.corpus_dir)],
                settings,
                rebuild=bool(rebuild),
                progress=_progress_callback(progress),
            )
        except (UserError, OSError) as exc:
            message = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
            return self._result(f"⚠ {message}")
        return self._result(f"✔ 索引已更新。{_report_text(report)}")

    def set_type(self, doc_id: str | None, doc_type: str | None):
        if not doc_id or not doc_type:
            missing = "、".join(n for n, v in (("文档", doc_id), ("文种", doc_type)) if not v)
            return f"⚠ 请先选择{missing}。", gr.update(), gr.update(), gr.update()
        try:
            ingest.set_document_type(self.live.get(), doc_id, doc_type)
        except UserError as exc:
            return self._result(f"⚠ {exc}")
        return self._result(f"✔ 已将文种更正为{self.labels.get(doc_type, doc_type)}，并已重新入库。")

    def _selected(self, doc_id: str | None) -> tuple[str, bool] | None:
        """The chosen document's file path and whether it lies in the corpus folder; None if gone."""
        settings = self.live.get()
        docs = {d["doc_id"]: d for d in ingest.list_documents(settings)}
        if doc_id not in docs:
            return None
        path = docs[doc_id]["path"]
        in_corpus = bool(path) and Path(path).resolve().is_relative_to(Path(settings.corpus_dir).resolve())
        return path, in_corpus

    def ask_delete(self, doc_id: str | None):
        """First click: say what will happen and show 确认删除 / 取消."""
        selected = self._selected(doc_id) if doc_id else None
        if selected is None:
            return "⚠ 请先选择要删除的文档。", gr.update(visible=False), gr.update()
        path, in_corpus = selected
        where = (
            f"文件将移到范文文件夹下的 {ingest.DELETED_FOLDER} 子文件夹，需要时可移回并重新入库"
            if in_corpus
            else "文件不在范文文件夹中，不会被移动"
        )
        question = f"**确定删除“{Path(path).name}”吗？**删除后起草时不再引用它；{where}。"
        return "", gr.update(visible=True), question

    def delete(self, doc_id: str | None):
        hide = gr.update(visible=False)
        selected = self._selected(doc_id) if doc_id else None
        if selected is None:
            return "⚠ 请先选择要删除的文档。", gr.update(), gr.update(), gr.update(), hide
        path, in_corpus = selected
        try:
            moved = ingest.delete_document(self.live.get(), doc_id, remove_file=in_corpus)
        except UserError as exc:
            return (*self._result(f"⚠ {exc}"), hide)
        if moved:
            where = f"，原文件已移到 {moved.parent.name}/{moved.name}（可移回范文文件夹恢复）"
        else:
            where = "（原文件已不存在）" if in_corpus else "（文件不在范文文件夹中，未移动）"
        return (*self._result(f"✔ 已删除“{Path(path).name}”{where}，起草时不再引用。"), hide)


def ingest_uploads(paths: list[Path], settings, progress) -> Any:
    """The one place web uploads are indexed: each file is read and parsed in a worker process with a time
    and memory limit (``isolate``), so a hostile upload fails alone and the server stays up."""
    return ingest.ingest(paths, settings, progress=progress, isolate=True)


def _progress_callback(progress: gr.Progress):
    def callback(done: int, total: int, message: str = "") -> None:
        progress((done, total) if total else None, desc=message or "正在入库…")

    return callback


def _report_text(report: Any) -> str:
    parts = []
    for attr, label in (("added", "新增"), ("updated", "更新"), ("unchanged", "未变"), ("removed", "移除")):
        value = getattr(report, attr, None)
        if isinstance(value, list | tuple | set):
            value = len(value)
        if isinstance(value, int) and value:
            parts.append(f"{label} {value} 篇")
    chunks = getattr(report, "chunks", None)
    if isinstance(chunks, int):
        parts.append(f"共 {chunks} 个片段")
    return "（" + "，".join(parts) + "）" if parts else ""
