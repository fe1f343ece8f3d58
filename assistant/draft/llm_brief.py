"""What the model is told besides the task: who speaks to whom, the whole outline, the text written so far,
the 提法 list, and style exemplars that carry no one else's facts.

An experienced writer drafting with a model by hand gives it the 提纲 and what is already written, says who
is speaking to whom, and pastes an example paragraph or two for the tone — after striking out the example's
unit names, figures and brand names. This module prepares exactly that for the prompt files under
``prompts/llm/``:

- ``register_lines``: the type's ``register`` (schema, skeleton overrides) rendered with the request;
- ``outline_lines``: the outline numbered as the draft will be, each part with its 小标题, the writer's
  facts it uses and, for problems, the measure paired with each;
- ``written_text``: the sections already written, whole, or when long a faithful extract (headings and
  each paragraph's first sentence — nothing paraphrased, so nothing misstated);
- ``exemplars``: passages of the same type and role, sentence by sentence without figures, other units'
  own terms (``index.corpus_view``'s lexicon, or the organisation patterns when there is no index), wrong
  提法, placeholders or text addressed to a model; labelled as style only, never numbered for citation;
- ``tifa_entries``: the banned forms (``content.tifa``) for the document's year.
"""

from __future__ import annotations

import re
from typing import Any

from .. import numerals
from ..content import facts as facts_mod
from ..content import hygiene, lexicon, tifa
from ..doctypes import DocType
from ..prompts import render_string
from ..records import DraftRequest, DraftSection, Fact, Outline, OutlineItem, Passage
from .adapt import figures_in, normalize_punctuation
from .llm_reply import is_instruction, split_inline_heading
from .units import _HEADING_RE, split_sentences
from .verify import org_names

WRITTEN_CHARS = 3000  # the text written so far goes in whole up to this size, else as an extract
EXEMPLAR_CHARS = 600  # style exemplars per prompt, in characters
EXEMPLAR_PIECE = 240  # one exemplar at most
EXEMPLARS = 3
_POST_RE = re.compile(
    r"(?:书记|局长|县长|市长|镇长|乡长|区长|主任|部长|厅长|处长|科长|院长|校长|主席|经理|委员|同志)$"
)
REGISTER_LABELS = {
    "speaker": "讲话人/行文人",
    "audience": "听众/读者",
    "person": "人称",
    "direction": "行文方向",
    "tone": "语气",
}
ROLE_LABELS = {
    "background": "介绍基本情况和背景",
    "achievements": "总结主要做法和成效",
    "problems": "查摆存在的问题",
    "causes": "分析问题产生的原因",
    "measures": "提出下一步措施或对策建议",
    "requirements": "对下一步工作提出要求",
    "opening": "开头致意",
    "closing": "收尾",
    "other": "其他内容",
}


# The prompt fences corpus text and materials as <<<参考n … 参考n>>> (and <<<材料n … 材料n>>>). Text inside a
# fence must not be able to close it or open another: runs of angle brackets (ASCII, full-width, guillemets)
# become one full-width bracket, and a label (参考[3], 范文[3]) loses its brackets, so a fence cannot be forged.
_FENCE_OPEN_RE = re.compile(r"[<＜‹«〈]{2,}")
_FENCE_CLOSE_RE = re.compile(r"[>＞›»〉]{2,}")
_FENCE_LABEL_RE = re.compile(r"(范文|参考|材料)\s*[\[［]\s*(\d+)\s*[\]］]")


def fence_safe(text: str) -> str:
    """``text`` with anything that looks like a prompt fence (``<<<``, ``>>>``, ``范文[n]``) neutralised,
    so corpus or material text cannot end its block early or forge another."""
    try:
        from ..content.injection import fence_safe as shared
    except ImportError:  # the shared guard lands with the hardening work
        text = _FENCE_OPEN_RE.sub("＜", text or "")
        text = _FENCE_CLOSE_RE.sub("＞", text)
        return _FENCE_LABEL_RE.sub(lambda m: f"{m.group(1)}（{m.group(2)}）", text)
    return shared(text)


# ---------------------------------------------------------------------------------------------- register
def register_lines(doctype: DocType, values: dict[str, Any], occasion_label: str = "") -> list[str]:
    """“人称：第一人称“本人”…” lines for the prompt, rendered with the formula values."""
    unit = str(values.get("unit") or "")
    if not values.get("speaker") and _POST_RE.search(unit):
        values = {**values, "speaker": unit}  # the unit field names a post (市应急管理局党委书记、局长)
    out = []
    for key, pattern in doctype.register:
        text = render_string(pattern, **values).strip() if pattern else ""
        if text:
            out.append(f"{REGISTER_LABELS.get(key, key)}：{text}")
    if occasion_label:
        out.append(f"场合：{occasion_label}")
    return out


