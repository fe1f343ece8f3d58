"""HTML for the 范文库 tab, with no Gradio: search hits with their heading paths, and one document as the
index parsed it (type and how sure, the two likeliest types when unsure, warnings found at ingest, the file
it came from, and its headings with their roles). All text is escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from ..content import hygiene
from ..records import Passage
from .render import ROLE_NAMES

SOURCE_NAMES = {"metadata": "目录文件给定", "detected": "自动识别", "override": "人工更正"}
# the names ``corpus list`` uses (content.hygiene's kinds, then ingest's near-duplicates)
WARNING_NAMES = {**hygiene.KIND_LABELS, "duplicate": "疑似重复文档"}


def warning_line(warning: dict[str, Any]) -> str:
    """One ingest warning in Chinese: its name, what was found (with the correction when the label gives
    one) and where. The stored ``label`` ("提法有误：“…”应为“…”") is preferred; the kind is never shown raw."""
    label = str(warning.get("label") or "")
    name, _, detail = label.partition("：")
    if not name:
        name = WARNING_NAMES.get(str(warning.get("kind") or ""), "问题")
    detail = detail or str(warning.get("text") or "")
    context = str(warning.get("context") or "")
    where = f" <span class='gw-note'>…{escape(context)}…</span>" if context else ""
    return f"<li><b>{escape(name)}</b>：{escape(detail)}{where}</li>"


def hits_html(query: str, passages: list[Passage], labels: dict[str, str]) -> str:
    if not passages:
        return f"<p class='gw-note'>没有找到与“{escape(query)}”相关的范文片段。可换个说法，或去掉文种、作用的限制。</p>"
    items = []
    for passage in passages:
        chunk = passage.chunk
        kind = labels.get(chunk.doc_type, "未识别文种")
        role = ROLE_NAMES.get(chunk.role, "其他")
        text = chunk.text if len(chunk.text) <= 220 else chunk.text[:220] + "……"
        items.append(
            f"<li class='gw-hit'><p class='gw-srctitle'>《{escape(chunk.title)}》</p>"
            f"<p class='gw-path'>{escape(chunk.heading_path or '（正文）')} · {escape(kind)} · {escape(role)}</p>"
            f"<p class='gw-ctx'>{escape(text)}</p></li>"
        )
    return f"<p class='gw-note'>找到 {len(passages)} 个片段：</p><ol class='gw-hits'>{''.join(items)}</ol>"


def _type_line(doc: dict[str, Any], labels: dict[str, str]) -> str:
    doc_type = doc.get("doc_type") or ""
    label = labels.get(doc_type, "未识别")
    source = SOURCE_NAMES.get(str(doc.get("type_source") or ""), "")
    confidence = doc.get("type_confidence")
    sure = (
        f"，把握 {min(confidence, 0.99):.0%}"
        if isinstance(confidence, int | float) and confidence < 1
        else ""
    )
    line = f"<p><b>文种</b>：{escape(label)}（{escape(source)}{sure}）</p>"
    candidates = doc.get("type_candidates") or []
    if candidates:
        named = "、".join(
            f"{escape(labels.get(str(c[0]), str(c[0])))} {float(c[1]):.0%}"
            for c in candidates
            if isinstance(c, list | tuple) and len(c) == 2
        )
        if named:
            line += f"<p><b>可能的文种</b>：{named}（请在上方更正）</p>"
    return line


def document_html(doc: dict[str, Any], sections: list[dict[str, Any]], labels: dict[str, str]) -> str:
    parts = [f"<div class='gw-docview'><p class='gw-srctitle'>《{escape(doc.get('title') or '')}》</p>"]
    parts.append(_type_line(doc, labels))
    source = doc.get("source_file") or doc.get("path") or ""
    where = escape(Path(str(source)).name)
    if doc.get("part"):
        where += f"（合集拆分出的第 {escape(str(doc['part']))}/{escape(str(doc.get('parts', '?')))} 篇）"
    parts.append(f"<p><b>文件</b>：{where} · {doc.get('chars', 0)} 字 · {doc.get('chunks', 0)} 个片段</p>")
    warnings = doc.get("warnings") or []
    if warnings:
        rows = [warning_line(w) for w in warnings if isinstance(w, dict)]
        parts.append(
            f"<p><b>入库时发现的问题（{len(rows)} 处）</b></p><ul class='gw-warn'>{''.join(rows)}</ul>"
        )
    else:
        parts.append("<p><b>入库时发现的问题</b>：无</p>")
    rows = []
    for section in sections:
        depth = int(section.get("depth") or 0)
        role = ROLE_NAMES.get(str(section.get("role") or ""), "其他")
        heading = section.get("heading") or section.get("title") or f"（{role}）"
        rows.append(
            f"<li style='margin-left:{depth * 1.5}em'>{escape(str(heading))}"
            f" <span class='gw-role'>{escape(role)}</span></li>"
        )
    parts.append(
        f"<p><b>解析出的结构（{len(rows)} 个部分）</b></p><ul class='gw-outline'>{''.join(rows)}</ul></div>"
        if rows
        else "<p>没有解析出标题层次（全文按段落处理）。</p></div>"
    )
    return "".join(parts)
