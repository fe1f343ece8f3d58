"""The drafting pipeline: request → outline → retrieval per section → text per section → checks → Draft.

Each stage returns plain records (``Outline``, ``Passage`` lists, ``DraftSection``) and reports progress
through ``on_event(kind, payload)`` so the CLI, the web UI and the evals share one pipeline without it
knowing about any of them. Text comes from the LLM when one is configured, otherwise (and from the first
section the LLM fails on) from the offline composer; both go through the same guard, so the faithfulness
rules (no figures, names or redaction marks the request did not supply; generated numbering) hold whichever
wrote the text. The price of section-by-section generation is less flow between sections than one long
completion would give; in return a failed section can fall back alone and a section can be regenerated
without touching the others.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .. import numerals
from ..doctypes import DocType, SectionSpec, get_doctype
from ..errors import BackendError, InputError, UserError
from ..prompts import get_prompt, render, render_string
from ..records import (
    Draft,
    DraftParagraph,
    DraftRequest,
    DraftSection,
    Outline,
    OutlineItem,
    Passage,
    Source,
)
from ..request_fields import MAX_LINE_FIELD_CHARS, MAX_TOPIC_CHARS, check_field, check_points, strip_markup
from ..settings import Settings
from .adapt import Adapter
from .composer import _HEADING_RE, KIN_ROLES, Composer, SourceBook, split_sentences, strip_end

EventFn = Callable[[str, dict[str, Any]], None]
REFERENCE_TOKENS = 1800  # budget for reference passages in one LLM section prompt
_MARK_RE = re.compile(r"\s*\[(\d{1,3})\]")
_ITEM_MARK_RE = re.compile(r"(^|[。；;：:！])\s*[一二三四五六七八九十]+是")
_ROLE_LABELS = {
    "background": "介绍基本情况和背景",
    "achievements": "总结主要做法和成效",
    "problems": "查摆存在的问题",
    "causes": "分析问题产生的原因",
    "measures": "提出下一步措施或对策建议",
    "requirements": "对下一步工作提出要求",
    "closing": "收尾",
    "opening": "开头",
    "other": "其他内容",
}


def _noop(kind: str, payload: dict[str, Any]) -> None:
    return None


# ----------------------------------------------------------------------------------------------- outline
def clean_request(request: DraftRequest) -> DraftRequest:
    """``request`` with HTML and Markdown markup stripped from its text fields (key points left empty are
    dropped), or a Chinese ``InputError`` when a field is longer than the form allows
    (``request_fields``: topic, unit, occasion 200 characters each, key points 5,000 together)."""
    topic = check_field("主题", request.topic, MAX_TOPIC_CHARS)
    if not topic:
        if request.topic and request.topic.strip():
            raise InputError("主题中只有网页或 Markdown 标记，没有文字：请填写主题（--topic）。")
        raise InputError("请填写主题（--topic），例如“机关党支部标准化规范化建设”。")
    return replace(
        request,
        topic=topic,
        unit=check_field("单位", request.unit, MAX_LINE_FIELD_CHARS),
        occasion=check_field("场合", request.occasion, MAX_LINE_FIELD_CHARS),
        audience=check_field("对象", request.audience, MAX_LINE_FIELD_CHARS),
        points=check_points(list(request.points)),
    )


def check_request(request: DraftRequest, settings: Settings) -> DocType:
    """The request's type, or a Chinese error about what is missing or too long."""
    doctype = get_doctype(request.doc_type, settings.prompts_dir)
    clean_request(request)
    if request.length is not None and request.length <= 0:
        raise InputError("目标字数（--length）应为正整数。")
    return doctype


def _clean_points(points: list[str]) -> list[str]:
    out = []
    for point in points:
        text = strip_end(_HEADING_RE.sub("", point.strip()))
        text = re.sub(r"^[一二三四五六七八九十]+是", "", text)
        if text and text not in out:
            out.append(text)
    return out


