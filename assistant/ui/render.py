"""HTML for the draft workbench, with no Gradio in it: the draft laid out as the Word file reads (title
centred, headings flush with the body's indent), each sentence a clickable span carrying its sources, the
writer's facts highlighted, unused facts beside the section they fit best, the streaming view with its
progress, a sentence's sources with their context, and a part's before/after.

Every text is escaped here: drafts, corpus passages and materials are data, never markup. A generator that
records sentence spans gets a source per sentence; for paragraphs without spans each sentence carries the
paragraph's sources and says so (``data-scope="paragraph"``).
"""

from __future__ import annotations

import difflib
import re
from html import escape
from typing import Any

from ..draft.parts import paragraph_sentences
from ..draft.units import overlap, split_sentences
from ..records import Draft, DraftParagraph, Span
from .stream import StreamView

ROLE_NAMES = {
    "opening": "开头",
    "background": "基本情况",
    "achievements": "成效做法",
    "problems": "问题",
    "causes": "原因",
    "measures": "措施打算",
    "requirements": "要求意见",
    "closing": "结尾",
    "other": "其他",
}
KIND_NAMES = {
    "fact": "您提供的材料",
    "corpus": "范文库",
    "public": "公开文件",
    "gap": "待补充",
    "formula": "文种固定用语",
    "model": "大模型撰写",
    "heading": "标题",
    "edit": "您修改的文字",
}
_RUN_IN_RE = re.compile(r"^([（(][一二三四五六七八九十]+[）)][^。！？]*[。！？])(.*)$", re.S)


def _norm(text: str) -> str:
    return re.sub(r"[\s，,。；;：:！!？?、“”\"]", "", text)


# ---------------------------------------------------------------------------------------------- facts
def material_sentences(draft: Draft) -> list[tuple[int, str]]:
    """The writer's material sentences with their fact ids: ``Draft.facts`` when the pipeline lists them,
    else the request's materials cut into sentences (numbered from 1)."""
    if draft.facts:
        return [(f.id, f.text) for f in draft.facts]
    materials = draft.request.materials if draft.request else []
    sentences = [s for m in materials for s in split_sentences(m) if len(_norm(s)) >= 4]
    return list(enumerate(dict.fromkeys(sentences), start=1))


def used_fact_ids(draft: Draft) -> set[int]:
    used = {s.fact for sec in draft.sections for p in sec.paragraphs for s in p.spans if s.fact is not None}
    text = _norm(draft.text)
    for fact_id, sentence in material_sentences(draft):
        if _norm(sentence) and _norm(sentence) in text:
            used.add(fact_id)
    return used


def unused_facts(draft: Draft) -> dict[str, list[str]]:
    """Material sentences the draft does not use, in full, by the body section they fit best (the one the
    pipeline placed them in when it says, else the closest by wording)."""
    used = used_fact_ids(draft)
    placed = {f.id: f.section for f in draft.facts}
    bodies = [s for s in draft.sections if s.key not in ("opening", "closing")] or draft.sections
    out: dict[str, list[str]] = {}
    for fact_id, sentence in material_sentences(draft):
        if fact_id in used or not bodies:
            continue
        key = placed.get(fact_id) or ""
        if key not in {s.key for s in bodies}:
            key = max(bodies, key=lambda s: overlap(sentence, s.heading + s.text)).key
        out.setdefault(key, []).append(sentence)
    return out


def _fact_of(sentence: str, facts: list[tuple[int, str]]) -> int | None:
    key = _norm(sentence)
    for fact_id, text in facts:
        fact = _norm(text)
        if fact and (fact in key or key in fact and len(key) >= 8):
            return fact_id
    return None


