"""A draft read as a writer reads it: its parts, the point each body sentence is written under, and which
sentences are the writer's own facts, guidance gaps or the type's formulas (exempt from topicality).

Works on any text (a Draft's text, a Markdown export, a corpus document): the structure parser finds the
sections; a key point of the request is matched to the heading it became (its text, or most of its
characters), and sentences under a sub-heading of a pointed heading belong to that point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...content import facts as facts_mod
from ...doctypes import DocType
from ...records import DraftRequest
from .text import bigrams, chars, share_in, split_sentences

GAP_RE = re.compile(r"【(?:待补|核实)[：:][^】]*】")
FACT_SHARE = 0.6  # a sentence states a fact when it carries this share of the fact's character bigrams
_CONNECTIVES = (
    r"^(?:下面|现将|根据|按照|为了?|总之|以上|汇报完毕|同志们|谢谢|特此)",
    r"(?:以下几|如下|主要表现在|具体表现为|主要有.{0,4}方面|讲.{0,3}(?:点|个方面)(?:意见|要求|希望))[：:。]?$",
    r"^(?:在(?:看到|肯定)成(?:绩|效)的同时|当然|回顾|分析上述问题|针对上述问题|下一步)",
    r"^(?:工作中)?(?:也)?(?:还)?存在(?:一些|以下)?(?:困难|问题|短板)(?:和不足)?[。：:]?$",
)


GAP_REST_CHARS = 14  # a sentence with a 【待补】 and this much other text is judged on that text


@dataclass
class BodySentence:
    text: str
    section_role: str  # the top-level part's role (achievements, problems …)
    section_title: str
    heading: str  # the nearest heading or lead it is written under
    point: str  # the request's key point it is written under ("" for none)
    exempt: str = ""  # "gap" | "fact" | "formula" | "point" | "" (subject to topicality)
    fact: int | None = None
    facts_only: bool = False  # in a part the schema writes from the writer's facts only (a speech's 成效)


@dataclass
class Body:
    sentences: list[BodySentence] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # heading and lead texts as written

    def by_point(self) -> dict[str, list[BodySentence]]:
        out: dict[str, list[BodySentence]] = {}
        for s in self.sentences:
            if s.point:
                out.setdefault(s.point, []).append(s)
        return out


def _matches(point: str, title: str) -> bool:
    a, b = chars(point), chars(title)
    if not a or not b:
        return False
    if a in b and len(b) <= len(a) + 12 or b in a:
        return True  # the point as written, or inside a heading that adds a few words
    return share_in(bigrams(point), bigrams(title)) >= 0.6 and share_in(bigrams(title), bigrams(point)) >= 0.5


def fact_of(sentence: str, facts: list) -> int | None:
    grams = bigrams(sentence)
    for fact in facts:
        fg = bigrams(fact.text)
        if fg and share_in(fg, grams) >= FACT_SHARE:
            return fact.id
    return None


def read_body(
    text: str, doctype: DocType, request: DraftRequest | None, connectives: tuple[str, ...] = ()
) -> Body:
    from ...index import structure

    parsed = structure.parse_text(text, doctype.name, types={doctype.name: doctype})
    points = [p for p in (request.points if request else []) if p.strip()]
    facts = facts_mod.read_facts(request.materials, points) if request else []
    patterns = [re.compile(p) for p in (*_CONNECTIVES, *connectives)]
    body = Body()
    # roles whose parts are written from the writer's facts only — when the writer's request is known
    facts_only_roles = {spec.role for spec in doctype.sections if spec.facts_only} if request else set()
    facts_only_roles -= {spec.role for spec in doctype.sections if not spec.facts_only}

    def visit(section, top, point: str, parent: str = "") -> None:
        title = section.title or section.heading
        if section.kind in ("heading", "item", "topic") and title:
            body.headings.append(title)
            own = next((p for p in points if _matches(p, title)), "")
            if not own and section is not top and section.kind == "heading" and len(chars(title)) >= 6:
                # a sub-heading the writer did not give is the draft's own claim: judged like a sentence
                body.sentences.append(
                    BodySentence(section.heading or title, top.role, top.title or top.heading, parent, point)
                )
            point = own or point
        sentences = split_sentences(section.body)
        if section.kind == "item" and title and not any(chars(title) in chars(x) for x in sentences[:1]):
            # an item's lead is content (一是{fact}。); a lead cut at its first comma is joined back
            if sentences and f"{section.heading}，{sentences[0][:6]}" in text:
                sentences = [f"{title}，{sentences[0]}", *sentences[1:]]
            else:
                sentences = [title + "。", *sentences]
        is_point = any(_matches(p, title) for p in points)
        if (
            sentences
            and title
            and chars(sentences[0]).startswith(chars(title)[:12])
            and (section.kind in ("heading", "topic") or is_point)
        ):
            sentences = sentences[1:]  # the heading sentence itself (（一）X。…, 一是{point}。) is not body
        for sentence in sentences:
            if len(chars(sentence)) < 6:
                continue
            named = next((p for p in points if _matches(p, sentence.rstrip("。！；;"))), "")
            point = named or point  # a paragraph opened on a key point's own words is about that point
            item = BodySentence(
                sentence,
                top.role,
                top.title or top.heading,
                title,
                point,
                facts_only=top.role in facts_only_roles,
            )
            if GAP_RE.search(sentence) and len(chars(GAP_RE.sub("", sentence))) < GAP_REST_CHARS:
                item.exempt = "gap"  # a marked gap; a sentence that only holds one among its claims is judged
            elif (fid := fact_of(sentence, facts)) is not None:
                item.exempt, item.fact = "fact", fid
            elif named:
                item.exempt = "point"  # the writer's key point as they worded it
            elif any(p.search(GAP_RE.sub("", sentence).strip()) for p in patterns):
                item.exempt = "formula"
            body.sentences.append(item)
        for child in section.children:
            visit(child, top, point, title)

    for section in parsed.sections:
        if section.kind == "salutation":
            continue
        if section.role in ("opening", "closing") or section.kind in ("opening", "closing"):
            for sentence in split_sentences(section.body or section.title):
                fid = fact_of(sentence, facts)
                body.sentences.append(
                    BodySentence(
                        sentence,
                        "opening" if section.role != "closing" else "closing",
                        "",
                        "",
                        "",
                        "fact" if fid is not None else "formula",
                        fid,
                    )
                )
            continue
        visit(section, section, "")
    return body
