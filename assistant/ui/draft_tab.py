"""The 起草 (draft) tab: request form, editable outline, streamed draft, sources, checklist, downloads.

Only wiring: every decision about outlines, retrieval, text and checks is made by ``drafting``,
``retrieval``, ``metrics`` and ``export``. Drafting runs in a worker thread whose ``on_event`` callback feeds
a queue that the Gradio generator drains, so the page shows each section as it is written while the
pipeline stays free of any UI code. Per-writer data lives in ``gr.State`` (this tab) and ``gr.BrowserState``
(the last request and draft, restored after a reload); nothing per-request is shared between sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ..doctypes import get_doctype, load_doctypes
from ..draft import export
from ..draft import pipeline as drafting
from ..errors import UserError
from ..evals import metrics
from ..index.loaders import load_document
from ..index.retrieval import Retriever
from ..records import Draft, DraftRequest, Outline
from . import exports
from .stream import StreamView, stream_pipeline
from .views import (
    MATERIAL_SUFFIXES,
    LiveSettings,
    build_request,
    checklist_markdown,
    context_markdown,
    draft_from_dict,
    generator_label,
    missing_fields,
    outline_from_dict,
    outline_to_text,
    request_form_values,
    safe_filename,
    source_choices,
    text_to_outline,
    warnings_markdown,
)

CONTEXT_HINT = "*点击上方任一来源，在此查看它在原文中的上下文（加粗为引用的片段）。*"
OUTLINE_HELP = (
    "提纲可直接修改：`# ` 行是标题；每个 `## ` 行是一个章节，行末的 `[标记]`（如 `[问题]`）说明该章节的作用，请保留；"
    "章节下以 `- ` 开头的行是要点，可增删改。改好后点“生成正文”。"
)


def read_materials(paths: list[str] | None) -> list[str]:
    """The texts of the uploaded material files; a bad file raises ``UserError`` naming it."""
    texts = []
    for raw in paths or []:
        path = Path(raw)
        if path.suffix.lower() not in MATERIAL_SUFFIXES:
            raise UserError(
                f"材料文件“{path.name}”的类型不受支持：只能使用 {'、'.join(MATERIAL_SUFFIXES)} 文件。"
            )
        document = load_document(path)
        if not document.text.strip():
            raise UserError(f"材料文件“{path.name}”没有可读的文字，请检查后重新上传。")
        texts.append(document.text)
    return texts


def export_files(draft: Draft) -> tuple[str, str]:
    """Write the draft as .docx (GB/T 9704) and .md into a fresh temp folder; return both paths."""
    folder = exports.new_folder()  # removed when the server stops
    docx_path = folder / safe_filename(draft.title, ".docx")
    md_path = folder / safe_filename(draft.title, ".md")
    export.write_docx(draft, docx_path)
    md_path.write_text(export.to_markdown(draft), encoding="utf-8")
    return str(docx_path), str(md_path)


class DraftTab:
    """Builds the tab's components inside the current Blocks and wires their events."""

    def __init__(self, live: LiveSettings) -> None:
        self.live = live
        settings = live.get()
        types = load_doctypes(settings.prompts_dir)
        type_choices = [(f"{t.label}（{t.name}）", t.name) for t in types.values()]

        self.saved = gr.BrowserState({}, storage_key="gongwen-last-draft", secret=_browser_secret(settings))
        self.draft_state = gr.State(None)
        self.outline_state = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=320):
                gr.Markdown("#### 起草要求")
                self.doc_type = gr.Dropdown(type_choices, value=None, label="文种", elem_id="doc-type")
                self.topic = gr.Textbox(
                    label="主题", placeholder="例如：2024年度抓基层党建工作", elem_id="topic"
                )
                self.unit = gr.Textbox(label="单位", placeholder="例如：市医保局机关党支部", elem_id="unit")
                self.occasion = gr.Textbox(
                    label="场合 / 会议", placeholder="例如：全市机关党建工作推进会", elem_id="occasion"
                )
                self.points = gr.Textbox(label="要点（每行一条）", lines=4, elem_id="points")
                self.length = gr.Number(
                    label="目标字数（0 表示按文种常规篇幅）", precision=0, value=None, elem_id="length"
                )
                self.materials = gr.File(
                    label="参考材料（可选，.txt / .md / .docx，其中的数字和事实会被引用）",
                    file_count="multiple",
                    file_types=list(MATERIAL_SUFFIXES),
                    type="filepath",
                    height=110,
                )
                self.outline_btn = gr.Button("生成提纲", elem_id="outline-btn")
                self.outline = gr.Textbox(
                    label="提纲（可编辑）", lines=10, info=OUTLINE_HELP, elem_id="outline"
                )
                self.draft_btn = gr.Button("生成正文", variant="primary", elem_id="draft-btn")
                self.status = gr.Markdown(elem_id="draft-status")
            with gr.Column(scale=6, min_width=420):
                gr.Markdown("#### 正文")
                self.generator = gr.Markdown(elem_id="generator")
                self.warnings = gr.Markdown(elem_id="draft-warnings")
                self.draft_md = gr.Markdown(
                    "*填写左侧要求后，先“生成提纲”，再“生成正文”。*",
                    elem_id="draft-text",
                    max_height=720,
                    container=True,
                    padding=True,
                )
                with gr.Row():
                    self.section = gr.Dropdown(
                        [], label="重写某一节（其余不变）", scale=3, elem_id="section-pick"
                    )
                    self.regen_btn = gr.Button("重写本节", scale=1, elem_id="regen-btn")
                with gr.Row():
                    self.dl_docx = gr.DownloadButton("下载 Word（.docx）", visible=False, elem_id="dl-docx")
                    self.dl_md = gr.DownloadButton("下载 Markdown（.md）", visible=False, elem_id="dl-md")
            with gr.Column(scale=4, min_width=300):
                gr.Markdown("#### 来源（点击查看原文上下文）")
                self.sources = gr.Radio([], label="检索到的范文片段", show_label=False, elem_id="sources")
                self.context = gr.Markdown(
                    CONTEXT_HINT, elem_id="source-context", max_height=420, container=True
                )
        gr.Markdown("#### 结构检查")
        self.checklist = gr.Markdown(elem_id="checklist")
        self._wire()

    # ---- event wiring --------------------------------------------------------------------------------

    def _wire(self) -> None:
        form = [self.doc_type, self.topic, self.unit, self.occasion, self.points, self.materials, self.length]
        self.outline_btn.click(
            self.make_outline,
            inputs=form,
            outputs=[self.outline, self.outline_state, self.status],
            api_visibility="private",
            concurrency_limit=4,
            concurrency_id="draft",
        )
        self.draft_outputs = [
            self.status,
            self.outline,
            self.outline_state,
            self.draft_md,
            self.generator,
            self.warnings,
            self.sources,
            self.context,
            self.checklist,
            self.section,
            self.dl_docx,
            self.dl_md,
            self.draft_state,
            self.saved,
        ]
        self.draft_btn.click(
            self.write,
            inputs=[*form, self.outline, self.outline_state],
            outputs=self.draft_outputs,
            api_visibility="private",
            concurrency_limit=4,
            concurrency_id="draft",
        )
        self.regen_btn.click(
            self.regenerate,
            inputs=[self.draft_state, self.section, self.outline_state],
            outputs=self.draft_outputs,
            api_visibility="private",
            concurrency_limit=4,
            concurrency_id="draft",
        )
        self.sources.change(
            self.show_context, inputs=[self.sources], outputs=[self.context], api_visibility="private"
        )

    def wire_restore(self, app: gr.Blocks) -> None:
        """On page load, put the writer's last request, outline and draft back (from the browser)."""
        app.load(
            self.restore,
            inputs=[self.saved],
            outputs=[
                self.doc_type,
                self.topic,
                self.unit,
                self.occasion,
                self.points,
                self.length,
                *self.draft_outputs[:-1],
            ],
            api_visibility="private",
        )

    # ---- handlers ------------------------------------------------------------------------------------

    def make_outline(self, doc_type, topic, unit, occasion, points, materials, length):
        missing = missing_fields(doc_type, topic)
        if missing:
            message = f"请先填写：{'、'.join(missing)}。"
            gr.Warning(message, title="缺少必填项")
            return gr.update(), gr.update(), f"⚠ {message}"
        try:
            request = build_request(
                doc_type, topic, unit, occasion, points, read_materials(materials), length
            )
            outline = drafting.make_outline(request, self.live.get())
        except UserError as exc:
            gr.Warning(str(exc), title="无法生成提纲")
            return gr.update(), gr.update(), f"⚠ {exc}"
        return outline_to_text(outline), outline.to_dict(), "提纲已生成，可修改后点“生成正文”。"

    def write(self, doc_type, topic, unit, occasion, points, materials, length, outline_text, outline_data):
        missing = missing_fields(doc_type, topic)
        if missing:
            message = f"请先填写：{'、'.join(missing)}。"
            gr.Warning(message, title="缺少必填项")
            yield {self.status: f"⚠ {message}"}
            return
        settings = self.live.get()
        try:
            request = build_request(
                doc_type, topic, unit, occasion, points, read_materials(materials), length
            )
            outline = None
            if (
                outline_data
                and (outline_text or "").strip()
                and outline_data.get("doc_type") == request.doc_type
            ):
                outline = text_to_outline(outline_text, outline_from_dict(outline_data))
        except UserError as exc:
            gr.Warning(str(exc), title="无法起草")
            yield {self.status: f"⚠ {exc}"}
            return
        yield from self._stream(
            lambda on_event: drafting.write_draft(request, settings, outline=outline, on_event=on_event),
            request,
            outline.to_dict() if outline is not None else None,
        )

    def regenerate(self, draft_data, key, outline_data):
        if not draft_data:
            gr.Warning("还没有草稿：请先生成正文，再选择要重写的一节。", title="无法重写")
            yield {self.status: "⚠ 还没有草稿：请先生成正文。"}
            return
        if not key:
            gr.Warning("请先在“重写某一节”中选择要重写的一节。", title="无法重写")
            yield {self.status: "⚠ 请先选择要重写的一节。"}
            return
        draft = draft_from_dict(draft_data)
        settings = self.live.get()
        yield from self._stream(
            lambda on_event: drafting.regenerate_section(draft, key, settings, on_event=on_event),
            draft.request,
            outline_data,
            base=draft,
            retrieved=draft_data.get("retrieved"),
        )

    def _stream(
        self,
        run,
        request: DraftRequest | None,
        outline_data: dict | None,
        base: Draft | None = None,
        retrieved: dict | None = None,
    ):
        view = StreamView()
        if isinstance(retrieved, dict):  # a regenerated section's list is replaced, the others kept
            view.passages = {str(k): list(v) for k, v in retrieved.items() if isinstance(v, list)}
        if base is not None:
            view.title = base.title
            for section in base.sections:
                view.order.append(section.key)
                view.text[section.key] = section.text
        shown: set[str] = set()
        yield {
            self.status: "正在起草…",
            self.dl_docx: gr.update(visible=False),
            self.dl_md: gr.update(visible=False),
        }
        stream = stream_pipeline(run)
        try:
            while True:
                try:
                    kind, payload = next(stream)
                except StopIteration as stop:
                    draft = stop.value
                    break
                view.apply(kind, payload)
                shown |= _warn_new(view.warnings, shown)
                if kind == "outline":
                    outline_data = payload.to_dict() if isinstance(payload, Outline) else dict(payload)
                    text = outline_to_text(outline_from_dict(outline_data))
                    yield {self.outline: text, self.outline_state: outline_data}
                elif kind in ("section_start", "section_delta", "section_done"):
                    update = {self.draft_md: view.markdown(), self.warnings: warnings_markdown(view.warnings)}
                    if kind == "section_done":
                        update[self.checklist] = self._checklist(view.markdown(), request)
                    yield update
        except UserError as exc:
            gr.Warning(str(exc), title="起草失败")
            yield {self.status: f"⚠ {exc}"}
            return
        _warn_new(draft.warnings, shown)
        yield self._finished(draft, outline_data, "草稿已完成。", view.retrieved())

    def _checklist(self, draft_or_text: Draft | str, request: DraftRequest | None) -> str:
        if request is None:
            return ""
        doctype = get_doctype(request.doc_type, self.live.get().prompts_dir)
        if isinstance(draft_or_text, str):
            draft_or_text = draft_or_text.replace("*（正在生成…）*", "")
        return checklist_markdown(metrics.score_draft(draft_or_text, doctype, request=request))

    def _finished(
        self, draft: Draft, outline_data: dict | None, status: str, retrieved: dict | None = None
    ) -> dict:
        """The page once a draft is complete. ``retrieved``: the passages retrieved per section (cited or
        not), kept with the draft's browser copy so the sources panel survives a reload and a rewrite."""
        docx_path, md_path = export_files(draft)
        choices = [(s.heading or s.key, s.key) for s in draft.sections if s.key not in ("opening", "closing")]
        retrieved = retrieved if isinstance(retrieved, dict) else {}
        data = draft.to_dict() | {"retrieved": retrieved}
        update = {
            self.status: status,
            self.draft_md: export.to_markdown(draft),
            self.generator: generator_label(draft),
            self.warnings: warnings_markdown(draft.warnings),
            self.sources: gr.update(choices=source_choices(draft, retrieved), value=None),
            self.context: CONTEXT_HINT,
            self.checklist: self._checklist(draft, draft.request),
            self.section: gr.update(choices=choices, value=None),
            self.dl_docx: gr.update(value=docx_path, visible=True),
            self.dl_md: gr.update(value=md_path, visible=True),
            self.draft_state: data,
            self.saved: {"request": _saved_request(draft.request), "outline": outline_data, "draft": data},
        }
        if outline_data:
            update[self.outline] = outline_to_text(outline_from_dict(outline_data))
            update[self.outline_state] = outline_data
        return update

    def show_context(self, chunk_id: str | None) -> str:
        if not chunk_id:
            return CONTEXT_HINT
        try:
            return context_markdown(Retriever.open(self.live.get()).context(chunk_id))
        except UserError as exc:
            return f"⚠ {exc}"
        except KeyError:
            return "⚠ 该片段已不在索引中（范文可能已被删除或重新入库），请重新生成正文。"

    def restore(self, saved: dict | None):
        saved = saved or {}
        form = request_form_values(saved.get("request"))
        keep = gr.update()
        updates: list[Any] = [
            form["doc_type"] or keep,
            form["topic"] or keep,
            form["unit"] or keep,
            form["occasion"] or keep,
            form["points"] or keep,
            form["length"] if form["length"] else keep,
        ]
        finished: dict = {}
        if saved.get("draft"):
            try:
                draft = draft_from_dict(saved["draft"])
                retrieved = saved["draft"].get("retrieved")
                finished = self._finished(draft, saved.get("outline"), "已恢复上次的草稿。", retrieved)
            except (TypeError, KeyError, ValueError, UserError):
                finished = {self.status: "上次的草稿无法恢复（格式已变化），请重新生成。"}
        updates.extend(finished.get(c, keep) for c in self.draft_outputs[:-1])
        return updates


def _warn_new(messages: list[str], shown: set[str]) -> set[str]:
    """Show each warning not shown yet as a toast; return the messages now shown."""
    new = [m for m in dict.fromkeys(messages) if m not in shown]
    for message in new:
        gr.Warning(message, title="注意", duration=20)
    return set(new)


def _saved_request(request: DraftRequest | None) -> dict:
    if request is None:
        return {}
    data = request.to_dict()
    data.pop("materials", None)  # may be long; the writer re-attaches files
    return data


def _browser_secret(settings) -> str:
    """A stable key for the browser copy of the last draft, so it survives a server restart."""
    import hashlib

    return hashlib.sha256(f"gongwen-ui:{Path(settings.index_dir).resolve()}".encode()).hexdigest()[:32]
