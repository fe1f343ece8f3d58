"""The drafting pipeline: request → outline → retrieval per section → text per section → checks → Draft.

Each stage returns plain records (``Outline``, ``Passage`` lists, ``DraftSection``) and reports progress
through ``on_event(kind, payload)`` so the CLI, the web UI and the evals share one pipeline without it
knowing about any of them. Text comes from the model when one is configured, else from the offline composer;
a section the model fails on falls back to the composer alone and the draft says so. Both generators take
the same ``SectionContext`` (the whole outline and what was written before) and go through the same guard.

Stages live in their own modules: ``request`` (checks, formula values), ``outline`` (skeleton, points,
facts), ``sources`` (retrieval, numbering of sources), ``composer`` and ``llm_writer`` (section text),
``export`` (Markdown and Word).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any

from .. import numerals
from ..doctypes import DocType
from ..errors import BackendError, BackendStalledError, InputError
from ..records import Draft, DraftParagraph, DraftRequest, DraftSection, Outline, OutlineItem, Source
from ..settings import Settings
from .composer import Composer, split_sentences
from .context import EventFn, SectionContext, noop, spec_for
from .llm_writer import LLMSectionWriter, fence_safe  # noqa: F401 - public
from .outline import clean_outline, make_outline  # noqa: F401 - public
from .request import check_request, clean_request, template_values  # noqa: F401 - public
from .scoring import check_draft
from .sources import SourceBook, open_retriever, section_passages


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


def _carry_over(budgets: dict[str, int], outline: Outline, doctype: DocType, index: int, chars: int) -> None:
    """A part that holds the writer's facts only is as long as those facts; on the model path the length it
    leaves unused goes to the parts still to be written freely (each prompt asks for its length), in
    proportion to their budgets, so the draft still reaches the type's length instead of falling short by
    every fact the writer did not give."""
    item = outline.items[index]
    spare = budgets[item.key] - chars
    if spare <= 0 or not spec_for(doctype, item).facts_only:
        return
    later = [i for i in outline.items[index + 1 :] if not spec_for(doctype, i).facts_only]
    total = sum(budgets[i.key] for i in later)
    for later_item in later:
        budgets[later_item.key] += int(spare * budgets[later_item.key] / total) if total else 0


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


# ------------------------------------------------------------------------------------------------ drafts
class _Run:
    """State for writing the sections of one draft."""

    def __init__(
        self,
        request: DraftRequest,
        settings: Settings,
        outline: Outline,
        book: SourceBook,
        emit: EventFn,
        retriever: Any,
    ):
        self.request = request
        self.settings = settings
        self.outline = outline
        self.doctype = check_request(request, settings).with_skeleton(outline.skeleton)
        self.values = template_values(request, outline)
        self.emit = emit
        self.book = book
        self.retriever = retriever
        self.composer = Composer(self.doctype, request, settings.prompts_dir, book, self.values, settings)
        self.llm: LLMSectionWriter | None = None
        self.warnings: list[str] = []
        self.written: list[DraftSection] = []
        self.generator: dict[str, Any] = {"backend": "composer", "prompts": self.composer.prompt_refs()}

    def start_llm(self) -> None:
        if not self.settings.llm_configured:
            return
        self.llm = LLMSectionWriter(self.settings, self.request, self.outline, self.doctype, self.values)
        self.generator = {
            **self.llm.client.describe(),
            "prompts": self.llm.refs(),
            "fallback": self.composer.prompt_refs(),
        }

    def stall(self, why: str, item: OutlineItem) -> None:
        """A model that stalled or was too slow is not waited on again in this draft: ``item`` and every
        part after it are written offline, and the draft says so."""
        self.warn(f"{why}；“{item.heading}”及其后各部分已改用离线拼写生成，请注意核对。")
        self.generator.setdefault("fallback_sections", []).append(item.key)
        self.generator["fallback_from"] = item.key
        self.llm = None

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.emit("warning", {"text": text})

    def formula(self, part: str) -> list[DraftParagraph] | None:
        """The model's opening or closing when the type leaves that formula free; None for the composer's
        (a fixed formula, no model, or a model that failed: then the draft says so)."""
        rule = self.doctype.opening if part == "opening" else self.doctype.closing
        if self.llm is None or rule.fixed:
            return None
        try:
            return self.llm.formula(part, self.written, self.emit)
        except BackendStalledError as exc:
            if part == "opening" and self.outline.items:
                self.stall(str(exc), self.outline.items[0])
            else:
                self.warn(f"{exc}；结尾已改用固定格式，请注意核对。")
                self.llm = None
            return None
        except BackendError as exc:
            where = "开头" if part == "opening" else "结尾"
            self.warn(f"{exc}；{where}已改用固定格式，请注意核对。")
            self.generator.setdefault("fallback_sections", []).append(part)
            return None

    def opening(self) -> DraftSection:
        paragraphs = self.formula("opening") or self.composer.opening()
        return DraftSection("opening", "opening", "", _section_text(paragraphs), [], 0, paragraphs)

    def closing(self) -> DraftSection:
        paragraphs = self.formula("closing") or self.composer.closing()
        return DraftSection("closing", "closing", "", _section_text(paragraphs), [], 0, paragraphs)

    def context(self, index: int, budget: int, next_number: int) -> SectionContext:
        item = self.outline.items[index]
        spec = spec_for(self.doctype, item)
        passages, per_point = section_passages(self.retriever, self.request, self.doctype.name, item)
        return SectionContext(
            request=self.request,
            doctype=self.doctype,
            outline=self.outline,
            item=item,
            spec=spec,
            next_number=next_number,
            budget=budget,
            passages=passages,
            per_point=per_point,
            written=list(self.written),
            values=self.values,
            emit=self.emit,
        )

    def section(self, index: int, budget: int, next_number: int) -> tuple[DraftSection, int]:
        item = self.outline.items[index]
        self.emit(
            "section_start",
            {"key": item.key, "heading": item.heading, "index": index + 1, "total": len(self.outline.items)},
        )
        ctx = self.context(index, budget, next_number)
        paragraphs: list[DraftParagraph] | None = None
        used = 0
        if self.llm is not None:
            try:
                paragraphs, used = self.llm.write(ctx, self.book)
            except BackendStalledError as exc:  # stalled or too slow: the next section would wait as long
                self.stall(str(exc), item)
            except BackendError as exc:
                self.warn(f"{exc}；“{item.heading}”已改用离线拼写生成，请注意核对。")
                self.generator.setdefault("fallback_sections", []).append(item.key)
        if paragraphs is None:
            paragraphs, used = self.composer.section(ctx)
            self.emit("section_delta", {"key": item.key, "text": _section_text(paragraphs), "whole": True})
        heading = next((p.text for p in paragraphs if p.kind == "heading" and p.level == 1), "")
        section = DraftSection(item.key, item.role, heading, _section_text(paragraphs), [], 1, paragraphs)
        self.written.append(section)
        self.emit(
            "section_done",
            {
                "key": item.key,
                "heading": heading,
                "text": section.text,
                "passages": [p.to_dict() for p in ctx.pool()],  # retrieved, cited or not
            },
        )
        return section, used


def locate_facts(draft: Draft, outline: Outline) -> list:
    """The outline's facts with ``section`` set to the draft section that states each (a sentence carrying
    most of its characters), "" for a fact the draft does not state."""
    from ..evals.metrics import bigrams, share_in

    sentences = [
        (section.key, bigrams(sentence))
        for section in draft.sections
        for sentence in split_sentences(section.text)
    ]
    out = []
    for fact in outline.facts:
        grams = bigrams(fact.text)
        where = next((key for key, g in sentences if grams and share_in(grams, g) >= 0.8), "")
        out.append(replace(fact, section=where, fits=fact.fits or fact.section))
    return out


def _unused_warning(draft: Draft) -> str | None:
    unused = [f for f in draft.facts if not f.section]
    if not unused:
        return None
    shown = "；".join(f.text for f in unused[:3])
    more = f"等 {len(unused)} 条" if len(unused) > 3 else ""
    return f"材料中有 {len(unused)} 条事实未放入草稿，请在合适位置补充：{shown}{more}"


def propose_outline(request: DraftRequest, settings: Settings, on_event: EventFn | None = None) -> Outline:
    """The outline to show the writer: the model's proposal (headings in the type's style, facts placed,
    problems paired with measures) when a model is configured, validated against and falling back to the
    offline outline (``make_outline``); ``warning`` events say what was kept from the offline one."""
    outline = make_outline(request, settings)
    if not settings.llm_configured:
        return outline
    from .llm_outline import propose

    return propose(clean_request(request), settings, outline, on_event or noop)


def write_draft(
    request: DraftRequest,
    settings: Settings,
    outline: Outline | None = None,
    on_event: EventFn | None = None,
    retriever: Any = None,
) -> Draft:
    """Write a whole draft. ``outline`` may be an edited one (headings, points and facts are taken from it);
    ``retriever`` defaults to the index under ``settings``."""
    emit = on_event or noop
    check_request(request, settings)
    request = clean_request(request)
    notes: list[str] = []
    stalled: list[str] = []

    def note(kind: str, payload: dict[str, Any]) -> None:
        if kind == "warning":
            notes.append(str(payload.get("text", "")))
            if payload.get("stalled"):
                stalled.append(str(payload["stalled"]))
        emit(kind, payload)

    outline = clean_outline(outline) if outline else propose_outline(request, settings, note)
    emit("outline", outline.to_dict())
    retriever = retriever or open_retriever(settings)
    run = _Run(request, settings, outline, SourceBook(), emit, retriever)
    run.warnings += notes
    run.start_llm()
    if stalled and run.llm is not None and outline.items:  # a model that stalled on the outline
        run.stall(stalled[0], outline.items[0])
    doctype = run.doctype
    budgets = _budgets(doctype, request, outline)
    run.written.append(run.opening())
    number = 1
    for index, item in enumerate(outline.items):
        section, used = run.section(index, budgets[item.key], number)
        number += used
        if run.llm is not None:
            _carry_over(budgets, outline, doctype, index, len(section.text))
    sections = [*run.written, run.closing()]
    draft = Draft(
        doc_type=doctype.name,
        title=outline.title,
        sections=sections,
        text="",
        sources=list(run.book.sources),
        warnings=list(run.warnings),
        generator=run.generator | {"type_schema_version": doctype.version, "skeleton": outline.skeleton},
        request=request,
        subtitle=outline.subtitle,
        suggestions=run.composer.suggestions,
        outline=outline,
    )
    assemble(draft)
    if run.llm is not None and settings.llm_revise:
        from .llm_review import review

        for text in review(draft, run.llm, emit):
            draft.warnings.append(text)
        assemble(draft)
    draft.facts = locate_facts(draft, outline)
    notice = _unused_warning(draft)
    if notice:
        run.warn(notice)
        draft.warnings.append(notice)
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
    emit = on_event or noop
    if draft.request is None:
        raise InputError("该草稿没有保存起草要求，无法重新生成单个部分，请重新起草。")
    index = next((i for i, s in enumerate(draft.sections) if s.key == key), None)
    if index is None:
        keys = "、".join(s.key for s in draft.sections)
        raise InputError(f"草稿中没有“{key}”这一部分，可选：{keys}")
    draft = copy.deepcopy(draft)
    request = draft.request = clean_request(draft.request)
    outline = draft.outline or make_outline(request, settings)
    book = SourceBook(list(draft.sources))
    retriever = retriever or open_retriever(settings)
    run = _Run(request, settings, outline, book, emit, retriever)
    for section in draft.sections:
        for sentence in split_sentences(section.text):
            run.composer.avoid(sentence)  # the new version says something else…
    old = draft.sections[index]
    run.start_llm()
    if key == "opening":
        new = run.opening()
    elif key == "closing":
        run.written = list(draft.sections[:index])
        new = run.closing()
    else:
        item_index = next((i for i, item in enumerate(outline.items) if item.key == key), None)
        if item_index is None:
            raise InputError(f"提纲中没有“{key}”这一部分，请重新生成提纲。")
        match = re.match(r"([一二三四五六七八九十]+)、", old.heading)
        number = numerals.from_chinese(match.group(1)) if match else 1
        if not match:
            number = 1 + sum(
                1
                for s in draft.sections[:index]
                for p in s.paragraphs
                if p.kind == "heading" and p.level == 1
            )
        run.written = list(draft.sections[:index])
        budget = _budgets(run.doctype, request, outline)[key]
        new, _ = run.section(item_index, budget, number or 1)
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
