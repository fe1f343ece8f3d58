"""The structured outline editor: each section with its role in Chinese and its heading, the points under
it, buttons to move or remove either, a choice of section for each point, and a way to add both; no
Markdown or tags to type.

Built with ``gr.render`` over the outline held in session state (``outline_model`` makes every change).
The editor is re-drawn only when the structure changes (``rev`` counts those); typing in a heading or point
updates the state when the box loses focus, without re-drawing, so the cursor is never taken away.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..doctypes import load_doctypes
from ..errors import UserError
from . import outline_model as model
from .render import ROLE_NAMES

HELP = "↑ ↓ 调整部分的顺序，✕ 删除；每条要点右侧可选择它所在的部分。"
HINT = "先填写左侧起草要求，点“生成提纲”，提纲会显示在这里，可调整各部分的顺序、标题和要点。"


class OutlineEditor:
    """Owns ``state`` (the outline dict or None) and ``rev`` (bumped to redraw); ``status`` is the tab's
    status line, where a refused edit says why."""

    def __init__(self, prompts_dir, status: gr.Markdown) -> None:
        self.prompts_dir = prompts_dir
        self.status = status
        self.state = gr.State(None)
        self.rev = gr.State(0)
        with gr.Column(elem_id="outline-editor"):
            self._render()

    def _schema(self, doc_type: str) -> list[dict[str, Any]]:
        doctype = load_doctypes(self.prompts_dir).get(doc_type)
        if doctype is None:
            return []
        numbering = {"subheadings": "headings", "items": "items", "none": "plain"}
        return [
            {
                "key": s.key,
                "role": s.role,
                "heading": s.heading,
                "form": s.form,
                "numbering": "topics" if s.form == "topics" else numbering.get(s.numbering, "headings"),
            }
            for s in doctype.sections
        ]

    def _change(self, fn, *args):
        """An edit that redraws the editor (structure changed)."""

        def handler(outline, rev):
            if not outline:
                return outline, rev, gr.update()
            try:
                return fn(outline, *args), rev + 1, ""
            except UserError as exc:
                return outline, rev, f"⚠ {exc}"

        return handler

    def _quiet(self, fn, *args):
        """An edit of words that keeps the editor as it is (the writer may be typing in the next box)."""

        def handler(outline, text):
            if not outline:
                return outline, gr.update()
            try:
                return fn(outline, *args, text), ""
            except UserError as exc:
                return outline, f"⚠ {exc}"

        return handler

    def _render(self) -> None:
        editor = self

        @gr.render(inputs=[self.state], triggers=[self.rev.change], show_progress="hidden")
        def draw(outline):
            if not outline or not outline.get("items"):
                gr.Markdown(HINT, elem_id="outline-hint")
                return
            state, rev, status = editor.state, editor.rev, editor.status
            common = {"api_visibility": "private", "show_progress": "hidden"}
            gr.Markdown(HELP, elem_classes=["gw-note"])
            title = gr.Textbox(
                outline["title"], label="标题", elem_id="ol-title", max_lines=2, interactive=True
            )
            title.blur(editor._quiet(model.set_title), [state, title], [state, status], **common)
            items = outline["items"]
            choices = [(item["heading"], item["key"]) for item in items]
            for i, item in enumerate(items):
                role = ROLE_NAMES.get(item["role"], "其他")
                with gr.Group(elem_classes=["gw-osec"]):
                    with gr.Row(equal_height=True):
                        heading = gr.Textbox(
                            item["heading"],
                            label=f"第 {i + 1} 部分 · {role}",
                            elem_id=f"ol-h-{i}",
                            interactive=True,
                            scale=5,
                            min_width=100,
                            max_lines=1,
                        )
                        up = gr.Button("↑", size="sm", scale=0, min_width=30, elem_id=f"ol-up-{i}")
                        down = gr.Button("↓", size="sm", scale=0, min_width=30, elem_id=f"ol-down-{i}")
                        drop = gr.Button("✕", size="sm", scale=0, min_width=30, elem_id=f"ol-rm-{i}")
                    heading.blur(
                        editor._quiet(model.set_heading, i), [state, heading], [state, status], **common
                    )
                    up.click(
                        editor._change(model.move_section, i, -1),
                        [state, rev],
                        [state, rev, status],
                        **common,
                    )
                    down.click(
                        editor._change(model.move_section, i, 1), [state, rev], [state, rev, status], **common
                    )
                    drop.click(
                        editor._change(model.remove_section, i), [state, rev], [state, rev, status], **common
                    )
                    for j, point in enumerate(item["points"]):
                        with gr.Row(equal_height=True):
                            text = gr.Textbox(
                                point,
                                label="要点",
                                show_label=False,
                                container=False,
                                scale=4,
                                min_width=90,
                                elem_id=f"ol-p-{i}-{j}",
                                interactive=True,
                            )
                            where = gr.Dropdown(
                                choices,
                                value=item["key"],
                                label="移到哪一部分",
                                show_label=False,
                                container=False,
                                scale=3,
                                min_width=120,
                                elem_id=f"ol-mv-{i}-{j}",
                                interactive=True,
                            )
                            raise_btn = gr.Button(
                                "↑", size="sm", scale=0, min_width=28, elem_id=f"ol-pup-{i}-{j}"
                            )
                            remove = gr.Button(
                                "✕", size="sm", scale=0, min_width=28, elem_id=f"ol-prm-{i}-{j}"
                            )
                        text.blur(
                            editor._quiet(model.set_point, i, j), [state, text], [state, status], **common
                        )
                        text.submit(
                            editor._quiet(model.set_point, i, j), [state, text], [state, status], **common
                        )
                        where.input(editor._move(i, j), [state, rev, where], [state, rev, status], **common)
                        raise_btn.click(
                            editor._change(model.point_up, i, j), [state, rev], [state, rev, status], **common
                        )
                        remove.click(
                            editor._change(model.remove_point, i, j),
                            [state, rev],
                            [state, rev, status],
                            **common,
                        )
                    new = gr.Textbox(
                        placeholder="添加要点：输入后按回车",
                        label="添加要点",
                        show_label=False,
                        container=False,
                        elem_id=f"ol-add-{i}",
                        interactive=True,
                    )
                    new.submit(editor._add_point(i), [state, rev, new], [state, rev, status], **common)
            missing = model.missing_sections(outline, editor._schema(outline.get("doc_type", "")))
            if missing:
                with gr.Row(equal_height=True):
                    pick = gr.Dropdown(
                        [
                            (f"{s['heading']}（{ROLE_NAMES.get(s['role'], '其他')}）", s["key"])
                            for s in missing
                        ],
                        value=None,
                        label="添加部分",
                        scale=3,
                        elem_id="ol-add-section",
                        interactive=True,
                    )
                    add = gr.Button("添加", size="sm", scale=0, min_width=60, elem_id="ol-add-section-btn")
                add.click(editor._add_section(missing), [state, rev, pick], [state, rev, status], **common)

    def _move(self, i: int, j: int):
        def handler(outline, rev, key):
            return self._change(model.move_point, i, j, key)(outline, rev)

        return handler

    def _add_point(self, i: int):
        def handler(outline, rev, text):
            return self._change(model.add_point, i, text)(outline, rev)

        return handler

    def _add_section(self, missing: list[dict[str, Any]]):
        def handler(outline, rev, key):
            section = next((s for s in missing if s["key"] == key), None)
            if section is None:
                return outline, rev, "⚠ 请先在“添加部分”中选择要加入的部分。"
            return self._change(model.add_section, section)(outline, rev)

        return handler
