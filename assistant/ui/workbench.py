"""The draft itself as a workbench: the draft view (sentences clickable for their sources), the part tools
(编辑 in place with a copy button, 重写, 扩写, 缩写到 N 字, 润色, 撤销) with a before/after of the last change,
whole-draft copy and the downloads.

Every change goes through ``draft.actions`` and comes back as a new ``Draft``; the previous one is pushed
on a per-session undo stack, the checklist is re-run, the export files rewritten and the record in the
writer's history updated. The page holds the current work as one dict in session state (``doc``: history
id, request, materials, outline, draft, retrieved passages).
"""

from __future__ import annotations

import contextlib
from typing import Any

import gradio as gr

from ..doctypes import get_doctype
from ..draft import actions, export, scoring
from ..draft.parts import draft_parts, part_text
from ..errors import IndexMissingError, InputError, UserError
from ..history import History
from ..index.retrieval import Retriever
from ..records import Draft
from . import exports, render
from .session import settings_for, user_of
from .views import LiveSettings, checklist_markdown, generator_label, safe_filename, warnings_markdown

UNDO_DEPTH = 20
EMPTY_DRAFT = "填写左侧的起草要求，先“生成提纲”，再“生成正文”；正文会显示在这里。"
SOURCE_HINT = "点击正文中的任一句，这里显示它的来源和原文上下文。"
LIBRARY_EMPTY = "范文库还是空的：请先到“范文库”页上传本单位的范文（Word、PDF、文本均可），入库后再起草。"
COPY_JS = """() => {
  const box = document.querySelector('#draft-view .gw-draft');
  if (!box) return;
  const copy = box.cloneNode(true);
  copy.querySelectorAll('.gw-aside, .gw-progress').forEach(x => x.remove());
  const text = Array.from(copy.querySelectorAll('p')).map(p => p.innerText.trim()).filter(Boolean).join('\\n');
  navigator.clipboard.writeText(text);
  window.__gwCopied = text;
}"""
CLICK_JS = """
function gwScroller(node) {
  while (node && node !== document.body) {
    const o = getComputedStyle(node).overflowY;
    if ((o === 'auto' || o === 'scroll') && node.scrollHeight > node.clientHeight) return node;
    node = node.parentElement;
  }
  return null;
}
watch('value', () => {
  const box = gwScroller(element.querySelector('.gw-draft') || element);
  if (element.querySelector('.gw-streaming')) { if (box) box.scrollTop = box.scrollHeight; return; }
  const focus = element.querySelector('[data-focus]');
  if (focus && box) { box.scrollTop = focus.offsetTop - box.offsetTop - 8; } else if (box) { box.scrollTop = 0; }
});
element.addEventListener('click', (e) => {
  const s = e.target.closest('.gw-s');
  if (!s) return;
  element.querySelectorAll('.gw-s.sel').forEach(x => x.classList.remove('sel'));
  s.classList.add('sel');
  const sec = s.closest('[data-key]');
  trigger('click', {src: s.dataset.src || '', kind: s.dataset.kind || '', scope: s.dataset.scope || '',
                    section: sec ? sec.dataset.key : '', sentence: s.textContent});
});
"""