# ---------------------------------------------------------------------------------------------- draft
def _span_html(span: Span, scope: str, facts: list[tuple[int, str]]) -> str:
    kind = span.kind or "corpus"
    fact = span.fact
    if fact is None and scope == "paragraph":
        fact = _fact_of(span.text, facts)
        kind = "fact" if fact is not None else kind
    if "【待补" in span.text:
        kind = "gap"
    # a name or figure the writer must verify (【核实：…】 in the text, or the check's note) stands out
    flagged = " gw-flag" if span.note or "【核实" in span.text else ""
    attrs = [
        f'class="gw-s k-{escape(kind)}{flagged}"',
        f'data-src="{",".join(str(n) for n in span.sources)}"',
        f'data-kind="{escape(kind)}"',
        f'data-scope="{scope}"',
    ]
    if fact is not None:
        attrs.append(f'data-fact="{fact}"')
    if span.note:
        attrs.append(f'title="{escape(span.note)}"')
    return f"<span {' '.join(attrs)}>{escape(span.text)}</span>"


def _paragraph_html(paragraph: DraftParagraph, facts: list[tuple[int, str]]) -> str:
    scope = "sentence" if paragraph.spans else "paragraph"
    spans = paragraph_sentences(paragraph)
    inner = "".join(_span_html(s, scope, facts) for s in spans)
    if paragraph.kind == "heading" and paragraph.level == 1:
        css = "gw-h1"
    elif paragraph.kind == "heading" and paragraph.level == 2:
        css = "gw-h2"
        if spans and _RUN_IN_RE.match(spans[0].text):  # the run-in heading sentence reads in 楷体
            inner = inner.replace('class="gw-s', 'class="gw-s gw-runin', 1)
    elif paragraph.kind == "salutation":
        css = "gw-sal"
    elif paragraph.kind == "subtitle":
        css = "gw-sub"
    else:
        css = "gw-p"
    return f'<p class="{css}">{inner}</p>'


def draft_html(draft: Draft, part_labels: dict[str, str] | None = None, focus: str | None = None) -> str:
    """The whole draft for the workbench: laid out like the Word file, sentences clickable, facts marked,
    unused facts beside their section; ``focus`` (a part key) marks the section the view scrolls to."""
    focus_key = (focus or "").split("#")[0]
    facts = material_sentences(draft)
    unused = unused_facts(draft)
    out = ['<div class="gw-draft">', f'<p class="gw-title">{escape(draft.title)}</p>']
    if draft.subtitle:
        out.append(f'<p class="gw-subtitle">{escape(draft.subtitle)}</p>')
    for section in draft.sections:
        mark = " data-focus" if section.key == focus_key else ""
        out.append(f'<div class="gw-sec" data-key="{escape(section.key)}"{mark}>')
        out.extend(_paragraph_html(p, facts) for p in section.paragraphs)
        if unused.get(section.key):
            label = (
                (part_labels or {}).get(section.key) or section.heading or ROLE_NAMES.get(section.role, "")
            )
            items = "".join(f"<li>{escape(s)}</li>" for s in unused[section.key])
            out.append(
                f'<aside class="gw-aside"><b>材料中尚未用上、适合“{escape(label)}”的内容（可编辑本部分加入）：</b>'
                f"<ul>{items}</ul></aside>"
            )
        out.append("</div>")
    out.append("</div>")
    return "".join(out)


def stream_html(view: StreamView, progress: str) -> str:
    """The draft while it streams: what has arrived, laid out the same way, and where the pipeline is."""
    out = ['<div class="gw-draft gw-streaming">']
    if view.title:
        out.append(f'<p class="gw-title">{escape(view.title)}</p>')
    for key in view.order:
        head = view.heads.get(key, "")
        for line in view.lines(key):
            css = "gw-h1" if line == head or re.match(r"^[一二三四五六七八九十]+、", line) else "gw-p"
            out.append(f'<p class="{css}">{escape(line)}</p>')
    out.append(f'<p class="gw-progress">{escape(progress)}</p></div>')
    return "".join(out)


def empty_html(message: str) -> str:
    return f'<div class="gw-draft gw-empty"><p>{escape(message)}</p></div>'


