"""The offline composer: the writer's facts first, then corpus sentences that are about the point, then an
honest gap that says what to write. No model runs here.

One rule decides every sentence: it is about this section's point for this unit, or it is the writer's own
fact, or it is a marked gap that says what to write. For each section the composer takes

1. the writer's facts the outline placed there (``Outline.facts``), under the key point they are about;
2. sentences of the retrieved corpus passages (same role first) that the ``Guard`` lets through (no figure,
   unit, person, date, brand or sector term that is not the writer's; no redaction mark, typo or wrong 提法)
   and that ``content.topicality`` finds about the point on both signals (its words and its meaning);
3. for directive parts (要求、对策、打算) with too little of the above, policy language from the public
   collection (``content.public``), under the same two tests and never a figure or a national claim;
4. where the writer has given no fact for an achievement, background or problem point, a guidance gap built
   from the point and what the section needs (``schema.needs``): 【待补：围绕“…”写明…】.

Length comes last: a section is as long as what it may honestly say, and the length band is no gate for
composer drafts. Formulas (opening, leads, closing) come from the type's templates, chosen by occasion
class and skeleton. Each sentence is recorded as a ``Span`` with its kind and source, so the UI and the
evals can tell the writer's facts from corpus language and from gaps.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import numerals
from ..content import public as public_mod
from ..content import words
from ..content.injection import drop_instructions
from ..content.topicality import Judge, judge_for
from ..doctypes import DocType, SectionSpec
from ..evals.metrics import bigrams, longest_common_span, share_in
from ..prompts import get_prompt, render, render_string
from ..records import Chunk, DraftParagraph, DraftRequest, Fact, Passage, Span
from .adapt import Adapter, normalize_punctuation
from .context import SectionContext
from .guard import Guard
from .sources import KIN_ROLES, SourceBook
from .units import _HEADING_RE, SENTENCE_END, split_sentences, strip_end  # noqa: F401 - re-exported

_ITEM_LEAD = re.compile(r"^(?:[一二三四五六七八九十]+是|[（(][一二三四五六七八九十\d]+[）)]|\d+[.．、])\s*")
_SOFT_LINK = re.compile(r"^(?:同时|此外|另外|与此同时|在此基础上|另一方面|一方面|因此|当然|总之)[，,]")
DIRECTIVE_ROLES = ("requirements", "measures")
GAP_ROLES = ("achievements", "background", "problems", "causes")
PER_POINT = 8  # corpus sentences a point may take while its share of the length is not met
MAX_RUN = 2  # consecutive sentences taken from one passage (keeps copied stretches short)
PUBLIC_FILL = 3  # a point with fewer corpus sentences than this takes policy language up to it
COPY_LIMIT = 190  # a section never repeats a source verbatim for longer (the eval gates are 200)


@dataclass
class Piece:
    text: str
    kind: str  # fact | corpus | public | gap | formula
    passage: Passage | None = None
    fact: int | None = None


def _key(text: str) -> str:
    return re.sub(r"[\s，,。；;：:！!？?、“”\"]", "", text)


def _sentence(text: str) -> str:
    text = normalize_punctuation(text.strip().strip("\u3000 "))
    return text if text[-1:] in SENTENCE_END + "”）)" else text + "。"


def public_passage(sentence: public_mod.PublicSentence) -> Passage:
    """A public-collection sentence as a citable passage."""
    digest = hashlib.sha1(f"{sentence.year}:{sentence.text}".encode()).hexdigest()[:16]
    chunk = Chunk(
        chunk_id=f"public:{digest}",
        doc_id=sentence.doc_id,
        title=sentence.title,
        doc_type="public",
        heading_path=sentence.heading,
        role="measures",
        position=sentence.index,
        start=0,
        end=len(sentence.text),
        text=sentence.text,
    )
    return Passage(chunk, 0.0)


@dataclass
class Composer:
    """Composes the sections of one draft (see the module docstring)."""

    doctype: DocType
    request: DraftRequest
    prompts_dir: Path
    book: SourceBook
    values: dict = field(default_factory=dict)  # formula values (request.template_values)
    settings: Any = None  # for the corpus view (lexicon) and the embedder; None in unit tests
    adapter: Adapter = field(init=False)  # the model path's guard (llm_writer)
    used: set[str] = field(default_factory=set)  # sentences the draft already has (normalised)
    suggestions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # corpus sentence -> why it was not used

    def __post_init__(self) -> None:
        self.adapter = Adapter(self.request, self.prompts_dir)
        view = None
        if self.settings is not None:
            try:
                from ..index.corpus_view import open_view

                view = open_view(self.settings)
            except Exception:  # noqa: BLE001 - a damaged index must not cost the writer the draft
                view = None
        self.guard = Guard(
            self.request,
            self.prompts_dir,
            view.lexicon if view else None,
            doctype=self.doctype,
        )
        stats = view.stats if view else words.public_stats()
        self.judge: Judge = (
            judge_for(self.settings, stats) if self.settings is not None else Judge(None, stats)
        )
        self.public = public_mod.collection() if self.request.public_corpus else None
        self.public_clauses: list[set[str]] = []  # clauses of the policy sentences taken so far

    # -- formulas -------------------------------------------------------------------------------------
    def formula(self, name: str, **extra: Any) -> str:
        prompt = get_prompt(self.prompts_dir, name, self.doctype.name)
        r = self.request
        values = dict(topic=r.topic, unit=r.unit, occasion=r.occasion, audience=r.audience)
        return render(prompt, **(values | self.values | extra))

    def prompt_refs(self) -> list[dict]:
        return [
            get_prompt(self.prompts_dir, name, self.doctype.name).ref()
            for name in ("opening", "lead", "missing", "closing")
        ]

    def opening(self) -> list[DraftParagraph]:
        """The salutation (when the skeleton has one) and the opening formula."""
        paragraphs = []
        salutation = render_string(self.doctype.salutation, **self.values) if self.doctype.salutation else ""
        if salutation.strip():
            paragraphs.append(_paragraph([Piece(salutation.strip(), "formula")], self.book, "salutation"))
        paragraphs.append(_paragraph([Piece(self.formula("opening"), "formula")], self.book))
        return paragraphs

    def closing(self) -> list[DraftParagraph]:
        return [_paragraph([Piece(self.formula("closing"), "formula")], self.book)]

    def avoid(self, sentence: str) -> None:
        """A sentence the draft already has: not to be used again (a rewritten section says something else)."""
        self.used.add(_key(sentence))

    def gap(self, point: str, spec: SectionSpec) -> Piece:
        return Piece(self.formula("missing", point=point, needs=spec.needs), "gap")

    # -- choosing sentences ---------------------------------------------------------------------------
    def _corpus_sentences(self, passages: list[Passage], roles: tuple[str, ...]) -> list[tuple[str, Passage]]:
        out = []
        for passage in passages:
            if roles and passage.chunk.role not in roles:
                continue
            for line in drop_instructions(
                passage.chunk.text
            ).splitlines():  # a 【系统】 block with its payload
                line = _HEADING_RE.sub("", line.strip().strip("\u3000"))
                for raw in split_sentences(line):
                    text = _SOFT_LINK.sub("", _ITEM_LEAD.sub("", raw.strip()))
                    if len(text) >= 12:
                        out.append((text, passage))
        return out

    def corpus_pieces(self, ctx: SectionContext, point: str, limit: int) -> list[Piece]:
        """Corpus sentences about ``point`` (or the section, without one) that the guard lets through."""
        spec = ctx.spec
        roles = (spec.role, *KIN_ROLES.get(spec.role, ()))
        passages = (ctx.per_point.get(point) or []) + ctx.passages if point else ctx.passages
        found = []
        seen: set[str] = set()
        for text, passage in self._corpus_sentences(passages, roles):
            key = _key(text)
            if key in seen or key in self.used:
                continue
            seen.add(key)
            why = self.guard.reason(text)
            if why:
                self.refused[text] = why
                continue
            found.append((text, passage))
        if not found:
            return []
        target = point or ctx.item.heading
        verdicts = self.judge.judge([t for t, _ in found], target, self.request.topic, point_only=bool(point))
        chosen: list[Piece] = []
        last, run = None, 0
        for (text, passage), verdict in zip(found, verdicts, strict=True):
            if not verdict.strong:
                self.refused.setdefault(text, verdict.why())
                continue
            run = run + 1 if passage is last else 1
            last = passage
            if run > MAX_RUN:
                continue
            chosen.append(Piece(_sentence(text), "corpus", passage))
            if len(chosen) >= limit:
                break
        return chosen

    def public_pieces(self, ctx: SectionContext, point: str, limit: int) -> list[Piece]:
        """Directive sentences from the public collection about ``point`` (requirements and measures only)."""
        if self.public is None or ctx.spec.role not in DIRECTIVE_ROLES or limit <= 0:
            return []
        target = point or ctx.item.heading
        keys = self.judge.keywords(target, self.request.topic)
        candidates = [
            s
            for s in self.public.candidates(keys, 30)
            if _key(s.text) not in self.used and self.guard.ok(s.text, public=True)
        ]
        if not candidates:
            return []
        verdicts = self.judge.judge([s.text for s in candidates], target, self.request.topic)
        topic_keys = words.distinctive(self.request.topic, self.judge.stats, at_least=1)
        point_keys = _point_keys(target, topic_keys, self.judge.stats)
        chosen: list[Piece] = []
        for sentence, verdict in zip(candidates, verdicts, strict=True):
            # national policy language is about the writer's point only when it names both the topic and the
            # point (压实…责任 alone is as much about finance as about 防汛)
            names_topic = not topic_keys or words.shared(topic_keys, sentence.text)
            names_point = not point_keys or words.shared(point_keys, sentence.text)
            if not (verdict.strong and names_topic and names_point):
                continue
            grams = bigrams(sentence.text)
            if any(share_in(grams, bigrams(p.text)) >= 0.5 for p in chosen):
                continue  # the same directive in another year's wording
            clauses = _clause_grams(sentence.text)
            if any(share_in(c, seen) >= 0.7 for c in clauses for seen in self.public_clauses):
                continue  # 坚决遏制重特大事故 said once is enough
            self.public_clauses += clauses
            chosen.append(Piece(sentence.text, "public", public_passage(sentence)))
            if len(chosen) >= limit:
                break
        return chosen

    def point_pieces(self, ctx: SectionContext, point: str, facts: list[Fact], budget: int) -> list[Piece]:
        """The body under one point: the writer's facts, then corpus (and public) sentences about it, then a
        gap when the writer gave no fact where one is needed."""
        spec = ctx.spec
        pieces = [Piece(_sentence(f.text), "fact", fact=f.id) for f in facts]
        if not spec.facts_only:
            size = sum(len(p.text) for p in pieces)
            corpus = self.corpus_pieces(ctx, point, PER_POINT)
            if len(corpus) < PUBLIC_FILL:
                corpus += self.public_pieces(ctx, point, PUBLIC_FILL - len(corpus))
            for piece in corpus:
                if size >= budget and pieces:
                    break
                pieces.append(piece)
                size += len(piece.text)
        own = [p for p in pieces if p.kind != "public"]  # policy language alone leaves the local tasks to say
        if not facts and (spec.role in GAP_ROLES or spec.facts_only or len(own) < 2):
            pieces.append(self.gap(point, spec))
        for piece in pieces:
            if piece.kind in ("corpus", "public", "fact"):
                self.used.add(_key(piece.text))
        self._suggest(ctx, point)
        return pieces

    def _suggest(self, ctx: SectionContext, point: str) -> None:
        """Reference passages for the writer, shown beside the section (never inside the text)."""
        passages = (ctx.per_point.get(point) or []) if point else ctx.passages
        shown = self.suggestions.setdefault(ctx.item.key, [])
        have = {s["chunk_id"] for s in shown}
        for passage in passages[:3]:
            if passage.chunk.chunk_id not in have:
                shown.append({**passage.to_dict(), "point": point})

    # -- sections -------------------------------------------------------------------------------------
    def section(self, ctx: SectionContext) -> tuple[list[DraftParagraph], int]:
        paragraphs, used = self._section(ctx)
        _trim_copies(paragraphs, self.book)
        return paragraphs, used

    def _section(self, ctx: SectionContext) -> tuple[list[DraftParagraph], int]:
        item, spec, book = ctx.item, ctx.spec, self.book
        facts = ctx.facts
        points = list(item.points)
        by_point = {p: [f for f in facts if f.point == p] for p in points}
        loose = [f for f in facts if f.point not in by_point]
        per_point = max(80, ctx.budget // max(1, len(points) or 1))
        count = "两" if len(points) == 2 else numerals.to_chinese(max(1, min(len(points), 99)))
        lead = self.formula("lead", key=spec.key, role=spec.role, count=count)
        paragraphs: list[DraftParagraph] = []
        used = 0
        if spec.form == "heading":
            heading = Piece(numerals.level_marker(1, ctx.next_number) + item.heading, "heading")
            paragraphs.append(_paragraph([heading], book, "heading", 1))
            used = 1
        if spec.form == "points":
            if lead:
                paragraphs.append(_paragraph([Piece(lead, "formula")], book))
            if loose and points:
                by_point[points[0]] = loose + by_point[points[0]]
            for n, point in enumerate(points):
                title = Piece(numerals.level_marker(1, ctx.next_number + n) + strip_end(point), "heading")
                paragraphs.append(_paragraph([title], book, "heading", 1))
                paragraphs.append(_paragraph(self.point_pieces(ctx, point, by_point[point], per_point), book))
            if not points:
                paragraphs.append(_paragraph([self.gap("", spec)], book))
            return paragraphs, len(points)
        if spec.form == "paragraph":
            pieces = [Piece(lead, "formula")] if lead else []
            if points:
                for n, point in enumerate(points):
                    mine = by_point[point] + (loose if n == 0 else [])
                    body = self.point_pieces(ctx, point, mine, per_point)
                    pieces += [Piece(f"{_item(n, len(points))}{strip_end(point)}。", "heading"), *body]
            elif facts:
                pieces += [
                    Piece(_item(n, len(facts)) + _sentence(f.text), "fact", fact=f.id)
                    for n, f in enumerate(facts)
                ]
                self.used.update(_key(f.text) for f in facts)
                if not spec.facts_only:
                    # the writer's facts are the context; what the part must say (办班的目的和意义) is
                    # still to be written: on-point corpus language, else its guidance gap
                    pieces += self.point_pieces(ctx, "", [], max(80, ctx.budget // 2))
            else:
                pieces += self.point_pieces(ctx, "", [], ctx.budget)
            paragraphs.append(_paragraph(pieces, book))
            return paragraphs, used
        if spec.form == "topics":
            if lead:
                paragraphs.append(_paragraph([Piece(lead, "formula")], book))
            if points:
                if loose:
                    by_point[points[0]] = loose + by_point[points[0]]
                for point in points:
                    body = self.point_pieces(ctx, point, by_point[point], per_point)
                    paragraphs.append(_paragraph([Piece(f"{strip_end(point)}。", "heading"), *body], book))
            else:
                paragraphs.append(_paragraph(self.point_pieces(ctx, "", facts, ctx.budget), book))
            return paragraphs, used
        # form "heading": one level-1 heading with sub-headings, items or plain text
        if lead:
            paragraphs.append(_paragraph([Piece(lead, "formula")], book))
        if points:
            if loose:
                paragraphs.append(
                    _paragraph([Piece(_sentence(f.text), "fact", fact=f.id) for f in loose], book)
                )
                self.used.update(_key(f.text) for f in loose)
            for n, point in enumerate(points):
                body = self.point_pieces(ctx, point, by_point[point], per_point)
                if spec.numbering == "subheadings":
                    lead_piece = Piece(f"{numerals.level_marker(2, n + 1)}{strip_end(point)}。", "heading")
                    paragraphs.append(_paragraph([lead_piece, *body], book, "heading", 2))
                else:
                    lead_piece = Piece(f"{_item(n, len(points))}{strip_end(point)}。", "heading")
                    paragraphs.append(_paragraph([lead_piece, *body], book))
        elif spec.numbering == "items":
            pieces = self.point_pieces(ctx, "", facts, ctx.budget)
            items = [p for p in pieces if p.kind != "gap"]
            for n, piece in enumerate(items):
                piece.text = _item(n, len(items)) + piece.text
            paragraphs += [_paragraph([p], book) for p in pieces]
        else:
            paragraphs.append(_paragraph(self.point_pieces(ctx, "", facts, ctx.budget), book))
        return paragraphs, used


def _item(n: int, count: int) -> str:
    """The ``n``-th (0-based) of ``count`` items' marker: 一是, 二是…; a lone item gets none (一是 promises 二是)."""
    return numerals.item_marker(n + 1) if count > 1 else ""


