"""The optional revision pass (setting ``llm_revise``): one call reads the whole model draft against a
checklist — 提法, 称谓 and person, 前后呼应, repetition, facts — and returns targeted edits.

An edit is a sentence to replace (``old`` copied from the draft) and its replacement, with the reason. It is
applied only where ``old`` occurs exactly once in a body paragraph (never a heading, a salutation or a fixed
formula), the replacement is short of a rewrite of the paragraph, and it passes the same flagging guard as
every model sentence (``verify``): a new figure or name gets its 【核实】 mark like any other. Every applied
edit is shown to the writer (a warning with the reason, and the sentence's ``Span.note``); an edit that
cannot be placed is reported as not applied. One call, no retry: the pass is a second reader, and a draft
without it is still whole.
"""

from __future__ import annotations

from ..errors import BackendError
from ..prompts import get_prompt, render
from ..records import Draft, DraftParagraph, Span
from . import llm_brief as brief
from .context import EventFn
from .llm_outline import _json_object, planner_system
from .llm_writer import LLMSectionWriter
from .units import split_sentences

MAX_EDITS = 8


def review(draft: Draft, writer: LLMSectionWriter, emit: EventFn) -> list[str]:
    """Apply the model's edits to ``draft`` in place; the notes to show the writer."""
    request = draft.request
    prompt = get_prompt(writer.settings.prompts_dir, "review")
    user = render(
        prompt,
        doc_label=writer.doctype.label,
        register=writer.register,
        text=brief.fence_safe(draft.text),
        materials=[brief.fence_safe(m) for m in (request.materials if request else [])],
        tifa=brief.tifa_entries(request.year if request else None, writer.settings.prompts_dir),
    )
    try:
        system = planner_system(writer.settings, writer.doctype.label)
        reply = "".join(writer.client.stream(system, user, max_tokens=2048 + 1024))
    except BackendError as exc:
        return [f"{exc}；审读修改未完成，草稿保持原样。"]
    data = _json_object(reply)
    edits = data.get("edits") if isinstance(data, dict) else None
    if not isinstance(edits, list):
        return ["大模型的审读意见无法解析，草稿保持原样。"]
    notes: list[str] = []
    for edit in edits[:MAX_EDITS]:
        if not isinstance(edit, dict):
            continue
        note = apply_edit(
            draft, writer, str(edit.get("old") or ""), str(edit.get("new") or ""), str(edit.get("why") or "")
        )
        if note:
            notes.append(note)
            emit("warning", {"text": note})
    return notes


def apply_edit(draft: Draft, writer: LLMSectionWriter, old: str, new: str, why: str) -> str:
    old, new, why = old.strip(), new.strip(), why.strip() or "审读修改"
    if len(old) < 4 or not new or new == old:
        return ""
    places = [
        (section, paragraph)
        for section in draft.sections
        for paragraph in section.paragraphs
        if old in paragraph.text and _editable(paragraph, old)
    ]
    count = sum(p.text.count(old) for _, p in places)
    if count != 1 or len(new) > max(2 * len(old), len(old) + 80):
        return (
            f"审读意见未采用（原句在草稿中找不到或不止一处，或改动过大）：“{old[:30]}”→“{new[:30]}”（{why}）"
        )
    section, paragraph = places[0]
    if (
        section.key == "closing"
        and writer.doctype.closing.fixed
        or section.key == "opening"
        and writer.doctype.opening.fixed
    ):
        return ""
    checked = []
    for sentence in split_sentences(new):
        verdict = writer.verifier.check(sentence)
        if not verdict.dropped:
            checked.append((verdict.text, verdict.note))
    replacement = "".join(text for text, _ in checked)
    if not replacement:
        return ""
    paragraph.text = paragraph.text.replace(old, replacement, 1)
    paragraph.spans = _respan(paragraph.spans, old, replacement, f"审读修改：{why}", checked)
    return f"审读修改：“{old[:40]}”改为“{replacement[:40]}”（{why}）"


def _editable(paragraph: DraftParagraph, old: str) -> bool:
    """Body text only: a body paragraph, or the text after a （一） sub-heading's own words."""
    if paragraph.kind == "body":
        return True
    if paragraph.kind != "heading" or paragraph.level < 2:
        return False
    head = paragraph.spans[0].text if paragraph.spans and paragraph.spans[0].kind == "heading" else ""
    return bool(head) and old in paragraph.text[len(head) :]


def _respan(spans: list[Span], old: str, new: str, note: str, checked: list[tuple[str, str]]) -> list[Span]:
    """Spans after ``old`` became ``new``: the spans ``old`` touched are replaced by one model span per
    new sentence carrying the reason (and any guard note); the others keep their provenance."""
    if not spans:
        return []
    text = "".join(s.text for s in spans)
    start = text.find(old)
    if start < 0:
        return spans
    end = start + len(old)
    out: list[Span] = []
    at = 0
    inserted = False
    for span in spans:
        s, e = at, at + len(span.text)
        at = e
        if e <= start or s >= end:
            out.append(span)
            continue
        prefix = text[s:start] if s < start else ""
        suffix = text[end:e] if e > end else ""
        if prefix:
            out.append(Span(prefix, span.kind, list(span.sources), span.fact, span.note))
        if not inserted:
            for sentence, guard in checked:
                out.append(Span(sentence, "model", [], None, "；".join(x for x in (note, guard) if x)))
            inserted = True
        if suffix:
            out.append(Span(suffix, span.kind, list(span.sources), span.fact, span.note))
    return out


__all__ = ["apply_edit", "review"]
