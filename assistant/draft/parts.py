"""The parts of a draft a writer works on one at a time, and the bookkeeping every change to a part needs.

A part is a whole section (开头, 存在的问题, 结尾) or, in a section with several level-1 headings (a speech's
几点意见), one of those headings with what follows it. Parts are named by their Chinese heading, never by a
schema key, and every 意见 is one. ``replace_part`` swaps a part's paragraphs and ``finish`` renumbers the
sources (paragraph marks and sentence spans alike) so the draft stays consistent after an edit or an action.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace

from ..records import Draft, DraftParagraph, Span
from .units import split_sentences

SUB = "#"  # a sub-part key: f"{section_key}#{n}" for the n-th level-1 heading of a section
FALLBACK_LABELS = {
    "opening": "开头",
    "closing": "结尾",
    "background": "基本情况",
    "achievements": "成效和做法",
    "problems": "存在的问题",
    "causes": "原因分析",
    "measures": "措施和打算",
    "requirements": "几点意见",
    "other": "正文",
}
_LEVEL1_RE = re.compile(r"^[一二三四五六七八九十]+、")
_LEVEL2_RE = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


@dataclass(frozen=True)
class Part:
    key: str  # the section key, or f"{section}#{n}" for one of several level-1 headings
    section: str  # the section key
    label: str  # what the writer sees: 二、存在的问题 / 开头 / 几点意见（全部）
    start: int  # paragraphs [start, end) of the section
    end: int


def _section_label(section, headings: dict[str, str]) -> str:
    if section.heading:
        return section.heading
    first = next((p.text for p in section.paragraphs if p.kind == "heading" and p.level == 1), "")
    return first or headings.get(section.key) or FALLBACK_LABELS.get(section.role, "正文")


def draft_parts(draft: Draft, headings: dict[str, str] | None = None) -> list[Part]:
    """Every part of ``draft`` in order. ``headings``: section key -> heading for sections written without
    one (a speech's 取得的成效 paragraph), from the outline or the type's schema."""
    headings = dict(headings or {})
    if draft.outline is not None:
        headings = {i.key: i.heading for i in draft.outline.items} | headings
    parts: list[Part] = []
    for section in draft.sections:
        count = len(section.paragraphs)
        level1 = [i for i, p in enumerate(section.paragraphs) if p.kind == "heading" and p.level == 1]
        if len(level1) <= 1:
            parts.append(Part(section.key, section.key, _section_label(section, headings), 0, count))
            continue
        label = headings.get(section.key) or FALLBACK_LABELS.get(section.role, "正文")
        parts.append(Part(section.key, section.key, f"{label}（全部）", 0, count))
        for n, start in enumerate(level1, start=1):
            end = level1[n] if n < len(level1) else count
            text = section.paragraphs[start].text
            parts.append(Part(f"{section.key}{SUB}{n}", section.key, text, start, end))
    return parts


def find_part(draft: Draft, key: str, headings: dict[str, str] | None = None) -> Part:
    from ..errors import InputError

    for part in draft_parts(draft, headings):
        if part.key == key:
            return part
    raise InputError("草稿中没有所选的这一部分（草稿可能已改动），请重新选择要修改的部分。")


def section_index(draft: Draft, key: str) -> int:
    return next(i for i, s in enumerate(draft.sections) if s.key == key)


def part_paragraphs(draft: Draft, part: Part) -> list[DraftParagraph]:
    return draft.sections[section_index(draft, part.section)].paragraphs[part.start : part.end]


def part_text(draft: Draft, key: str) -> str:
    """The part's text as the writer edits it: one paragraph a line, headings included."""
    part = find_part(draft, key)
    return "\n".join(p.text for p in part_paragraphs(draft, part))


def replace_part(draft: Draft, part: Part, paragraphs: list[DraftParagraph]) -> Draft:
    """A copy of ``draft`` with the part's paragraphs replaced, renumbered and its text rebuilt."""
    result = copy.deepcopy(draft)
    section = result.sections[section_index(result, part.section)]
    section.paragraphs = section.paragraphs[: part.start] + paragraphs + section.paragraphs[part.end :]
    level1 = next((p.text for p in section.paragraphs if p.kind == "heading" and p.level == 1), "")
    if section.heading and level1:
        section.heading = level1
    return finish(result)


def paragraph_sentences(paragraph: DraftParagraph) -> list[Span]:
    """A paragraph as sentence spans: its own spans, or (for a generator that records none yet) its
    sentences each carrying the paragraph's sources."""
    if paragraph.spans:
        return [copy.copy(s) for s in paragraph.spans]
    if paragraph.kind == "heading" and paragraph.level == 1:
        return [Span(paragraph.text, "heading", [])]
    return [Span(s, "corpus", list(paragraph.sources)) for s in split_sentences(paragraph.text)]


def finish(draft: Draft) -> Draft:
    """Renumber the cited sources 1.. in order of first citation (paragraph marks and spans alike), drop
    uncited ones, and rebuild each section's text, source ids and the draft's text."""
    by_number = {s.number: s for s in draft.sources}
    order: dict[int, int] = {}
    for section in draft.sections:
        for paragraph in section.paragraphs:
            cited = list(paragraph.sources) + [n for s in paragraph.spans for n in s.sources]
            for n in cited:
                if n in by_number and n not in order:
                    order[n] = len(order) + 1
    for section in draft.sections:
        for paragraph in section.paragraphs:
            for span in paragraph.spans:
                span.sources = [order[n] for n in span.sources if n in order]
            if paragraph.spans:
                paragraph.text = "".join(s.text for s in paragraph.spans)
                paragraph.sources = sorted({n for s in paragraph.spans for n in s.sources})
            else:
                paragraph.sources = sorted({order[n] for n in paragraph.sources if n in order})
        section.text = "\n".join(p.text for p in section.paragraphs)
        new_to_old = {new: old for old, new in order.items()}
        section.source_ids = sorted(
            {by_number[new_to_old[n]].chunk_id for p in section.paragraphs for n in p.sources}
        )
    draft.sources = [
        replace(by_number[old], number=new) for old, new in sorted(order.items(), key=lambda kv: kv[1])
    ]
    lines = [draft.title] + ([draft.subtitle] if draft.subtitle else [])
    lines += [p.text for s in draft.sections for p in s.paragraphs]
    draft.text = "\n".join(lines)
    return draft


def renumber_markers(paragraphs: list[DraftParagraph]) -> None:
    """After sentences or paragraphs were removed: 一是…二是… count up again without gaps (from each
    heading on, across the paragraphs under it) and so do （一）（二）… across the part's level-2 headings."""
    from .. import numerals

    level2 = 0
    mark = _item_counter()
    for paragraph in paragraphs:
        if paragraph.kind == "heading":
            mark = _item_counter()
        if paragraph.kind == "heading" and paragraph.level == 2 and _LEVEL2_RE.match(paragraph.text):
            level2 += 1
            marker = numerals.level_marker(2, level2)
            paragraph.text = _LEVEL2_RE.sub(marker, paragraph.text, count=1)
            if paragraph.spans:
                paragraph.spans[0].text = _LEVEL2_RE.sub(marker, paragraph.spans[0].text, count=1)
        if paragraph.spans:
            for span in paragraph.spans:
                span.text = _ITEM_RE.sub(mark, span.text)
            paragraph.text = "".join(s.text for s in paragraph.spans)
        else:
            paragraph.text = _ITEM_RE.sub(mark, paragraph.text)


_ITEM_RE = re.compile(r"(^|(?<=[。；;：:！]))[一二三四五六七八九十]+是")


def _item_counter():
    """A ``re.sub`` replacement numbering 一是、二是… from one, for one paragraph."""
    from .. import numerals

    count = iter(range(1, 100))
    return lambda m: m.group(1) + numerals.item_marker(next(count))


def classify_line(line: str) -> tuple[str, int]:
    """(kind, level) of a line the writer typed: ``一、…`` a level-1 heading, a short ``（一）…`` line a
    level-2 heading (a long one is a run-in heading, as the composer writes them), else body."""
    if _LEVEL1_RE.match(line):
        return "heading", 1
    if _LEVEL2_RE.match(line):
        return "heading", 2
    return "body", 0