def _paragraph(pieces: list[Piece], book: SourceBook, kind: str = "body", level: int = 0) -> DraftParagraph:
    spans = []
    for piece in pieces:
        sources = [book.cite(piece.passage)] if piece.passage is not None else []
        spans.append(Span(piece.text, piece.kind, sources, piece.fact))
    text = "".join(s.text for s in spans)
    if text.endswith(("；", "，", "、")):
        text = text[:-1] + "。"
        spans[-1].text = spans[-1].text[:-1] + "。"
    return DraftParagraph(text, kind, level, sorted({n for s in spans for n in s.sources}), spans)


def _trim_copies(paragraphs: list[DraftParagraph], book: SourceBook) -> None:
    """The copy ceiling: while the section repeats one of its sources verbatim for more than
    ``COPY_LIMIT`` characters (consecutive sentences of one passage, joined by a generated marker), drop the
    corpus sentence nearest the middle of that stretch."""
    texts = {s.number: re.sub(r"\s", "", s.text) for s in book.sources}
    for _ in range(20):
        flat: list[tuple[int, int, int, int]] = []  # (paragraph, span, start, end) in ``plain``
        plain = ""
        for pi, paragraph in enumerate(paragraphs):
            for si, span in enumerate(paragraph.spans):
                piece = re.sub(r"\s", "", span.text)
                flat.append((pi, si, len(plain), len(plain) + len(piece)))
                plain += piece
        cited = {n for p in paragraphs for n in p.sources}
        span_text = max(
            (longest_common_span(plain, texts[n]) for n in cited if n in texts), key=len, default=""
        )
        if len(span_text) <= COPY_LIMIT:
            return
        start = plain.find(span_text)
        middle = start + len(span_text) // 2
        inside = [
            f
            for f in flat
            if f[2] < start + len(span_text)
            and f[3] > start
            and paragraphs[f[0]].spans[f[1]].kind == "corpus"
        ]
        if not inside:
            return
        pi, si, _, _ = min(inside, key=lambda f: abs((f[2] + f[3]) // 2 - middle))
        paragraph = paragraphs[pi]
        del paragraph.spans[si]
        paragraph.text = "".join(s.text for s in paragraph.spans)
        paragraph.sources = sorted({n for s in paragraph.spans for n in s.sources})


def _point_keys(point: str, topic_keys: list[str], stats: words.WordStats) -> list[str]:
    """What a sentence must name (one of) to be about ``point`` beyond the topic: the point's distinctive
    words once the topic's are taken out, and the object of its leading verb when the verb is all that is
    left (压实安全生产责任 in a 安全生产 speech: 压实 or 责任, so 严格落实安全生产责任 is on the point;
    落实一岗双责 keeps 一岗双责 alone, so 落实维护社会稳定责任制 is not)."""
    rest = point
    for key in sorted(topic_keys, key=len, reverse=True):
        rest = rest.replace(key, " ")
    found = [w for w in words.distinctive(rest, stats, at_least=1) if w not in topic_keys]
    own = [w for w in words.words(rest) if w not in words.EMPTY_WORDS]
    if own and found == own[:1]:
        # only the leading verb is distinctive (压实): the object after it says what the point is about, common
        # language though it is (责任); the verb itself varies (落实, 压紧, 严格)
        found += own[1:2]
    return found


def _clause_grams(text: str) -> list[set[str]]:
    """The character bigrams of each clause of six or more characters (for repeated-clause tests)."""
    return [bigrams(c) for c in re.split(r"[，,；;。、]", text) if len(c.strip()) >= 6]