def tifa_entries(year: int | None, prompts_dir: Any) -> list[dict[str, str]]:
    path = prompts_dir / "tifa.yaml" if prompts_dir else None
    forms = tifa.banned_forms(path, year=year, kinds=("tifa", "dated"))
    return [{"wrong": w, "right": r, "note": n} for w, r, n in forms]


# ----------------------------------------------------------------------------------------------- outline
def heading_numbers(outline: Outline) -> dict[str, list[str]]:
    """Item key -> the level-1 numbers its headings will carry (``一、`` …; a points section one per
    point, a paragraph or topics section none), as the draft numbers them."""
    out: dict[str, list[str]] = {}
    n = 1
    for item in outline.items:
        form = item.form or "heading"
        if form == "heading":
            out[item.key] = [numerals.level_marker(1, n)]
            n += 1
        elif form == "points":
            count = max(1, len(item.points))
            out[item.key] = [numerals.level_marker(1, n + i) for i in range(count)]
            n += count
        else:
            out[item.key] = []
    return out


def _fact_label(fact: Fact) -> str:
    return f"材料{fact.id}（{facts_mod.ROLE_LABELS.get(fact.role, fact.role)}）"


def outline_lines(outline: Outline, current: str = "", with_facts: bool = True) -> list[str]:
    """The outline as the draft will read, one line per heading or sub-point; ``current`` marks the part
    being written."""
    numbers = heading_numbers(outline)
    by_id = {f.id: f for f in outline.facts}
    lines = [f"标题：{outline.title}"] + ([f"署名：{outline.subtitle}"] if outline.subtitle else [])
    for item in outline.items:
        here = "  ← 本次起草这一部分" if item.key == current else ""
        form = item.form or "heading"
        if form == "points":
            if item.points:
                for number, point in zip(numbers[item.key], item.points, strict=False):
                    lines.append(f"{number}{point}{here}")
            else:
                lines.append(f"{numbers[item.key][0]}（{item.heading}，标题待拟）{here}")
        elif form == "heading":
            lines.append(f"{numbers[item.key][0]}{item.heading}{here}")
        else:
            lines.append(f"（不设标题的段落：{item.heading}）{here}")
        if form != "points":
            for n, point in enumerate(item.points, 1):
                lines.append(f"    {_sub_marker(item, n)}{point}")
        for problem, measure in item.pairs.items():
            lines.append(f"    问题“{problem}”→ 对策“{measure}”")
        if with_facts and item.facts:
            used = "；".join(_fact_label(by_id[i]) for i in item.facts if i in by_id)
            if used:
                lines.append(f"    使用：{used}")
    return lines


def _sub_marker(item: OutlineItem, n: int) -> str:
    if item.numbering == "headings":
        return numerals.level_marker(2, n)
    if item.numbering == "items":
        return numerals.item_marker(n)
    return "· "


def facts_by_point(item: OutlineItem, facts: list[Fact]) -> dict[str, list[int]]:
    """Sub-point -> ids of the part's facts about it (the fact's own point, else the sub-point that shares
    the most distinctive words with it), so the model puts each fact under its point."""
    from ..content import words

    out: dict[str, list[int]] = {}
    for fact in facts:
        point = fact.point if fact.point in item.points else ""
        if not point:
            scored = [
                (len(words.shared(words.distinctive(p, at_least=1), fact.text)), p) for p in item.points
            ]
            best = max(scored, default=(0, ""))
            point = best[1] if best[0] else ""
        if point:
            out.setdefault(point, []).append(fact.id)
    return out


def answered_by(outline: Outline, item: OutlineItem) -> dict[str, str]:
    """For a measures/requirements section: measure -> the problem it answers (the outline's pairs)."""
    if item.role not in ("measures", "requirements"):
        return {}
    out: dict[str, str] = {}
    for other in outline.items:
        for problem, measure in other.pairs.items():
            out.setdefault(measure, problem)
    return out


# ------------------------------------------------------------------------------------------ written text
def section_plain(section: DraftSection) -> str:
    return "\n".join(p.text for p in section.paragraphs) or section.text