def clean_outline(outline: Outline) -> Outline:
    """An edited outline with markup stripped from its title, headings and sub-points (the writer edits it
    as text, so pasted ``**`` or tags would otherwise reach the draft); empty sub-points are dropped."""
    items = []
    for item in outline.items:
        points = [p for p in (strip_markup(p).strip() for p in item.points) if p]
        items.append(replace(item, heading=strip_markup(item.heading).strip() or item.heading, points=points))
    return replace(outline, title=strip_markup(outline.title).strip() or outline.title, items=items)


def make_outline(request: DraftRequest, settings: Settings) -> Outline:
    """Sections from the type's schema in order; the request's key points become sub-points of the section
    marked ``points_here`` (or of a ``points`` form section, where each point is a level-1 heading)."""
    doctype = check_request(request, settings)
    request = clean_request(request)
    values = dict(
        topic=request.topic.strip(), unit=request.unit, occasion=request.occasion, audience=request.audience
    )
    title = render_string(doctype.title, **values)
    points = _clean_points(request.points)
    target = next((s.key for s in doctype.sections if s.points_here), None)
    if target is None:
        target = next((s.key for s in doctype.sections if s.form == "points"), doctype.sections[0].key)
    items = []
    for spec in doctype.sections:
        numbering = (
            "topics"
            if spec.form == "topics"
            else {"subheadings": "headings", "items": "items", "none": "plain"}[spec.numbering]
        )
        items.append(
            OutlineItem(
                key=spec.key,
                role=spec.role,
                heading=spec.heading,
                points=list(points) if spec.key == target else [],
                numbering=numbering,
            )
        )
    return Outline(doc_type=doctype.name, title=title, items=items)


# --------------------------------------------------------------------------------------------- retrieval
def open_retriever(settings: Settings) -> Any:
    from ..index.retrieval import Retriever

    return Retriever.open(settings)


def _merge(*lists: list[Passage], limit: int) -> list[Passage]:
    seen: set[str] = set()
    out: list[Passage] = []
    for passages in lists:
        for passage in passages:
            if passage.chunk.chunk_id not in seen:
                seen.add(passage.chunk.chunk_id)
                out.append(passage)
    return out[:limit]


