"""Section actions a writer runs on one part of a finished draft — 重写, 扩写, 缩写到 N 字, 润色 — and the
writer's own edits. Each returns a new ``Draft``; the old one is untouched, so the UI can show a before/after
and undo.

With an LLM configured, each action is one call with ``prompts/llm/revise.md`` (the faithfulness guard runs
on the reply, as on every model text) and falls back to the offline way with a notice when the call fails.
Offline: 重写 is the composer's alternative version (``pipeline.regenerate_section``; for one 意见 of a
speech, the composer writes that point again); 扩写 adds only sentences from retrieved passages that are
about the part (character-bigram overlap over a floor), and a 【待补：…】 gap when there are not enough,
never filler; 缩写 keeps headings and the most relevant whole sentences up to N characters; 润色 mends
punctuation, doubled words and doubled connectives. Sources are kept: a kept sentence keeps its source, an
added sentence brings its passage as a new source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .. import numerals
from ..content.injection import StreamCleaner, is_instruction, strip_model_markup
from ..doctypes import get_doctype
from ..errors import BackendError, InputError
from ..records import Draft, DraftParagraph, Outline, OutlineItem, Passage, Span
from ..settings import Settings
from . import pipeline
from .adapt import Adapter, normalize_punctuation
from .composer import Composer
from .context import SectionContext, spec_for
from .llm_writer import fence_safe, system_prompt
from .parts import (
    SUB,
    Part,
    classify_line,
    find_part,
    paragraph_sentences,
    part_paragraphs,
    renumber_markers,
    replace_part,
)
from .parts import (
    part_text as part_text_of,
)
from .request import clean_request, template_values
from .sources import SourceBook, open_retriever, retrieve, section_passages
from .units import overlap, passage_units, split_sentences, strip_end

ACTIONS = {"rewrite": "重写", "expand": "扩写", "shorten": "缩写", "polish": "润色"}
EDIT_KIND = "edit"  # a sentence the writer typed or changed (a Span kind beside records.SPAN_KINDS)
RELEVANCE_FLOOR = 0.12  # 扩写 takes a sentence only when this share of the part's bigrams… is shared
EventFn = Callable[[str, dict[str, Any]], None]
_CONNECTIVES = (
    "同时",
    "此外",
    "另外",
    "与此同时",
    "在此基础上",
    "另一方面",
    "一方面",
    "而且",
    "并且",
    "因此",
)
_DOUBLE_CONNECTIVE_RE = re.compile(rf"^((?:{'|'.join(_CONNECTIVES)})，)(?:(?:{'|'.join(_CONNECTIVES)})，)+")
_DOUBLED_WORD_RE = re.compile(r"([一-龥]{2,4})\1")
_DOUBLED_PUNCT_RE = re.compile(r"([，。；：！？、])\1+")
_COMMA_STOP_RE = re.compile(r"[，、；]([。！？])")
_SPACE_RE = re.compile(r"(?<=[一-龥，。；：！？、“”（）])\s+(?=[一-龥，。；：！？、“”（）])")
_MARK_RE = re.compile(r"\s*\[(\d{1,3})\]")


def _noop(kind: str, payload: dict[str, Any]) -> None:
    return None


def _norm(text: str) -> str:
    return re.sub(r"[\s，,。；;：:！!？?、“”\"]", "", text)


def _composer(draft: Draft, settings: Settings, book: SourceBook):
    """The draft's cleaned request, its type as its outline's skeleton shapes it, and a composer that
    writes with the same formula values the draft was written with."""
    request = clean_request(draft.request)
    doctype = get_doctype(draft.doc_type, settings.prompts_dir)
    if draft.outline is not None and draft.outline.skeleton:
        doctype = doctype.with_skeleton(draft.outline.skeleton)
    values = template_values(request, draft.outline)
    return request, doctype, Composer(doctype, request, settings.prompts_dir, book, values, settings=settings)


def _spec(doctype, draft: Draft, key: str):
    item = next((i for i in (draft.outline.items if draft.outline else []) if i.key == key), None)
    return spec_for(doctype, item) if item is not None else doctype.section(key)


def _headings(draft: Draft, settings: Settings) -> dict[str, str]:
    try:
        doctype = get_doctype(draft.doc_type, settings.prompts_dir)
    except InputError:
        return {}
    return {s.key: s.heading for s in doctype.sections}


def _length(paragraphs: list[DraftParagraph]) -> int:
    return sum(len(p.text) for p in paragraphs)


# ------------------------------------------------------------------------------------------ writer edits
def apply_edit(draft: Draft, key: str, text: str, settings: Settings | None = None) -> Draft:
    """The draft with the part ``key`` replaced by the writer's ``text`` (one paragraph a line). Paragraphs
    and sentences left as they were keep their kind and sources; changed sentences are marked as the
    writer's (``EDIT_KIND``); a changed paragraph without sentence spans keeps the sources of the old
    paragraph it mostly still reads like."""
    part = find_part(draft, key, _headings(draft, settings) if settings else None)
    old = part_paragraphs(draft, part)
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise InputError("这一部分的内容为空。若要删去这一部分，请在提纲中删除后重新生成正文。")
    by_text = {p.text: p for p in old}
    old_spans = {_norm(s.text): s for p in old for s in paragraph_sentences(p)}
    paragraphs: list[DraftParagraph] = []
    for line in lines:
        kept = by_text.get(line)
        if kept is not None:
            paragraphs.append(replace(kept, spans=[replace(s) for s in kept.spans]))
            continue
        kind, level = classify_line(line)
        if kind == "heading" and level == 1:
            paragraphs.append(DraftParagraph(line, "heading", 1))
            continue
        if not any(p.spans for p in old):
            best = max(old, key=lambda p: overlap(p.text, line), default=None)
            sources = list(best.sources) if best is not None and overlap(best.text, line) >= 0.5 else []
            paragraphs.append(DraftParagraph(line, kind, level, sources))
            continue
        spans = []
        for sentence in split_sentences(line):
            same = old_spans.get(_norm(sentence))
            spans.append(replace(same, text=sentence) if same else Span(sentence, EDIT_KIND, []))
        paragraphs.append(
            DraftParagraph(line, kind, level, sorted({n for s in spans for n in s.sources}), spans)
        )
    result = replace_part(draft, part, paragraphs)
    result.generator = dict(result.generator) | {"edited": part.label}
    return result


# ---------------------------------------------------------------------------------------------- actions
def revise_section(
    draft: Draft,
    key: str,
    action: str,
    settings: Settings,
    target_chars: int | None = None,
    on_event: EventFn | None = None,
    retriever: Any = None,
) -> Draft:
    """The draft with part ``key`` (a section key, or ``key#n`` for one of its level-1 headings) revised by
    ``action`` (rewrite | expand | shorten | polish). ``target_chars``: the length 缩写 keeps to (required)
    or 扩写 grows to (default: half as long again)."""
    if action not in ACTIONS:
        raise InputError(f"不支持的修改方式“{action}”，可选：{'、'.join(ACTIONS.values())}。")
    if draft.request is None:
        raise InputError("该草稿没有保存起草要求，无法修改单个部分，请重新起草。")
    emit = on_event or _noop
    part = find_part(draft, key, _headings(draft, settings))
    paragraphs = part_paragraphs(draft, part)
    current = _length(paragraphs)
    if action == "shorten":
        current = _content(paragraphs)  # what 缩写 counts: the text, not the 【待补】 gaps it always keeps
        if not target_chars or target_chars <= 0:
            raise InputError("请填写缩写后的字数（正整数）。")
        if target_chars >= current:
            raise InputError(f"这一部分现有 {current} 字，不超过 {target_chars} 字，无需缩写。")
    if action == "expand":
        target_chars = (
            target_chars if target_chars and target_chars > current else current + max(150, current // 2)
        )
    emit("section_start", {"key": part.key, "heading": part.label, "action": action})
    warnings: list[str] = []
    result = None
    if settings.llm_configured:
        try:
            result = _revise_with_llm(draft, part, action, settings, target_chars or current, emit, retriever)
        except BackendError as exc:
            warnings.append(f"{exc}；已改用离线方式{ACTIONS[action]}“{part.label}”。")
            emit("warning", {"text": warnings[-1]})
    if result is None:
        result = _revise_offline(draft, part, action, settings, target_chars, emit, retriever)
    result.warnings = [w for w in result.warnings if w not in warnings] + warnings
    result.generator = dict(result.generator) | {"revised": {"part": part.label, "action": ACTIONS[action]}}
    result.generator.pop("regenerated", None)
    new_part = next((p for p in _parts_like(result, part)), None)
    emit(
        "section_done",
        {"key": part.key, "heading": part.label, "text": "\n".join(p.text for p in new_part or [])},
    )
    return result


def _parts_like(draft: Draft, part: Part):
    try:
        found = find_part(draft, part.key)
    except InputError:
        return
    yield part_paragraphs(draft, found)


def _revise_offline(draft, part, action, settings, target_chars, emit, retriever) -> Draft:
    if action == "polish":
        return replace_part(draft, part, [_polish_paragraph(p) for p in part_paragraphs(draft, part)])
    if action == "shorten":
        return _shorten(draft, part, target_chars)
    retriever = retriever or open_retriever(settings)
    if action == "expand":
        return _expand(draft, part, settings, target_chars, retriever)
    if SUB not in part.key:  # a whole section: the composer's alternative version
        result = pipeline.regenerate_section(
            draft, part.section, settings, on_event=emit, retriever=retriever
        )
    else:
        result = _rewrite_point(draft, part, settings, retriever)
    return _keep_if_poorer(draft, result, part)


def _content(paragraphs: list[DraftParagraph]) -> int:
    """Characters of a part that say something: neither headings' numbering nor 【待补】 gaps."""
    text = "".join(p.text for p in paragraphs if not (p.kind == "heading" and p.level == 1))
    return len(re.sub(r"【待补[^】]*】", "", text))


def _keep_if_poorer(old: Draft, new: Draft, part: Part) -> Draft:
    """An alternative that says much less than the original (the corpus has run out of other sentences on
    this part) is no alternative: keep the original and say why."""
    before = _content(part_paragraphs(old, part))
    try:
        after = _content(part_paragraphs(new, find_part(new, part.key)))
    except InputError:
        after = 0
    try:
        same = part_text_of(new, part.key) == part_text_of(old, part.key)
    except InputError:
        same = False
    if after >= before * 0.6 and not same:
        return new
    kept = replace(old, warnings=list(old.warnings))
    kept.warnings.append(
        f"范文库中与“{part.label}”相关的其他内容不足，找不到不丢内容的另一种写法，已保留原文。"
        "可在“范文库”补充范文后再试，或改用“扩写”“润色”。"
    )
    return kept


# -------------------------------------------------------------------------------------------------- 润色
def polish_text(text: str) -> str:
    """Punctuation to full width, doubled punctuation and words (工作工作) once, no ``，。``, spaces between
    Chinese characters removed, and a run of connectives at a sentence start cut to the first."""
    text = _SPACE_RE.sub("", normalize_punctuation(text))
    text = _DOUBLED_PUNCT_RE.sub(r"\1", text)
    text = _COMMA_STOP_RE.sub(r"\1", text)
    text = _DOUBLED_WORD_RE.sub(r"\1", text)
    return "".join(_DOUBLE_CONNECTIVE_RE.sub(r"\1", s) for s in split_sentences(text)) or text


def _polish_paragraph(paragraph: DraftParagraph) -> DraftParagraph:
    if paragraph.spans:
        spans = [replace(s, text=polish_text(s.text)) for s in paragraph.spans]
        _drop_repeated_connectives(spans)
        return replace(paragraph, text="".join(s.text for s in spans), spans=spans)
    spans = [Span(s, "corpus") for s in split_sentences(polish_text(paragraph.text))]
    _drop_repeated_connectives(spans)
    return replace(paragraph, text="".join(s.text for s in spans) or polish_text(paragraph.text))


def _drop_repeated_connectives(spans: list[Span]) -> None:
    """Two sentences running that open with the same connective: the second loses it."""
    previous = ""
    for span in spans:
        match = re.match(rf"^({'|'.join(_CONNECTIVES)})，", span.text)
        word = match.group(1) if match else ""
        if word and word == previous:
            span.text = span.text[match.end() :]
        previous = word


# -------------------------------------------------------------------------------------------------- 缩写
def _shorten(draft: Draft, part: Part, target: int) -> Draft:
    """Keep level-1 headings and every 【待补】 gap, then whole sentences by relevance (each paragraph's lead
    first) up to ``target`` characters, in their original order; empty paragraphs go, numbering closes up."""
    paragraphs = part_paragraphs(draft, part)
    request = draft.request
    query = " ".join([part.label, request.topic, *request.points])
    pieces: list[tuple[int, int, Span, float]] = []  # paragraph, position, sentence, priority
    for pi, paragraph in enumerate(paragraphs):
        for si, span in enumerate(paragraph_sentences(paragraph)):
            if paragraph.kind == "heading" and paragraph.level == 1:
                priority = 10.0
            else:
                priority = overlap(query, span.text) + (1.0 if si == 0 else 0.0)
                priority += 0.3 if span.kind == "fact" else 0.0
            pieces.append((pi, si, span, priority))
    # a 【待补】 gap is the writer's to-do, not text: it always stays (a point would otherwise be left as a bare
    # heading) and does not count toward the N characters, as the part's length does not count it
    keep = {(pi, si) for pi, si, span, _ in pieces if span.kind == "gap"}
    size = 0
    for pi, si, span, _ in sorted(pieces, key=lambda p: -p[3]):
        if span.kind == "gap":
            continue
        if size + len(span.text) > target and size:
            continue
        keep.add((pi, si))
        size += len(span.text)
    out: list[DraftParagraph] = []
    for pi, paragraph in enumerate(paragraphs):
        spans = [span for p, si, span, _ in pieces if p == pi and (p, si) in keep]
        if not spans:
            continue
        text = "".join(s.text for s in spans)
        if paragraph.spans:
            out.append(replace(paragraph, text=text, spans=spans))
        else:
            out.append(replace(paragraph, text=text, spans=[]))
    renumber_markers(out)
    return replace_part(draft, part, out)


# -------------------------------------------------------------------------------------------------- 扩写
def _expand(draft: Draft, part: Part, settings: Settings, target: int, retriever: Any) -> Draft:
    """Add sentences from retrieved passages that are about this part until ``target`` characters; when
    the corpus has no more on it, one 【待补：…】 gap says what the writer should add."""
    paragraphs = [replace(p, spans=list(p.spans)) for p in part_paragraphs(draft, part)]
    book = SourceBook(list(draft.sources))
    request, doctype, composer = _composer(draft, settings, book)
    section = next(s for s in draft.sections if s.key == part.section)
    heading = strip_end(re.sub(r"^[一二三四五六七八九十]+、", "", part.label))
    points = [
        strip_end(re.sub(r"^[（(][一二三四五六七八九十]+[）)]", "", p.text))[:30]
        for p in paragraphs
        if p.level == 2
    ]
    query = " ".join([heading, *points, request.topic])
    passages = retrieve(retriever, f"{request.topic} {heading}", doctype.name, section.role, k=8)
    adapter = composer.adapter
    said = {_norm(s) for s in split_sentences(draft.text)}
    figures = "mark" if section.role in ("background", "achievements") else "drop"
    candidates: list[tuple[float, str, Passage]] = []
    for passage in passages:
        for unit in passage_units(passage):
            for sentence in unit.sentences:
                score = overlap(query, sentence)
                if score < RELEVANCE_FLOOR or _norm(sentence) in said:
                    continue
                adapted = adapter.adapt(sentence, (), figures)
                if adapted and _norm(adapted) not in said:
                    candidates.append((score, adapted, passage))
                    said.add(_norm(adapted))
    candidates.sort(key=lambda c: -c[0])
    bodies = [i for i, p in enumerate(paragraphs) if not (p.kind == "heading" and p.level == 1)]
    if not bodies:
        paragraphs.append(DraftParagraph("", "body", 0))
        bodies = [len(paragraphs) - 1]
    size = _length(paragraphs)
    added = 0
    for _, sentence, passage in candidates:
        if size >= target:
            break
        number = book.cite(passage)
        at = max(bodies, key=lambda i: overlap(sentence, paragraphs[i].text))
        _append(paragraphs[at], Span(sentence, "corpus", [number]))
        size += len(sentence)
        added += 1
    if size < target:
        gap = composer.gap(heading, _spec(doctype, draft, section.key)).text.strip()
        if gap and gap not in "".join(p.text for p in paragraphs):
            _append(paragraphs[bodies[-1]], Span(gap, "gap", []))
    paragraphs = [p for p in paragraphs if p.text]
    result = replace(draft, sources=list(book.sources))
    result = replace_part(result, part, paragraphs)
    if not added:
        result.warnings = [
            *result.warnings,
            f"范文库中没有更多与“{part.label}”相关的内容，已加入【待补】提示，请补充实际情况。",
        ]
    return result


def _append(paragraph: DraftParagraph, span: Span) -> None:
    """Add a sentence at the end of a paragraph, turning a paragraph without spans into sentence spans so
    the new sentence carries its own source."""
    if not paragraph.spans and paragraph.text:
        paragraph.spans = [
            Span(s, "corpus", list(paragraph.sources)) for s in split_sentences(paragraph.text)
        ]
    paragraph.spans.append(span)
    paragraph.text = "".join(s.text for s in paragraph.spans)
    paragraph.sources = sorted({n for s in paragraph.spans for n in s.sources})


# ------------------------------------------------------------------------------------ 重写 of one 意见
def _rewrite_point(draft: Draft, part: Part, settings: Settings, retriever: Any) -> Draft:
    """One of several level-1 headings (a speech's 意见) written again by the composer, avoiding every
    sentence the draft already has."""
    book = SourceBook(list(draft.sources))
    request, doctype, composer = _composer(draft, settings, book)
    spec = _spec(doctype, draft, part.section)
    for sentence in split_sentences(draft.text):
        composer.avoid(sentence)
    heading = part_paragraphs(draft, part)[0].text
    match = re.match(r"([一二三四五六七八九十]+)、", heading)
    number = (numerals.from_chinese(match.group(1)) if match else 1) or 1
    point = strip_end(heading[match.end() :] if match else heading)
    numbering = "headings" if spec.numbering == "subheadings" else "items"
    item = OutlineItem(part.section, spec.role, point, [point], numbering, form=spec.form)
    outline = draft.outline or Outline(draft.doc_type, draft.title, [item])
    passages, per_point = section_passages(retriever, request, doctype.name, item)
    index = next(i for i, s in enumerate(draft.sections) if s.key == part.section)
    ctx = SectionContext(
        request=request,
        doctype=doctype,
        outline=outline,
        item=item,
        spec=spec,
        next_number=number,
        budget=max(200, _length(part_paragraphs(draft, part))),
        passages=passages,
        per_point=per_point,
        written=list(draft.sections[:index]),
        values=template_values(request, draft.outline),
    )
    composed, _ = composer.section(ctx)
    first = next((i for i, p in enumerate(composed) if p.kind == "heading" and p.level == 1), 0)
    paragraphs = composed[first:]
    return replace_part(replace(draft, sources=list(book.sources)), part, paragraphs)


# ------------------------------------------------------------------------------------------- with a model
def _revise_with_llm(draft, part, action, settings, target, emit, retriever) -> Draft:
    from ..llm import LLMClient
    from ..prompts import get_prompt, render

    paragraphs = part_paragraphs(draft, part)
    request = clean_request(draft.request)
    doctype = get_doctype(draft.doc_type, settings.prompts_dir)
    book = SourceBook(list(draft.sources))
    references: list[Passage | int] = []
    if action in ("rewrite", "expand"):
        own = sorted({n for p in paragraphs for n in p.sources})
        references += own
        retriever = retriever or open_retriever(settings)
        section = next(s for s in draft.sections if s.key == part.section)
        references += retrieve(retriever, f"{request.topic} {part.label}", doctype.name, section.role, k=4)
    by_number = {s.number: s for s in draft.sources}
    shown = []
    for n, ref in enumerate(references, start=1):
        if isinstance(ref, int):
            source = by_number[ref]
            title, path, text = source.title, source.heading_path, source.text
        else:
            title, path, text = ref.chunk.title, ref.chunk.heading_path, ref.chunk.text
        shown.append(
            {
                "number": n,
                "title": fence_safe(title),
                "heading_path": fence_safe(path),
                "text": fence_safe(text),
            }
        )
    prompt = get_prompt(settings.prompts_dir, "revise")
    user = render(
        prompt,
        doc_label=doctype.label,
        title=draft.title,
        heading=part.label,
        action=action,
        text=fence_safe("\n".join(p.text for p in paragraphs)),
        target_chars=target,
        topic=request.topic,
        unit=request.unit,
        materials=[fence_safe(m) for m in request.materials],
        references=shown,
    )
    # the model path's own system prompt (register, 提法 list, conventions), as every model call writing text
    outline = draft.outline or Outline(draft.doc_type, draft.title, [])
    styled = doctype.with_skeleton(outline.skeleton) if outline.skeleton else doctype
    system, _ = system_prompt(settings, request, outline, styled, template_values(request, draft.outline))
    client = LLMClient(settings)
    pieces = []
    cleaner = StreamCleaner()  # markup a browser acts on never reaches the page, even mid-stream
    for delta in client.stream(system, user):
        pieces.append(delta)
        if shown := cleaner.feed(delta):
            emit("section_delta", {"key": part.key, "text": shown})
    if rest := cleaner.finish():
        emit("section_delta", {"key": part.key, "text": rest})
    adapter = Adapter(request, settings.prompts_dir)
    out: list[DraftParagraph] = []
    for raw in strip_model_markup("".join(pieces)).splitlines():
        line = raw.strip().lstrip("#>-* ").replace("**", "").strip()
        marks = [int(m) for m in _MARK_RE.findall(line)]
        line = _MARK_RE.sub("", line).strip()
        if not line:
            continue
        kind, level = classify_line(line)
        if kind == "heading" and level == 1:
            out.append(DraftParagraph(strip_end(line), "heading", 1))
            continue
        guarded, _ = adapter.guard([t for t in split_sentences(line) if not is_instruction(t)])
        if not guarded:
            continue
        sources = []
        for m in marks:
            if 1 <= m <= len(references):
                ref = references[m - 1]
                sources.append(ref if isinstance(ref, int) else book.cite(ref))
        if not sources and action in ("polish", "shorten"):
            best = max(paragraphs, key=lambda p: overlap(p.text, guarded))
            sources = list(best.sources) if overlap(best.text, guarded) >= 0.4 else []
        out.append(DraftParagraph(guarded, kind, level, sorted(set(sources))))
    if not any(p.kind == "body" or p.level == 2 for p in out):
        raise BackendError("大模型服务返回的内容为空或无法使用")
    if (
        paragraphs[0].kind == "heading"
        and paragraphs[0].level == 1
        and not (out[0].kind == "heading" and out[0].level == 1)
    ):
        out.insert(0, replace(paragraphs[0], spans=[]))  # the model left the heading out: keep the writer's
    result = replace(draft, sources=list(book.sources))
    result = replace_part(result, part, out)
    result.generator = dict(result.generator) | {"revised_by": client.describe()}
    return result