def written_text(sections: list[DraftSection], limit: int = WRITTEN_CHARS) -> tuple[str, bool]:
    """The text written so far, and whether it is an extract: whole when it fits ``limit``, else every
    heading and the first sentence of every paragraph (the lead of each 一是 item kept), cut to ``limit``."""
    whole = "\n".join(section_plain(s) for s in sections if section_plain(s).strip())
    if len(whole) <= limit:
        return whole, False
    lines: list[str] = []
    for section in sections:
        for paragraph in section.paragraphs:
            text = paragraph.text
            if paragraph.kind in ("heading", "salutation") and paragraph.level <= 1:
                lines.append(text)
                continue
            sentences = split_sentences(text)
            lead = sentences[0] if sentences else text
            items = re.findall(r"(?:^|(?<=[。；]))([一二三四五六七八九十]+是[^。；]{0,40}[。；])", text)
            extra = [i for i in items if i not in lead]
            lines.append(lead + ("" if not extra else "……" + "……".join(extra)) + "……")
    text = "\n".join(lines)
    return (text[:limit] + "……") if len(text) > limit else text, True


# --------------------------------------------------------------------------------------------- exemplars
def _allowed_text(request: DraftRequest) -> str:
    return "\n".join(
        [request.topic, request.unit, request.occasion, request.audience, request.speaker]
        + list(request.points)
        + list(request.materials)
        + list(request.bodies)
    )


def clean_exemplar(text: str, request: DraftRequest, view: Any, fixed: tuple[str, ...]) -> str:
    """``text`` without the sentences a style exemplar must not carry (see the module docstring)."""
    allowed = _allowed_text(request)
    kind = lexicon.unit_kind(request.unit)
    others = [k for k in lexicon.UNIT_KINDS if len(k) == 1 and k != kind]
    body = []
    for line in (line.strip() for line in text.splitlines()):
        if _HEADING_RE.match(line):  # （一）抓理论学习。… keeps what follows its heading
            inline = split_inline_heading(line)
            line = inline[1] if inline else ""
        if line and line[-1:] in "。！？；;!?：:”":
            body.append(line)
    kept = []
    for sentence in split_sentences(normalize_punctuation("".join(body))):
        if len(sentence) < 6 or is_instruction(sentence) or hygiene.sentence_issues(sentence):
            continue
        if any(lexicon.office_words(sentence, other) for other in others):
            continue  # 局班子成员、股室 in a 镇's draft: another kind of unit's offices
        if figures_in(sentence, fixed):
            continue  # another unit's figures: never in front of the model
        if view is not None and view.lexicon.foreign_terms(sentence, allowed, kind):
            continue
        if any(o not in allowed and o not in lexicon.SUPERIORS for _, o in org_names(sentence)):
            continue
        if re.search(
            r"《[^》]*[市县区镇][^》]*》|[“\"][^”\"]{0,10}[一二两三四五六七八九十][^”\"]{0,10}[”\"]", sentence
        ):
            continue  # a local document or a numeral brand (“五型”机关)
        kept.append(sentence)
    return "".join(kept)


def exemplars(
    passages: list[Passage],
    doc_type: str,
    role: str,
    request: DraftRequest,
    view: Any,
    fixed: tuple[str, ...],
) -> list[dict[str, str]]:
    """Up to ``EXEMPLAR_CHARS`` of cleaned style text: the same type and role first, then the same role."""
    ranked = sorted(
        passages,
        key=lambda p: (p.chunk.doc_type != doc_type, p.chunk.role != role, -p.score),
    )
    out: list[dict[str, str]] = []
    used = 0
    for passage in ranked:
        if passage.chunk.role != role and out:
            break
        text = clean_exemplar(passage.chunk.text, request, view, fixed)
        if len(text) < 30:
            continue
        text = text[:EXEMPLAR_PIECE]
        cut = max(text.rfind("。"), text.rfind("；"))
        text = text[: cut + 1] if cut > 30 else text
        out.append({"kind": ROLE_LABELS.get(passage.chunk.role, ""), "text": fence_safe(text)})
        used += len(text)
        if used >= EXEMPLAR_CHARS or len(out) >= EXEMPLARS:
            break
    return out


def open_corpus_view(settings: Any) -> Any:
    """The index's corpus view (its lexicon cleans exemplars); None without an index."""
    try:
        from ..index.corpus_view import open_view

        return open_view(settings)
    except Exception:  # noqa: BLE001 - no or unreadable index: the organisation patterns still clean
        return None
