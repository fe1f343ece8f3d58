"""The 起草 (draft) tab: the request form with materials pasted or attached, the structured outline, the
streamed draft on its workbench, and the sources and checklist beside it.

Only wiring: outlines, retrieval, text and checks are made by ``draft.pipeline``; drafting runs in a worker
thread whose ``on_event`` feeds the page (``stream``), with progress as “第 2/4 部分：…” in the status line
(notices never cover the text). Each browser tab works on its own draft: the tab keeps the id of its draft
in ``sessionStorage`` and a reload reopens that draft from the writer's history on the server; another tab
has its own id. Every finished draft is saved to the history at once, and every later change updates it.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..doctypes import load_doctypes
from ..draft import pipeline as drafting
from ..errors import UserError
from ..history import History
from ..index import ingest
from ..index.loaders import load_document
from ..records import Draft, Outline
from . import render
from .outline_editor import OutlineEditor
from .session import settings_for, user_of
from .stream import StreamView, stream_pipeline
from .views import MATERIAL_SUFFIXES, LiveSettings, build_request, missing_fields, request_form_values
from .workbench import LIBRARY_EMPTY, Workbench, friendly, save_record

RESTORE_JS = "(v, r) => [sessionStorage.getItem('gongwen-draft-id') || '', r]"
REMEMBER_JS = """(v) => {
  if (v) sessionStorage.setItem('gongwen-draft-id', v); else sessionStorage.removeItem('gongwen-draft-id');
  return v;
}"""
SHOW_OUTLINE_JS = """() => setTimeout(() => {
  const status = document.querySelector('#draft-status');
  if (status && status.innerText.startsWith('提纲已生成')) {
    document.querySelector('#outline-head')?.scrollIntoView({block: 'start'});
  }
}, 200)"""
STATE_JS = "(v) => { window.__gwState = v; if (String(v).startsWith('saved') || v === 'clean') window.__gwDirty = false; return v; }"


def read_materials(paths: list[str] | None) -> list[str]:
    """The texts of the attached material files; a bad file raises ``UserError`` naming it."""
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


def all_materials(pasted: str | None, paths: list[str] | None) -> list[str]:
    pasted = (pasted or "").strip()
    return ([pasted] if pasted else []) + read_materials(paths)


def library_summary(settings, labels: dict[str, str]) -> str:
    """What the library holds, in one line for the 起草 tab."""
    try:
        documents = ingest.list_documents(settings)
    except UserError as exc:  # a damaged index, or one being rebuilt: say so rather than "empty"
        return friendly(exc)
    if not documents:
        return LIBRARY_EMPTY
    counts: dict[str, int] = {}
    for doc in documents:
        name = labels.get(doc.get("doc_type") or "", "未识别文种")
        counts[name] = counts.get(name, 0) + 1
    parts = "、".join(f"{name} {n} 篇" for name, n in counts.items())
    return f"范文库：共 {len(documents)} 篇（{parts}），起草时从中检索引用。"


class DraftTab:
    def __init__(self, live: LiveSettings, endpoint: gr.State) -> None:
        self.live = live
        self.endpoint = endpoint
        settings = live.get()
        types = load_doctypes(settings.prompts_dir)
        self.labels = {t.name: t.label for t in types.values()}
        self.doc = gr.State(None)
        self.draft_id = gr.Textbox("", visible="hidden", elem_id="draft-id")
        self.work_state = gr.Textbox("clean", visible="hidden", elem_id="work-state")
        with gr.Row(equal_height=True, elem_id="gw-toolbar"):
            self.outline_btn = gr.Button("生成提纲", scale=0, min_width=100, elem_id="outline-btn")
            self.draft_btn = gr.Button(
                "生成正文", variant="primary", scale=0, min_width=100, elem_id="draft-btn"
            )
            self.new_btn = gr.Button("新建", scale=0, min_width=70, elem_id="new-btn")
            self.status = gr.Markdown("", elem_id="draft-status", container=False)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300, elem_id="request-form"):
                self.library = gr.Markdown(elem_id="library-hint")
                self.doc_type = gr.Dropdown(
                    [(t.label, t.name) for t in types.values()], value=None, label="文种", elem_id="doc-type"
                )
                self.topic = gr.Textbox(
                    label="主题", placeholder="例如：2024年度抓基层党建工作", elem_id="topic"
                )
                with gr.Row():
                    self.unit = gr.Textbox(
                        label="单位", placeholder="例如：市医保局机关党支部", elem_id="unit"
                    )
                    self.occasion = gr.Textbox(
                        label="场合 / 会议", placeholder="例如：推进会", elem_id="occasion"
                    )
                self.points = gr.Textbox(label="要点（每行一条）", lines=3, elem_id="points")
                self.length = gr.Textbox(
                    label="目标字数", placeholder="留空按文种常规篇幅", max_lines=1, elem_id="length"
                )
                with gr.Tabs():
                    with gr.Tab("粘贴材料"):
                        self.materials_text = gr.Textbox(
                            label="材料（可直接粘贴：数字、做法、成效等事实，会被引用）",
                            lines=4,
                            elem_id="materials-text",
                        )
                    with gr.Tab("上传材料文件"):
                        self.materials = gr.File(
                            label="材料文件（.txt / .md / .docx）",
                            file_count="multiple",
                            file_types=list(MATERIAL_SUFFIXES),
                            type="filepath",
                            height=90,
                            elem_id="materials-files",
                        )
                gr.Markdown("#### 提纲", elem_id="outline-head")
                self.outline = OutlineEditor(settings.prompts_dir, self.status)
            with gr.Column(scale=5, min_width=440, elem_id="draft-column"):
                self.bench = Workbench(live, self.doc, endpoint, self.status)
            with gr.Column(scale=3, min_width=280, elem_id="side-column"):
                self.bench.build_side()
        self.form = [
            self.doc_type,
            self.topic,
            self.unit,
            self.occasion,
            self.points,
            self.length,
            self.materials_text,
            self.materials,
        ]
        self._wire()

    # ---- wiring ----------------------------------------------------------------------------------------

    @property
    def record_outputs(self) -> list:
        """Everything ``show_record`` fills (for the history tab's 打开)."""
        return [
            *self.form[:-1],
            self.outline.state,
            self.outline.rev,
            self.doc,
            self.bench.undo,
            self.draft_id,
            self.work_state,
            self.status,
            *self.bench.outputs,
        ]

    def _wire(self) -> None:
        common = {
            "api_visibility": "private",
            "show_progress": "hidden",
            "concurrency_limit": 4,
            "concurrency_id": "draft",
        }
        self.outline_btn.click(
            self.make_outline,
            inputs=[*self.form, self.outline.rev],
            outputs=[self.outline.state, self.outline.rev, self.status],
            **common,
        ).then(None, js=SHOW_OUTLINE_JS, api_visibility="private", show_progress="hidden")
        self.stream_outputs = list(
            dict.fromkeys(
                [self.status, self.work_state, self.outline.state, self.outline.rev, *self.record_outputs]
            )
        )
        self.draft_btn.click(
            self.write,
            inputs=[*self.form, self.outline.state, self.outline.rev, self.endpoint],
            outputs=self.stream_outputs,
            **common,
        )
        self.new_btn.click(
            self.new_draft,
            inputs=[self.outline.rev],
            outputs=self.record_outputs,
            api_visibility="private",
            show_progress="hidden",
        )
        self.bench.wire([self.draft_id, self.work_state], self._save)
        self.draft_id.change(
            None, inputs=[self.draft_id], js=REMEMBER_JS, api_visibility="private", show_progress="hidden"
        )
        self.work_state.change(
            None, inputs=[self.work_state], js=STATE_JS, api_visibility="private", show_progress="hidden"
        )

    def wire_load(self, app: gr.Blocks) -> None:
        app.load(
            self.restore,
            inputs=[self.draft_id, self.outline.rev],
            outputs=[*self.record_outputs, self.library],
            js=RESTORE_JS,
            api_visibility="private",
            show_progress="hidden",
        )

    def _save(self, doc, draft: Draft, request):
        doc = save_record(self.live, doc, draft, request)
        return doc, doc["id"], f"saved:{doc['id']}"

    # ---- handlers --------------------------------------------------------------------------------------

    def make_outline(
        self, doc_type, topic, unit, occasion, points, length, pasted, files, rev, request: gr.Request
    ):
        missing = missing_fields(doc_type, topic)
        if missing:
            return gr.update(), rev, f"⚠ 请先填写：{'、'.join(missing)}。"
        try:
            draft_request = build_request(
                doc_type, topic, unit, occasion, points, all_materials(pasted, files), length
            )
            outline = drafting.make_outline(draft_request, self.live.get())
        except UserError as exc:
            return gr.update(), rev, f"⚠ {friendly(exc)}"
        return (
            outline.to_dict(),
            (rev or 0) + 1,
            "提纲已生成：可调整各部分的顺序、标题和要点，然后点“生成正文”。",
        )

    def write(
        self,
        doc_type,
        topic,
        unit,
        occasion,
        points,
        length,
        pasted,
        files,
        outline_data,
        rev,
        endpoint,
        request: gr.Request,
    ):
        missing = missing_fields(doc_type, topic)
        if missing:
            yield {self.status: f"⚠ 请先填写：{'、'.join(missing)}。"}
            return
        settings = settings_for(self.live.get(), endpoint, request)
        try:
            draft_request = build_request(
                doc_type, topic, unit, occasion, points, all_materials(pasted, files), length
            )
            outline = None
            if outline_data and outline_data.get("doc_type") == draft_request.doc_type:
                outline = Outline.from_dict(outline_data)
        except UserError as exc:
            yield {self.status: f"⚠ {friendly(exc)}"}
            return
        view = StreamView()
        used = {"outline": outline.to_dict() if outline else None, "total": 0, "index": 0}
        progress = "正在准备提纲和检索范文…"
        bench = self.bench
        yield {
            self.status: progress,
            self.work_state: "busy",
            bench.view: render.stream_html(view, progress),
            bench.diff: gr.update(visible=False),
            bench.dl_docx: gr.update(visible=False),
            bench.dl_md: gr.update(visible=False),
        }
        stream = stream_pipeline(
            lambda on_event: drafting.write_draft(draft_request, settings, outline=outline, on_event=on_event)
        )
        try:
            while True:
                try:
                    kind, payload = next(stream)
                except StopIteration as stop:
                    draft = stop.value
                    break
                view.apply(kind, payload)
                if kind == "outline":
                    data = payload.to_dict() if isinstance(payload, Outline) else dict(payload)
                    used["outline"], used["total"] = data, len(data.get("items") or [])
                    if outline is None:
                        rev = (rev or 0) + 1
                        yield {self.outline.state: data, self.outline.rev: rev}
                elif kind == "section_start":
                    data = payload if isinstance(payload, dict) else {}
                    used["index"] = int(data.get("index") or used["index"] + 1)
                    total = int(data.get("total") or used["total"] or used["index"])
                    heading = str(data.get("heading") or "")
                    progress = f"第 {min(used['index'], total)}/{total} 部分：{heading}…"
                    yield {self.status: progress, bench.view: render.stream_html(view, progress)}
                elif kind in ("section_delta", "section_done"):
                    yield {bench.view: render.stream_html(view, progress)}
        except UserError as exc:
            yield {
                self.status: f"⚠ {friendly(exc)}",
                self.work_state: "dirty",
                bench.view: render.empty_html(friendly(exc)),
            }
            return
        if draft.outline is None and used["outline"]:
            draft.outline = Outline.from_dict(used["outline"])
        doc = {"id": None, "retrieved": view.retrieved()}
        try:
            doc, draft_id, state = self._save(doc, draft, request)
            status = "草稿已完成，已存入“历史”。点击正文中的句子可查看来源；选择一部分可编辑、重写、扩写、缩写或润色。"
        except UserError as exc:
            doc |= {"draft": draft.to_dict()}
            draft_id, state = "", "dirty"
            status = f"草稿已完成，但未能存入历史：{exc}"
        update = bench.show(draft, retrieved=doc.get("retrieved"))
        update |= {
            self.doc: doc,
            bench.undo: [],
            self.draft_id: draft_id,
            self.work_state: state,
            self.status: status,
        }
        yield update

    def new_draft(self, rev):
        update = self._blank(rev)
        update[self.status] = "已新建：请填写起草要求。之前的草稿在“历史”中。"
        return update

    def _blank(self, rev) -> dict:
        update = {c: "" for c in (self.topic, self.unit, self.occasion, self.points, self.materials_text)}
        update |= {
            self.doc_type: None,
            self.length: None,
            self.outline.state: None,
            self.outline.rev: (rev or 0) + 1,
            self.doc: None,
            self.bench.undo: [],
            self.draft_id: "",
            self.work_state: "clean",
            self.status: "",
        }
        return update | self.bench.cleared()

    def show_record(self, record: dict, rev, status: str) -> dict:
        """The page for a stored record (form, outline, draft); the materials come back as pasted text."""
        form = request_form_values(record.get("request"))
        materials = record.get("materials") or []
        update = {
            self.doc_type: form["doc_type"],
            self.topic: form["topic"],
            self.unit: form["unit"],
            self.occasion: form["occasion"],
            self.points: form["points"],
            self.length: form["length"],
            self.materials_text: "\n\n".join(materials),
            self.outline.state: record.get("outline"),
            self.outline.rev: (rev or 0) + 1,
            self.bench.undo: [],
            self.status: status,
        }
        doc = {k: record.get(k) for k in ("id", "request", "materials", "outline", "draft", "retrieved")}
        update[self.doc] = doc
        update[self.draft_id] = doc.get("id") or ""
        update[self.work_state] = f"saved:{doc.get('id')}"
        if record.get("draft"):
            try:
                update |= self.bench.show(Draft.from_dict(record["draft"]), retrieved=record.get("retrieved"))
            except (TypeError, KeyError, ValueError, UserError):
                update |= self.bench.cleared("这篇草稿的格式已变化，无法显示，请重新生成正文。")
        else:
            update |= self.bench.cleared()
        return update

    def restore(self, draft_id, rev, request: gr.Request):
        settings = self.live.get()
        library = library_summary(settings, self.labels)
        record = None
        if draft_id:
            try:
                record = History.open(settings).get(user_of(request), draft_id)
            except UserError as exc:
                return {self.status: f"⚠ {exc}", self.library: library}
        if record is None:
            return {self.library: library}
        return self.show_record(record, rev, "已打开本窗口正在写的草稿。") | {self.library: library}