# -------------------------------------------------------------------------------------------- sources
def sources_html(
    draft: Draft,
    numbers: list[int],
    kind: str,
    scope: str,
    sentence: str,
    contexts: dict[str, dict[str, Any]],
) -> str:
    """What one clicked sentence came from: its kind in words, then each source with its document, heading
    path and the passage in its context (``contexts``: chunk id -> ``Retriever.context`` dict)."""
    head = f'<div class="gw-srcbox"><p class="gw-clicked">“{escape(sentence[:80])}”</p>'
    kind_name = KIND_NAMES.get(kind, "")
    lines = [head]
    if kind == "fact":
        lines.append("<p><b>来自您提供的材料。</b></p>")
    elif kind == "gap":
        lines.append("<p><b>这里缺少事实，请补充实际情况和数据。</b></p>")
    elif kind_name and kind not in ("corpus", "public"):
        lines.append(f"<p><b>{escape(kind_name)}</b></p>")
    by_number = {s.number: s for s in draft.sources}
    shown = [by_number[n] for n in numbers if n in by_number]
    if scope == "paragraph" and shown:
        lines.append("<p class='gw-note'>（本段整体参考了以下范文片段）</p>")
    if not shown and kind in ("corpus", "public", "edit", "model", ""):
        lines.append("<p>本句没有对应的范文来源。</p>")
    for source in shown:
        context = contexts.get(source.chunk_id) or {}
        path = source.heading_path or "（正文）"
        lines.append(
            f"<p class='gw-srctitle'>[{source.number}] 《{escape(source.title)}》 {escape(path)}</p>"
        )
        before = escape(str(context.get("before") or "")[-160:])
        text = escape(str(context.get("text") or source.text or ""))
        after = escape(str(context.get("after") or "")[:160])
        lines.append(f"<p class='gw-ctx'>{before}<mark>{text}</mark>{after}</p>")
    lines.append("</div>")
    return "".join(lines)


def source_list_html(draft: Draft, retrieved: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The draft's numbered sources (cited), then every other passage retrieved while drafting (○ 未引用),
    each chunk once."""
    items = [
        f"<li>[{s.number}] ✔ 已引用｜《{escape(s.title)}》 {escape(s.heading_path or '（正文）')}</li>"
        for s in draft.sources
    ]
    seen = {s.chunk_id for s in draft.sources}
    for passages in (retrieved or {}).values():
        for passage in passages or []:
            chunk_id = str(passage.get("chunk_id") or "")
            if not chunk_id or chunk_id in seen:
                continue
            seen.add(chunk_id)
            role = ROLE_NAMES.get(str(passage.get("role") or ""), "")
            items.append(
                f"<li>○ 未引用｜《{escape(str(passage.get('title') or ''))}》 "
                f"{escape(str(passage.get('heading_path') or '（正文）'))}{'｜' + role if role else ''}</li>"
            )
    if not items:
        return "<p class='gw-note'>本稿没有引用范文。</p>"
    return f"<ul class='gw-srclist'>{''.join(items)}</ul>"


# ------------------------------------------------------------------------------------------ before/after
def diff_html(label: str, action: str, before: str, after: str) -> str:
    """A part before and after an action, sentence by sentence: removed sentences struck through on the
    left, added ones marked on the right."""
    old = [s for line in before.splitlines() for s in [*split_sentences(line), "\n"]]
    new = [s for line in after.splitlines() for s in [*split_sentences(line), "\n"]]

    def show(sentence: str, tag: str = "") -> str:
        if sentence == "\n":
            return "<br>"
        return f"<{tag}>{escape(sentence)}</{tag}>" if tag else escape(sentence)

    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            left += [show(s) for s in old[i1:i2]]
            right += [show(s) for s in new[j1:j2]]
        else:
            left += [show(s, "del") for s in old[i1:i2]]
            right += [show(s, "ins") for s in new[j1:j2]]
    return (
        f'<div class="gw-diff"><p class="gw-diffhead">{escape(action)}“{escape(label)}”：'
        f"{len(before.replace(chr(10), ''))} 字 → {len(after.replace(chr(10), ''))} 字</p>"
        f'<div class="gw-cols"><div><b>修改前</b><p>{"".join(left)}</p></div>'
        f"<div><b>修改后</b><p>{''.join(right)}</p></div></div></div>"
    )