def parse_count(text, what: str) -> int | None:
    """A character count typed in a box: empty is None, else a positive whole number."""
    text = str(text if text is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        return None
    if not text.isdigit() or int(text) <= 0:
        raise InputError(f"{what}应为正整数（如 300），请重新填写。")
    return int(text)


def friendly(exc: UserError) -> str:
    """A user error as the page says it; the CLI's advice about an empty index becomes the UI's own."""
    return LIBRARY_EMPTY if isinstance(exc, IndexMissingError) else str(exc)


def export_files(draft: Draft, sources_appendix: bool = False) -> tuple[str, str]:
    """Write the draft as .docx (GB/T 9704; the source list only when asked) and .md (always with it)."""
    folder = exports.new_folder()  # this server process's export folder, removed when the server stops
    docx_path = folder / safe_filename(draft.title, ".docx")
    md_path = folder / safe_filename(draft.title, ".md")
    export.write_docx(draft, docx_path, sources_appendix=sources_appendix)
    md_path.write_text(export.to_markdown(draft), encoding="utf-8")
    return str(docx_path), str(md_path)


def section_headings(draft: Draft, prompts_dir) -> dict[str, str]:
    headings = {}
    with contextlib.suppress(UserError):
        headings = {s.key: s.heading for s in get_doctype(draft.doc_type, prompts_dir).sections}
    if draft.outline is not None:
        headings |= {i.key: i.heading for i in draft.outline.items}
    return headings


class Workbench:
    """Builds the middle column's draft area; ``outputs`` are the components ``show`` fills."""

    def __init__(self, live: LiveSettings, doc: gr.State, endpoint: gr.State, status: gr.Markdown) -> None:
        self.live = live
        self.doc = doc
        self.endpoint = endpoint
        self.status = status
        self.undo = gr.State([])
        with gr.Column(elem_id="part-tools"), gr.Row(equal_height=True, elem_id="part-row"):
            self.part = gr.Dropdown(
                [],
                label="选择要修改的部分",
                show_label=False,
                container=False,
                scale=3,
                min_width=150,
                elem_id="part-pick",
            )
            self.edit_btn = gr.Button("编辑", size="sm", scale=0, min_width=50, elem_id="part-edit")
            self.rewrite_btn = gr.Button("重写", size="sm", scale=0, min_width=50, elem_id="part-rewrite")
            self.expand_btn = gr.Button("扩写", size="sm", scale=0, min_width=50, elem_id="part-expand")
            self.polish_btn = gr.Button("润色", size="sm", scale=0, min_width=50, elem_id="part-polish")
            self.target = gr.Textbox(
                placeholder="字数",
                show_label=False,
                container=False,
                max_lines=1,
                scale=0,
                min_width=84,
                elem_id="part-target",
            )
            self.shorten_btn = gr.Button("缩写", size="sm", scale=0, min_width=50, elem_id="part-shorten")
            self.undo_btn = gr.Button("撤销", size="sm", scale=0, min_width=50, elem_id="part-undo")
        with gr.Column(visible=False, elem_id="part-editor") as self.editor_box:
            self.editor = gr.Textbox(
                label="编辑这一部分（每段一行；改好后点“保存修改”）",
                lines=8,
                max_lines=30,
                buttons=["copy"],
                elem_id="part-text",
            )
            with gr.Row():
                self.save_btn = gr.Button("保存修改", variant="primary", size="sm", elem_id="part-save")
                self.cancel_btn = gr.Button("取消", size="sm", elem_id="part-cancel")
        self.diff = gr.HTML("", visible=False, elem_id="part-diff")
        self.view = gr.HTML(
            render.empty_html(EMPTY_DRAFT),
            elem_id="draft-view",
            js_on_load=CLICK_JS,
            max_height="72vh",
            autoscroll=False,
            container=True,
            padding=True,
        )
        self.generator = gr.Markdown(elem_id="generator")
        with gr.Row(equal_height=True, elem_id="export-row"):
            self.copy_btn = gr.Button("复制全文", size="sm", scale=0, min_width=90, elem_id="copy-all")
            self.appendix = gr.Checkbox(
                False, label="Word 附来源清单", elem_id="docx-appendix", scale=0, min_width=170
            )
            self.dl_docx = gr.DownloadButton("下载 Word", visible=False, size="sm", elem_id="dl-docx")
            self.dl_md = gr.DownloadButton("下载 Markdown", visible=False, size="sm", elem_id="dl-md")

    def build_side(self) -> None:
        """The right column: the clicked sentence's sources, the checklist, notices, the source list."""
        gr.Markdown("#### 来源")
        self.sources = gr.HTML(f"<p class='gw-note'>{SOURCE_HINT}</p>", elem_id="sentence-sources")
        with gr.Accordion("结构检查", open=True, elem_id="checklist-box"):
            self.checklist = gr.Markdown(elem_id="checklist")
        self.warnings = gr.Markdown(elem_id="draft-warnings")
        with gr.Accordion("全部来源", open=True):
            self.source_list = gr.HTML(elem_id="source-list")

    @property
    def outputs(self) -> list:
        return [
            self.part,
            self.view,
            self.generator,
            self.warnings,
            self.checklist,
            self.source_list,
            self.sources,
            self.dl_docx,
            self.dl_md,
            self.diff,
            self.editor_box,
        ]

    # ---- wiring ----------------------------------------------------------------------------------------

    def wire(self, save_outputs: list, save) -> None:
        """``save(doc, draft, request) -> (doc, *save_outputs values)`` stores a changed draft (history)."""
        self._save = save
        self.save_outputs = list(save_outputs)
        self.work_state = save_outputs[-1]
        changed = [self.doc, self.undo, self.status, *self.outputs, *save_outputs]
        common = {
            "api_visibility": "private",
            "show_progress": "hidden",
            "concurrency_limit": 4,
            "concurrency_id": "draft",
        }
        for button, action in (
            (self.rewrite_btn, "rewrite"),
            (self.expand_btn, "expand"),
            (self.shorten_btn, "shorten"),
            (self.polish_btn, "polish"),
        ):
            button.click(
                self._action(action),
                inputs=[self.doc, self.undo, self.part, self.target, self.appendix, self.endpoint],
                outputs=changed,
                **common,
            )
        self.undo_btn.click(
            self.undo_last,
            inputs=[self.doc, self.undo, self.appendix],
            outputs=changed,
            api_visibility="private",
            show_progress="hidden",
        )
        self.edit_btn.click(
            self.open_editor,
            inputs=[self.doc, self.part],
            outputs=[self.editor_box, self.editor, self.status],
            api_visibility="private",
            show_progress="hidden",
        )
        self.cancel_btn.click(
            lambda: (gr.update(visible=False), "已取消编辑。"),
            outputs=[self.editor_box, self.status],
            api_visibility="private",
            show_progress="hidden",
        )
        self.save_btn.click(
            self.save_edit,
            inputs=[self.doc, self.undo, self.part, self.editor, self.appendix],
            outputs=changed,
            api_visibility="private",
            show_progress="hidden",
        )
        self.view.click(
            self.show_sources,
            inputs=[self.doc],
            outputs=[self.sources, self.part],
            api_visibility="private",
            show_progress="hidden",
        )
        self.copy_btn.click(
            None, js=COPY_JS, outputs=None, api_visibility="private", show_progress="hidden"
        ).then(
            lambda: "已复制全文。", outputs=[self.status], api_visibility="private", show_progress="hidden"
        )
        self.appendix.change(
            self.rewrite_exports,
            inputs=[self.doc, self.appendix],
            outputs=[self.dl_docx, self.dl_md],
            api_visibility="private",
            show_progress="hidden",
        )

    # ---- what the page shows for a draft ---------------------------------------------------------------

    def show(
        self, draft: Draft, appendix: bool = False, diff: str = "", part: str | None = None, retrieved=None
    ) -> dict:
        settings = self.live.get()
        headings = section_headings(draft, settings.prompts_dir)
        parts = draft_parts(draft, headings)
        choices = [(p.label, p.key) for p in parts]
        keys = [p.key for p in parts]
        docx_path, md_path = export_files(draft, appendix)
        return {
            self.part: gr.update(choices=choices, value=part if part in keys else None),
            self.view: render.draft_html(draft, headings, focus=part),
            self.generator: generator_label(draft),
            self.warnings: warnings_markdown(draft.warnings),
            self.checklist: self.checklist_for(draft),
            self.source_list: render.source_list_html(draft, retrieved),
            self.sources: f"<p class='gw-note'>{SOURCE_HINT}</p>",
            self.dl_docx: gr.update(value=docx_path, visible=True),
            self.dl_md: gr.update(value=md_path, visible=True),
            self.diff: gr.update(value=diff, visible=bool(diff)),
            self.editor_box: gr.update(visible=False),
        }

    def cleared(self, message: str = EMPTY_DRAFT) -> dict:
        return {
            self.part: gr.update(choices=[], value=None),
            self.view: render.empty_html(message),
            self.generator: "",
            self.warnings: "",
            self.checklist: "",
            self.source_list: "",
            self.sources: f"<p class='gw-note'>{SOURCE_HINT}</p>",
            self.dl_docx: gr.update(visible=False),
            self.dl_md: gr.update(visible=False),
            self.diff: gr.update(value="", visible=False),
            self.editor_box: gr.update(visible=False),
        }

    def checklist_for(self, draft: Draft) -> str:
        """The checklist beside the draft: the card the pipeline scored for its warnings (``draft.scoring``
        keeps the last few), scored afresh only after an edit."""
        if draft.request is None:
            return ""
        settings = self.live.get()
        try:
            doctype = get_doctype(draft.doc_type, settings.prompts_dir)
            return checklist_markdown(scoring.scorecard(draft, doctype, settings))
        except UserError as exc:
            return f"自动检查未能完成：{exc}"

    # ---- handlers --------------------------------------------------------------------------------------

    def _current(self, doc: dict | None) -> Draft | None:
        if not doc or not doc.get("draft"):
            return None
        return Draft.from_dict(doc["draft"])

    def _changed(self, doc, undo, before: Draft, after: Draft, appendix, status, part, action, request):
        """The page after ``before`` became ``after`` by ``action`` on ``part`` (key, label): undo pushed,
        history updated, before/after shown."""
        key, label = part
        try:
            diff = render.diff_html(label, action, part_text(before, key), part_text(after, key))
        except UserError:
            diff = ""
        undo = ([doc["draft"]] + list(undo or []))[:UNDO_DEPTH]
        try:
            doc, *saved = self._save(doc, after, request)
        except UserError as exc:  # the change stays on the page; the history keeps the previous version
            doc, saved = dict(doc) | {"draft": after.to_dict()}, [gr.update(), "dirty"]
            status = f"{status}（未能存入历史：{exc}）"
        update = self.show(after, appendix, diff, part=key, retrieved=doc.get("retrieved"))
        update |= {self.doc: doc, self.undo: undo, self.status: status}
        return update | dict(zip(self.save_outputs, saved, strict=True))

    def _action(self, action: str):
        name = actions.ACTIONS[action]

        def handler(doc, undo, key, target, appendix, endpoint, request: gr.Request):
            draft = self._current(doc)
            if draft is None:
                yield {self.status: f"⚠ 还没有草稿：请先生成正文，再{name}。"}
                return
            if not key:
                yield {self.status: f"⚠ 请先在“选择要修改的部分”中选一部分，再点“{name}”。"}
                return
            settings = settings_for(self.live.get(), endpoint, request)
            headings = section_headings(draft, settings.prompts_dir)
            label = next((p.label for p in draft_parts(draft, headings) if p.key == key), key)
            yield {self.status: f"正在{name}“{label}”…", self.work_state: "busy"}
            try:
                after = actions.revise_section(
                    draft, key, action, settings, target_chars=parse_count(target, "缩写字数")
                )
            except UserError as exc:
                yield {self.status: f"⚠ {friendly(exc)}", self.work_state: f"saved:{(doc or {}).get('id')}"}
                return
            notes = [w for w in after.warnings if w not in draft.warnings]
            status = f"已{name}“{label}”。可对照下方的修改前后，不满意可点“撤销”。"
            if notes:
                status = "⚠ " + " ".join(notes)
            yield self._changed(doc, undo, draft, after, appendix, status, (key, label), name, request)

        return handler

    def undo_last(self, doc, undo, appendix, request: gr.Request):
        if not undo:
            return {self.status: "⚠ 没有可以撤销的修改。"}
        previous = Draft.from_dict(undo[0])
        doc, *saved = self._save(doc, previous, request)
        update = self.show(previous, appendix, retrieved=doc.get("retrieved"))
        update |= {self.doc: doc, self.undo: list(undo[1:]), self.status: "已撤销上一次修改。"}
        return update | dict(zip(self.save_outputs, saved, strict=True))

    def open_editor(self, doc, key):
        draft = self._current(doc)
        if draft is None:
            return gr.update(visible=False), gr.update(), "⚠ 还没有草稿：请先生成正文。"
        if not key:
            return gr.update(visible=False), gr.update(), "⚠ 请先在“修改哪一部分”中选择要编辑的部分。"
        try:
            text = part_text(draft, key)
        except UserError as exc:
            return gr.update(visible=False), gr.update(), f"⚠ {exc}"
        return gr.update(visible=True), text, "正在编辑：改好后点“保存修改”。"

    def save_edit(self, doc, undo, key, text, appendix, request: gr.Request):
        draft = self._current(doc)
        if draft is None or not key:
            return {self.status: "⚠ 请先选择要编辑的部分。"}
        try:
            after = actions.apply_edit(draft, key, text, self.live.get())
        except UserError as exc:
            return {self.status: f"⚠ {exc}"}
        label = next((p.label for p in draft_parts(after) if p.key == key), key)
        return self._changed(
            doc,
            undo,
            draft,
            after,
            appendix,
            f"已保存对“{label}”的修改，并已重新检查。",
            (key, label),
            "编辑",
            request,
        )

    def show_sources(self, doc, evt: gr.EventData):
        draft = self._current(doc)
        data = getattr(evt, "_data", None) or {}
        if draft is None or not isinstance(data, dict):
            return gr.update(), gr.update()
        numbers = [int(n) for n in str(data.get("src") or "").split(",") if n.strip().isdigit()]
        by_number = {s.number: s for s in draft.sources}
        contexts: dict[str, dict[str, Any]] = {}
        if numbers:
            try:
                retriever = Retriever.open(self.live.get())
                for n in numbers:
                    if n in by_number:
                        with contextlib.suppress(KeyError):
                            contexts[by_number[n].chunk_id] = retriever.context(by_number[n].chunk_id)
            except UserError:
                pass
        html = render.sources_html(
            draft,
            numbers,
            str(data.get("kind") or ""),
            str(data.get("scope") or ""),
            str(data.get("sentence") or ""),
            contexts,
        )
        section = str(data.get("section") or "")
        keys = [p.key for p in draft_parts(draft)]
        return html, (gr.update(value=section) if section in keys else gr.update())

    def rewrite_exports(self, doc, appendix):
        draft = self._current(doc)
        if draft is None:
            return gr.update(), gr.update()
        docx_path, md_path = export_files(draft, bool(appendix))
        return gr.update(value=docx_path, visible=True), gr.update(value=md_path, visible=True)


def save_record(live: LiveSettings, doc: dict | None, draft: Draft, request: Any) -> dict:
    """Store ``draft`` as the work in ``doc`` in the writer's history (a new record when ``doc`` has no id);
    return the new ``doc``."""
    doc = dict(doc or {})
    doc["draft"] = draft.to_dict()
    if draft.request is not None:
        doc["request"] = draft.request.to_dict()
        doc["materials"] = list(draft.request.materials)
    if draft.outline is not None:
        doc["outline"] = draft.outline.to_dict()
    record = {k: doc.get(k) for k in ("request", "materials", "outline", "draft", "retrieved")}
    doc["id"] = History.open(live.get()).save(user_of(request), record, draft_id=doc.get("id"))
    return doc