def retrieve(retriever: Any, query: str, doc_type: str, role: str, k: int = 6) -> list[Passage]:
    """Same type and role first, then the same role in other types (a small corpus runs out of same-type
    passages long before a section is full), then anything close."""
    same = retriever.search(query, doc_type=doc_type, role=role, k=k)
    other = retriever.search(query, role=role, k=k)
    kin = [p for r in KIN_ROLES.get(role, ()) for p in retriever.search(query, role=r, k=k // 2)]
    loose = retriever.search(query, k=k // 2) if len(same) + len(other) < k // 2 else []
    return _merge(same, other, kin, loose, limit=k * 2)


def section_passages(
    retriever: Any, request: DraftRequest, doctype: DocType, item: OutlineItem
) -> tuple[list[Passage], dict[str, list[Passage]]]:
    passages = retrieve(retriever, f"{request.topic} {item.heading}", doctype.name, item.role)
    per_point = {
        point: retrieve(retriever, f"{point} {request.topic}", doctype.name, item.role, k=4)
        for point in item.points
    }
    return passages, per_point


# ------------------------------------------------------------------------------------------ LLM sections
# The prompt fences corpus text and materials as <<<范文[n] … 范文[n]>>> (and <<<材料n … 材料n>>>). Text
# inside a fence must not be able to close it or open another: runs of angle brackets (ASCII, full-width,
# guillemets) become one full-width bracket, and a reference label (范文[3]) becomes 范文（3）, so a fence
# cannot be forged. 《》 book-title marks are single characters and are left alone.
_FENCE_OPEN_RE = re.compile(r"[<＜‹«〈]{2,}")
_FENCE_CLOSE_RE = re.compile(r"[>＞›»〉]{2,}")
_FENCE_LABEL_RE = re.compile(r"(范文)\s*[\[［]\s*(\d+)\s*[\]］]")


def fence_safe(text: str) -> str:
    """``text`` with anything that looks like a prompt fence (``<<<``, ``>>>``, ``范文[n]``)
    neutralised, so corpus or material text cannot end its block early or forge another."""
    text = _FENCE_OPEN_RE.sub("＜", text or "")
    text = _FENCE_CLOSE_RE.sub("＞", text)
    return _FENCE_LABEL_RE.sub(lambda m: f"{m.group(1)}（{m.group(2)}）", text)


def _reference_block(passages: list[Passage]) -> list[dict[str, Any]]:
    from ..tokens import count_tokens

    refs, used = [], 0
    for n, passage in enumerate(passages, 1):
        cost = count_tokens(passage.chunk.text)
        if refs and used + cost > REFERENCE_TOKENS:
            break
        used += cost
        c = passage.chunk
        refs.append(
            {
                "number": n,
                "title": fence_safe(c.title),
                "heading_path": fence_safe(c.heading_path),
                "text": fence_safe(c.text),
                "passage": passage,
            }
        )
    return refs


def _renumber_items(text: str) -> str:
    counter = iter(range(1, 100))
    return _ITEM_MARK_RE.sub(lambda m: m.group(1) + numerals.item_marker(next(counter)), text)


def _split_generated(text: str) -> list[tuple[str, list[int]]]:
    """Lines of a model's reply with their [n] marks taken off; Markdown markers and numbering removed."""
    out = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("#>-* ").replace("**", "").strip()
        if not line:
            continue
        marks = [int(m) for m in _MARK_RE.findall(line)]
        line = _MARK_RE.sub("", line).strip()
        line = _HEADING_RE.sub("", line)
        line = re.sub(r"^[一二三四五六七八九十]+是", "", line).strip()
        if line:
            out.append((line, marks))
    return out


class _LLMSectionWriter:
    def __init__(
        self, settings: Settings, doctype: DocType, request: DraftRequest, title: str, adapter: Adapter
    ):
        from ..llm import LLMClient

        self.client = LLMClient(settings)
        self.settings = settings
        self.doctype = doctype
        self.request = request
        self.title = title
        self.adapter = adapter
        self.system = get_prompt(settings.prompts_dir, "system")
        self.section = get_prompt(settings.prompts_dir, "section")
        self.changed = 0

    def refs(self) -> list[dict[str, Any]]:
        return [self.system.ref(), self.section.ref()]

    def guard(self, text: str) -> str:
        """The faithfulness guard (``adapt``) on generated text, sentence by sentence."""
        guarded, changed = self.adapter.guard(split_sentences(text))
        self.changed += changed
        return guarded

    def write(
        self,
        item: OutlineItem,
        spec: SectionSpec,
        passages: list[Passage],
        budget: int,
        next_number: int,
        book: SourceBook,
        emit: EventFn,
    ) -> tuple[list[DraftParagraph], int]:
        refs = _reference_block(passages)
        label = self.doctype.label
        user = render(
            self.section,
            doc_label=label,
            title=self.title,
            topic=self.request.topic,
            unit=self.request.unit,
            occasion=self.request.occasion,
            audience=self.request.audience,
            heading=item.heading,
            role=_ROLE_LABELS.get(item.role, item.role),
            form=spec.form,
            numbering=spec.numbering,
            points=item.points,
            materials=[fence_safe(m) for m in self.request.materials],
            references=[{k: v for k, v in r.items() if k != "passage"} for r in refs],
            target_chars=budget,
        )
        system = render(self.system, doc_label=label)
        pieces: list[str] = []
        for delta in self.client.stream(system, user):
            pieces.append(delta)
            emit("section_delta", {"key": item.key, "text": delta})
        lines = _split_generated("".join(pieces))
        if not lines:
            raise BackendError("大模型服务返回的内容为空或无法使用")

        def cite(marks: list[int]) -> list[int]:
            return sorted({book.cite(refs[m - 1]["passage"]) for m in marks if 1 <= m <= len(refs)})

        paragraphs: list[DraftParagraph] = []
        used = 0
        if spec.form == "heading":
            paragraphs.append(
                DraftParagraph(numerals.level_marker(1, next_number) + item.heading, "heading", 1)
            )
            used = 1
        if spec.form == "points":
            for line, marks in lines:
                if len(line) <= 40 and line[-1] not in "。！；":
                    paragraphs.append(
                        DraftParagraph(
                            numerals.level_marker(1, next_number + used) + strip_end(line), "heading", 1
                        )
                    )
                    used += 1
                else:
                    paragraphs.append(
                        DraftParagraph(_renumber_items(self.guard(line)), "body", 0, cite(marks))
                    )
        elif spec.form == "paragraph":
            text = _renumber_items(self.guard("".join(line for line, _ in lines)))
            paragraphs.append(DraftParagraph(text, "body", 0, cite([m for _, ms in lines for m in ms])))
        else:
            n = 0
            for line, marks in lines:
                body = self.guard(line)
                if not body:
                    continue
                if spec.numbering == "subheadings" and spec.form == "heading":
                    n += 1
                    paragraphs.append(
                        DraftParagraph(numerals.level_marker(2, n) + body, "heading", 2, cite(marks))
                    )
                elif spec.numbering == "items" and spec.form == "heading":
                    n += 1
                    paragraphs.append(DraftParagraph(numerals.item_marker(n) + body, "body", 0, cite(marks)))
                else:
                    paragraphs.append(DraftParagraph(_renumber_items(body), "body", 0, cite(marks)))
        if not any(p.kind == "body" or p.level == 2 for p in paragraphs):
            raise BackendError("大模型服务返回的内容为空或无法使用")
        return paragraphs, used


# ---------------------------------------------------------------------------------------------- assembly
def _section_text(paragraphs: list[DraftParagraph]) -> str:
    return "\n".join(p.text for p in paragraphs)


def _budgets(doctype: DocType, request: DraftRequest, outline: Outline) -> dict[str, int]:
    target = request.length or max(doctype.length_min, min(3000, doctype.length_max))
    weights = {"background": 0.6, "achievements": 1.4, "problems": 0.9, "causes": 0.7, "measures": 1.1}
    weights |= {"requirements": 1.6}
    total = sum(weights.get(i.role, 1.0) for i in outline.items) or 1.0
    body = target * 0.9
    return {i.key: int(body * weights.get(i.role, 1.0) / total) for i in outline.items}


def _renumber_sources(sections: list[DraftSection], sources: list[Source]) -> list[Source]:
    """Keep only cited sources, numbered 1.. in order of first citation, and rewrite paragraph marks."""
    by_number = {s.number: s for s in sources}
    order: dict[int, int] = {}
    for section in sections:
        for paragraph in section.paragraphs:
            for n in paragraph.sources:
                if n in by_number and n not in order:
                    order[n] = len(order) + 1
    for section in sections:
        for paragraph in section.paragraphs:
            paragraph.sources = sorted({order[n] for n in paragraph.sources if n in order})
        section.source_ids = sorted(
            {
                by_number[old].chunk_id
                for p in section.paragraphs
                for old, new in order.items()
                if new in p.sources
            }
        )
    return [replace(by_number[old], number=new) for old, new in sorted(order.items(), key=lambda kv: kv[1])]


def assemble(draft: Draft) -> Draft:
    """Recompute ``text`` and the numbered source list from the sections."""
    draft.sources = _renumber_sources(draft.sections, draft.sources)
    lines = [draft.title] + ([draft.subtitle] if draft.subtitle else [])
    for section in draft.sections:
        section.text = _section_text(section.paragraphs)
        lines += [p.text for p in section.paragraphs]
    draft.text = "\n".join(lines)
    return draft


def check_draft(draft: Draft, doctype: DocType, settings: Settings) -> list[str]:
    """Warnings a writer should see: gaps to fill, and the metrics' failed checks when metrics exist."""
    warnings: list[str] = []
    gaps = draft.text.count("【待补")
    if gaps:
        warnings.append(f"草稿中有 {gaps} 处“【待补：…】”，请补充实际情况和数据后再使用。")
    try:
        from ..evals import metrics
    except ImportError:
        return warnings
    try:
        card = metrics.score_draft(draft, doctype, draft.request, prompts_dir=settings.prompts_dir)
    except UserError as exc:  # a check that cannot run must not cost the writer the draft
        return [*warnings, f"自动检查未能完成：{exc}"]
    for result in card.failures():
        if result.name in ("length", "points") or not result.reason:
            continue
        warnings.append(f"检查未通过（{result.label or result.name}）：{result.reason}")
    return warnings


# ------------------------------------------------------------------------------------------------ drafts
class _Run:
    """State for writing the sections of one draft."""

    def __init__(
        self, request: DraftRequest, settings: Settings, book: SourceBook, emit: EventFn, retriever: Any
    ):
        self.request = request
        self.settings = settings
        self.doctype = check_request(request, settings)
        self.emit = emit
        self.book = book
        self.retriever = retriever
        self.composer = Composer(self.doctype, request, settings.prompts_dir, book)
        self.llm: _LLMSectionWriter | None = None
        self.warnings: list[str] = []
        self.generator: dict[str, Any] = {"backend": "composer", "prompts": self.composer.prompt_refs()}

    def start_llm(self, title: str) -> None:
        if not self.settings.llm_configured:
            return
        self.llm = _LLMSectionWriter(self.settings, self.doctype, self.request, title, self.composer.adapter)
        self.generator = {
            **self.llm.client.describe(),
            "prompts": self.llm.refs(),
            "fallback": self.composer.prompt_refs(),
        }

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.emit("warning", {"text": text})

    def opening(self) -> DraftSection:
        paragraphs = []
        salutation = self.doctype.salutation.strip()
        if salutation:
            paragraphs.append(DraftParagraph(salutation, "salutation"))
        paragraphs.append(DraftParagraph(self.composer.formula("opening")))
        return DraftSection("opening", "opening", "", _section_text(paragraphs), [], 0, paragraphs)

    def closing(self) -> DraftSection:
        paragraphs = [DraftParagraph(self.composer.formula("closing"))]
        return DraftSection("closing", "closing", "", _section_text(paragraphs), [], 0, paragraphs)

    def section(self, item: OutlineItem, budget: int, next_number: int) -> tuple[DraftSection, int]:
        spec = self.doctype.section(item.key)
        self.emit("section_start", {"key": item.key, "heading": item.heading})
        passages, per_point = section_passages(self.retriever, self.request, self.doctype, item)
        paragraphs: list[DraftParagraph] | None = None
        used = 0
        if self.llm is not None:
            try:
                pool = _merge(passages, *per_point.values(), limit=12)
                paragraphs, used = self.llm.write(item, spec, pool, budget, next_number, self.book, self.emit)
            except BackendError as exc:
                self.warn(f"{exc}；“{item.heading}”及其后各部分已改用离线拼写生成，请注意核对。")
                self.generator["fallback_from"] = item.key
                self.llm = None
        if paragraphs is None:
            composed = self.composer.compose(item, spec, passages, per_point, budget, next_number)
            paragraphs, used = composed.paragraphs, composed.numbers_used
            self.emit("section_delta", {"key": item.key, "text": _section_text(paragraphs), "whole": True})
        heading = next((p.text for p in paragraphs if p.kind == "heading" and p.level == 1), "")
        section = DraftSection(item.key, item.role, heading, _section_text(paragraphs), [], 1, paragraphs)
        retrieved = _merge(passages, *per_point.values(), limit=99)
        self.emit(
            "section_done",
            {
                "key": item.key,
                "heading": heading,
                "text": section.text,
                "passages": [p.to_dict() for p in retrieved],  # retrieved, cited or not
            },
        )
        return section, used


def write_draft(
    request: DraftRequest,
    settings: Settings,
    outline: Outline | None = None,
    on_event: EventFn | None = None,
    retriever: Any = None,
) -> Draft:
    """Write a whole draft. ``outline`` may be an edited one (headings and sub-points are taken from it);
    ``retriever`` defaults to the index under ``settings``."""
    emit = on_event or _noop
    doctype = check_request(request, settings)
    request = clean_request(request)
    outline = clean_outline(outline) if outline else make_outline(request, settings)
    emit("outline", outline.to_dict())
    retriever = retriever or open_retriever(settings)
    run = _Run(request, settings, SourceBook(), emit, retriever)
    run.start_llm(outline.title)
    budgets = _budgets(doctype, request, outline)
    sections = [run.opening()]
    number = 1
    for item in outline.items:
        section, used = run.section(item, budgets[item.key], number)
        sections.append(section)
        number += used
    sections.append(run.closing())
    unused = run.composer.unused_facts() if run.llm is None and run.generator["backend"] == "composer" else []
    if unused:
        shown = "；".join(f[:20] for f in unused[:3])
        run.warn(f"材料中有 {len(unused)} 句未能自动放入草稿（如：{shown}），请在合适位置补充。")
    subtitle = render_string(
        doctype.subtitle, topic=request.topic, unit=request.unit, occasion=request.occasion
    )
    draft = Draft(
        doc_type=doctype.name,
        title=outline.title,
        sections=sections,
        text="",
        sources=list(run.book.sources),
        warnings=list(run.warnings),
        generator=run.generator | {"type_schema_version": doctype.version},
        request=request,
        subtitle=subtitle,
    )
    assemble(draft)
    for text in check_draft(draft, doctype, settings):
        draft.warnings.append(text)
        emit("warning", {"text": text})
    emit("done", {"text": draft.text, "warnings": draft.warnings})
    return draft


def regenerate_section(
    draft: Draft, key: str, settings: Settings, on_event: EventFn | None = None, retriever: Any = None
) -> Draft:
    """A new version of one section; every other section keeps its text. The composer avoids the
    sentences the old version used, so the writer sees an alternative."""
    emit = on_event or _noop
    if draft.request is None:
        raise InputError("该草稿没有保存起草要求，无法重新生成单个部分，请重新起草。")
    index = next((i for i, s in enumerate(draft.sections) if s.key == key), None)
    if index is None:
        keys = "、".join(s.key for s in draft.sections)
        raise InputError(f"草稿中没有“{key}”这一部分，可选：{keys}")
    draft = copy.deepcopy(draft)
    request = draft.request = clean_request(draft.request)
    book = SourceBook(list(draft.sources))
    retriever = retriever or open_retriever(settings)
    run = _Run(request, settings, book, emit, retriever)
    for section in draft.sections:
        for sentence in split_sentences(section.text):
            run.composer.used.add(re.sub(r"\s", "", sentence))
            run.composer.say(sentence)  # …nor says again what another section says
    old = draft.sections[index]
    if key == "opening":
        new = run.opening()
    elif key == "closing":
        new = run.closing()
    else:
        outline = draft.outline  # the outline the draft followed (the writer's edits), else the type's
        if outline is None or not any(i.key == key for i in outline.items):
            outline = make_outline(request, settings)
        item = next(i for i in outline.items if i.key == key)
        match = re.match(r"([一二三四五六七八九十]+)、", old.heading)
        number = numerals.from_chinese(match.group(1)) if match else 1
        if not match:
            number = 1 + sum(
                1
                for s in draft.sections[:index]
                for p in s.paragraphs
                if p.kind == "heading" and p.level == 1
            )
        run.start_llm(draft.title)
        budget = _budgets(run.doctype, request, outline)[key]
        new, _ = run.section(item, budget, number or 1)
    sections = list(draft.sections)
    sections[index] = new
    result = replace(
        draft,
        sections=sections,
        sources=list(book.sources),
        warnings=[w for w in draft.warnings if "检查未通过" not in w and "【待补" not in w] + run.warnings,
        generator=draft.generator | {"regenerated": key},
    )
    assemble(result)
    for text in check_draft(result, run.doctype, settings):
        result.warnings.append(text)
    emit("done", {"text": result.text, "warnings": result.warnings})
    return result
