"""The offline composer: fills a type's structure with real sentences from the writer's own corpus.

No model runs here. For each outline section the composer takes the retrieved passages (same role first,
then the same role in other types), cuts them into reusable units (``units``), ranks units by
character-bigram overlap with the section's sub-point, adapts each sentence for the writer (``adapt``) and
stitches the result with the type's formulas (prompt files next to the schema), filling each section up to
its share of the type's length band. A sentence the draft already says is skipped, a connective joins at
most one pair of units per paragraph, and no stretch of the draft repeats a source for more than
``COPY_LIMIT`` characters. The trade-off is deliberate: the text is never fluent the way a model's is, but every sentence is
one a real 公文 used, numbering is generated (never copied), and nothing factual is invented — a sentence
whose figures, people, places or redaction marks cannot be carried over is dropped or its figure replaced by
``【待补：…】``. The same ``Adapter`` guards the LLM's output (``drafting`` applies it to both generators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import numerals
from ..doctypes import DocType, SectionSpec
from ..evals import metrics
from ..prompts import get_prompt, render
from ..records import DraftParagraph, DraftRequest, OutlineItem, Passage
from .adapt import TITLE_ORG_RE, Adapter, normalize_punctuation
from .context import SectionContext
from .sources import KIN_ROLES, SourceBook
from .units import (  # noqa: F401 - re-exported for drafting and the tests
    _HEADING_RE,
    SENTENCE_END,
    Unit,
    overlap,
    passage_units,
    split_sentences,
    strip_end,
)

RUN_LIMIT = 150  # longest stretch copied contiguously from one passage (the eval gate is 200)
FILL_UNITS = 8  # units a body may draw on before its budget is met
COPY_LIMIT = 190  # a section never repeats a source verbatim for longer (the eval gate is 200)


_LEADING_MARK_RE = re.compile(
    r"(?:^|[：:])(?:[一二三四五六七八九十]+[是、]|[（(][一二三四五六七八九十]+[）)])"
)
_STARTS_LINKED_SOFT = re.compile(r"^(同时|此外|另外|与此同时|在此基础上|另一方面|一方面)，")
_STARTS_LINKED = re.compile(
    r"^(同时|此外|另外|另一方面|与此同时|在此基础上|特别是|尤其|当然|总之|因此|但|而且|并且|坚持|要|同样)"
)


def _said_key(text: str) -> str:
    """What a sentence says, for spotting repeats: no numbering, connective, punctuation or spaces."""
    text = re.sub(r"^[一二三四五六七八九十]+是|^[（(]?[一二三四五六七八九十]+[）)、]", "", text.strip())
    text = _STARTS_LINKED_SOFT.sub("", text)
    return re.sub(r"[\s，,。；;：:！!？?、“”\"]", "", text)


def _orphans(pieces: list[tuple[int, int, int, str]], piece: tuple[int, int, int, str]) -> bool:
    """Dropping ``piece`` (paragraph, start, end, sentence) would leave a numbered lead with nothing under it."""
    at = pieces.index(piece)
    before = pieces[at - 1] if at else None
    after = pieces[at + 1] if at + 1 < len(pieces) else None
    led = before is not None and before[0] == piece[0] and _LEADING_MARK_RE.search(before[3])
    ends = after is None or after[0] != piece[0] or _LEADING_MARK_RE.search(after[3])
    return bool(led and ends)


def _bare(lead: str) -> bool:
    """A short lead without a verb phrase of its own (认识有待增强): it needs its 一是 marker to read well."""
    return len(lead) < 12 and "，" not in lead


@dataclass
class ComposedSection:
    paragraphs: list[DraftParagraph]
    chunk_ids: list[str]
    numbers_used: int = 0  # level-1 numbers this section consumed


@dataclass
class Composer:
    """Composes sections for one draft. ``used`` keeps a sentence from appearing twice in the draft."""

    doctype: DocType
    request: DraftRequest
    prompts_dir: Path
    book: SourceBook
    values: dict = field(default_factory=dict)  # formula values (request.template_values)
    adapter: Adapter = field(init=False)
    used: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)  # what the draft already says (normalised output text)
    _linked: int = 0  # connectives used so far (they rotate)
    _para_linked: bool = False  # the current paragraph has its connective already
    _tail: str = ""  # the draft's current stretch of text copied verbatim (whitespace removed)
    _seen: dict[str, str] = field(default_factory=dict)  # chunk id -> text of the passages drawn on

    def __post_init__(self) -> None:
        self.adapter = Adapter(self.request, self.prompts_dir)
        self.facts = [normalize_punctuation(x) for m in self.request.materials for x in split_sentences(m)]
        self.facts_used: set[int] = set()

    def take_facts(self, query: str, limit: int, floor: float = 0.2) -> str:
        """The writer's own material sentences closest to ``query`` (each used once in the draft)."""
        scored = [(overlap(query, f), i) for i, f in enumerate(self.facts) if i not in self.facts_used]
        chosen = sorted(i for score, i in sorted(scored, reverse=True)[:limit] if score >= floor)
        self.facts_used.update(chosen)
        return "".join(
            self.facts[i] if self.facts[i][-1] in SENTENCE_END else self.facts[i] + "。" for i in chosen
        )

    def unused_facts(self) -> list[str]:
        return [f for i, f in enumerate(self.facts) if i not in self.facts_used]

    # -- formulas -------------------------------------------------------------------------------------
    def formula(self, name: str, **extra) -> str:
        prompt = get_prompt(self.prompts_dir, name, self.doctype.name)
        r = self.request
        values = dict(topic=r.topic, unit=r.unit, occasion=r.occasion, audience=r.audience)
        return render(prompt, **(values | self.values | extra))

    def opening(self) -> list[DraftParagraph]:
        """The salutation (when the type has one) and the opening formula."""
        paragraphs = []
        salutation = self.doctype.salutation.strip()
        if salutation:
            paragraphs.append(DraftParagraph(salutation, "salutation"))
        paragraphs.append(DraftParagraph(self.formula("opening")))
        return paragraphs

    def closing(self) -> list[DraftParagraph]:
        return [DraftParagraph(self.formula("closing"))]

    def avoid(self, sentence: str) -> None:
        """A sentence the draft already has: not to be used again (a rewritten section says something else)."""
        self.used.add(re.sub(r"\s", "", sentence))
        self.say(sentence)

    def section(self, ctx: SectionContext) -> tuple[list[DraftParagraph], int]:
        composed = self.compose(ctx.item, ctx.spec, ctx.passages, ctx.per_point, ctx.budget, ctx.next_number)
        return composed.paragraphs, composed.numbers_used

    def prompt_refs(self) -> list[dict]:
        refs = []
        for name in ("opening", "lead", "missing", "closing", "connectives"):
            refs.append(get_prompt(self.prompts_dir, name, self.doctype.name).ref())
        return refs

    def connectives(self) -> list[str]:
        return self.formula("connectives").splitlines() or ["同时，"]

    # -- sentence selection ---------------------------------------------------------------------------
    def _own_names(self, passage: Passage) -> tuple[str, ...]:
        match = TITLE_ORG_RE.match(passage.chunk.title or "")
        return (match.group(0),) if match and len(match.group(0)) >= 2 else ()

    def _track(self, sentence: str, passage: Passage, force: bool = False) -> bool:
        """Keep verbatim stretches short: False when ``sentence`` would extend a stretch of the draft that
        some passage seen so far contains verbatim beyond ``RUN_LIMIT`` characters (the stretch then
        restarts). The check is on text, not on chunk ids, so overlapping chunks of one document cannot
        add up to a long copy. ``force`` is for a lead that must appear: it only extends the stretch."""
        piece = re.sub(r"\s", "", sentence)
        self._seen[passage.chunk.chunk_id] = re.sub(r"\s", "", passage.chunk.text)
        tail = self._tail + piece
        if self._tail and any(tail in text for text in self._seen.values()):
            if len(tail) > RUN_LIMIT and not force:
                self._tail = ""
                return False
            self._tail = tail
            return True
        self._tail = piece if any(piece in text for text in self._seen.values()) else ""
        return True

    def say(self, text: str) -> bool:
        """Record ``text`` as said in the draft; False when the draft already says it (a lead repeated as
        a body sentence, the same sentence from two overlapping chunks)."""
        key = _said_key(text)
        if not key:
            return True
        if key in self.emitted:
            return False
        self.emitted.add(key)
        return True

    def _adapt(self, sentence: str, passage: Passage, figures: str) -> str | None:
        key = re.sub(r"\s", "", sentence)
        if key in self.used:
            return None
        text = self.adapter.adapt(sentence, self._own_names(passage), figures)
        if text and _said_key(text) not in self.emitted and self._track(sentence, passage):
            self.used.add(key)
            self.say(text)
            return text
        return None

    def new_paragraph(self) -> None:
        self._para_linked = False

    def _connective(self) -> str:
        """At most one connective per paragraph, never the same one twice running."""
        if self._para_linked:
            return ""
        options = self.connectives()
        self._para_linked = True
        choice = options[self._linked % len(options)]
        self._linked += 1
        return choice

    def _lead(self, unit: Unit) -> str | None:
        """A unit's lead adapted for use as a sub-heading or item lead (without end punctuation)."""
        if not unit.lead or len(unit.lead) > 40 or re.sub(r"\s", "", unit.lead + "。") in self.used:
            return None
        text = self.adapter.adapt(unit.lead + "。", self._own_names(unit.passage), "drop")
        if not text or _said_key(text) in self.emitted:
            return None
        return strip_end(text)

    def _sentences(
        self, units: list[Unit], budget: int, figures: str, include_leads: bool = True
    ) -> tuple[str, list[Passage]]:
        """Sentences from ``units`` in order until ``budget`` characters; a connective joins two units."""
        out: list[str] = []
        cited: list[Passage] = []
        size = 0
        for unit in units:
            lead = include_leads and unit.kind == "item" and not _bare(unit.lead)
            pieces = ([unit.lead + "。"] if lead else []) + list(unit.sentences)
            for child in unit.children:  # a bare lead (机制有待完善) reads choppily without its 一是
                pieces += ([] if _bare(child.lead) else [child.lead + "。"]) + child.sentences
            taken = 0
            for sentence in pieces:
                if size >= budget:
                    break
                text = self._adapt(sentence, unit.passage, figures)
                if not text:
                    continue
                if _STARTS_LINKED_SOFT.match(text):  # the source's own 同时，… counts as the paragraph's
                    if self._para_linked:
                        text = _STARTS_LINKED_SOFT.sub("", text)
                    self._para_linked = True
                elif taken == 0 and out and not _STARTS_LINKED.match(text):
                    linked = self._connective()
                    if linked and out[-1].endswith(("；", ";")):  # 同时 opens a sentence, not a clause
                        out[-1] = out[-1][:-1] + "。"
                    text = linked + text
                out.append(text)
                taken += 1
                size += len(text)
            if taken and unit.passage not in cited:
                cited.append(unit.passage)
            if size >= budget:
                break
        return "".join(out), cited

    def _items(self, children: list[Unit], budget: int, figures: str) -> tuple[str, list[Passage]]:
        """A heading's ``一是`` items, renumbered: ``一是{lead}。{first sentences}二是…``."""
        parts: list[str] = []
        cited: list[Passage] = []
        per_item = max(60, budget // max(1, len(children)))
        for child in children:
            lead = self._lead(child)
            if not lead:
                continue
            self.used.add(re.sub(r"\s", "", child.lead + "。"))
            self.say(lead)
            self._track(child.lead + "。", child.passage, force=True)
            body, more = self._sentences(
                [Unit("para", "", child.sentences, child.passage)], per_item, figures
            )
            parts.append(f"{numerals.item_marker(len(parts) + 1)}{lead}。{body}")
            cited += [child.passage] + more
        return "".join(parts), cited

    def _rank(self, units: list[Unit], query: str) -> list[Unit]:
        def score(u: Unit) -> float:
            return (
                overlap(query, u.lead * 2 + u.passage.chunk.heading_path + u.text[:200])
                + 0.01 * u.passage.score
            )

        return sorted(units, key=score, reverse=True)

    def _derived_points(
        self, units: list[Unit], kinds: tuple[str, ...], limit: int
    ) -> list[tuple[str, Unit]]:
        """Sub-points taken from the sources' own sub-headings / item leads, adapted, without repeats."""
        out: list[tuple[str, Unit]] = []
        for unit in units:
            if (
                unit.kind not in kinds
                or unit.kind == "heading"
                and unit.level < 2
                and "heading1" not in kinds
            ):
                continue
            lead = self._lead(unit)
            if not lead or any(overlap(lead, seen) > 0.5 for seen, _ in out):
                continue
            out.append((lead, unit))
            if len(out) >= limit:
                break
        return out

    # -- sections -------------------------------------------------------------------------------------
    def compose(
        self,
        item: OutlineItem,
        spec: SectionSpec,
        passages: list[Passage],
        point_passages: dict[str, list[Passage]],
        budget: int,
        next_number: int,
    ) -> ComposedSection:
        """One section: its level-1 heading when the form has one, the type's lead-in sentence, then the
        sub-points (the writer's key points, else the sources' own sub-headings) with their bodies."""
        units = [u for p in passages for u in passage_units(p) if u.kind != "intro"]
        same_role = [u for u in units if u.passage.chunk.role == spec.role] or units
        figures = "mark" if spec.role in ("background", "achievements") else "drop"
        nested = spec.numbering == "subheadings" or spec.form == "points"
        paragraphs: list[DraftParagraph] = []
        book = self.book

        def para(text: str, cited: list[Passage], kind: str = "body", level: int = 0) -> None:
            text = text[:-1] + "。" if text.endswith(("；", "，", "、")) else text
            paragraphs.append(DraftParagraph(text, kind, level, sorted({book.cite(p) for p in cited})))
            self.new_paragraph()

        self.new_paragraph()

        def missing() -> str:
            return self.formula("missing", key=spec.key, role=spec.role)

        points: list[tuple[str, Unit | None]] = [(p, None) for p in item.points]
        if not points and (spec.numbering != "none" or spec.form in ("points", "topics")):
            if spec.form == "points":
                kinds: tuple[str, ...] = ("heading", "heading1")
            elif spec.form == "topics":
                kinds = ("topic", "heading", "item")
            elif spec.numbering == "subheadings":
                kinds = ("heading", "item")
            else:
                kinds = ("item", "topic", "heading")
            points = list(self._derived_points(same_role, kinds, 3 if spec.form == "points" else 4))
        for point, _ in points:
            self.say(point)  # a body sentence that only repeats its lead is skipped
        chosen = {id(u) for _, u in points if u is not None}
        pool = [u for u in same_role if id(u) not in chosen]
        per_point = max(100, budget // max(1, len(points)))

        def fits(u: Unit, point: str) -> bool:
            """A body draws on the section's own role; another role's unit only when it is about the point."""
            role = u.passage.chunk.role
            return (
                role == spec.role
                or role in KIN_ROLES.get(spec.role, ())
                or overlap(point, u.lead + u.text[:200]) >= 0.5
            )

        def body_for(point: str, unit: Unit | None, allow_items: bool) -> tuple[str, list[Passage]]:
            own = self.take_facts(point, 2) if spec.role in ("achievements", "background") else ""
            body, cited = corpus_body(point, unit, allow_items)
            return own + body, cited

        def corpus_body(point: str, unit: Unit | None, allow_items: bool) -> tuple[str, list[Passage]]:
            candidates = [
                u for p in point_passages.get(point, []) for u in passage_units(p) if u.kind != "intro"
            ]
            candidates += pool
            candidates = [u for u in candidates if (id(u) not in chosen and fits(u, point)) or u is unit]
            if unit is None:
                ranked = self._rank(candidates, point)
                best = next((u for u in ranked[:3] if u.children and overlap(point, u.lead) >= 0.25), None)
                if allow_items and best is not None:
                    unit = best
                else:
                    return self._sentences(ranked[:FILL_UNITS], per_point, figures)
            self._track(unit.lead + "。", unit.passage, force=True)
            if unit.children and allow_items:
                head, cited = self._sentences(
                    [Unit("para", "", unit.sentences, unit.passage)], per_point // 3, figures
                )
                items, more = self._items(unit.children, per_point, figures)
                return head + items, cited + more
            own = Unit("para", "", unit.sentences, unit.passage, children=unit.children)
            body, cited = self._sentences([own], per_point, figures)
            if len(body) < per_point * 0.7:
                others = [u for u in self._rank(candidates, point) if u is not unit][:FILL_UNITS]
                extra, more = self._sentences(others, per_point - len(body), figures)
                body, cited = body + extra, cited + more
            return body, cited

        count = "两" if len(points) == 2 else numerals.to_chinese(max(1, min(len(points), 99)))
        lead_text = self.formula("lead", key=spec.key, role=spec.role, count=count)
        numbers_used = 0
        if spec.form == "heading":
            para(numerals.level_marker(1, next_number) + item.heading, [], "heading", 1)
            numbers_used = 1

        if spec.form == "points":
            if lead_text:
                para(lead_text, [])
            # one numbering form per section: with （一） sub-headings under each point, a source's 一是…
            # items are used as plain body sentences (their leads kept, their markers not)
            items_here = spec.numbering != "subheadings"
            for n, (point, unit) in enumerate(points):
                body, cited = body_for(point, unit, allow_items=items_here)
                para(numerals.level_marker(1, next_number + n) + strip_end(point), [], "heading", 1)
                para(body or missing(), cited)
                subs = [
                    u for u in self._rank(pool, point) if u.kind == "heading" and u.level == 2 and u.sentences
                ]
                emitted = 0
                for lead, sub in self._derived_points(subs[:6], ("heading",), 2):
                    chosen.add(id(sub))
                    self._track(sub.lead + "。", sub.passage, force=True)
                    text, more = self._sentences(
                        [Unit("para", "", sub.sentences, sub.passage)], per_point // 2, figures
                    )
                    if text and self.say(lead):
                        emitted += 1
                        para(f"{numerals.level_marker(2, emitted)}{lead}。{text}", more, "heading", 2)
            numbers_used = len(points)
        elif spec.form == "paragraph":
            pieces = [lead_text] if lead_text else []
            cited_all: list[Passage] = []
            for n, (point, unit) in enumerate(points):
                body, cited = body_for(point, unit, allow_items=False)
                pieces.append(f"{numerals.item_marker(n + 1)}{strip_end(point)}。{body}")
                cited_all += cited
            if not points:
                pieces.append(missing())
            para("".join(pieces), cited_all)
        elif spec.form == "topics":
            if lead_text:
                body, cited = self._sentences(
                    self._rank(same_role, item.heading + self.request.topic)[:FILL_UNITS], per_point, figures
                )
                para(lead_text + body, cited)
            if points and (item.points or not lead_text):
                for point, unit in points:
                    body, cited = body_for(point, unit, allow_items=False)
                    para(f"{strip_end(point)}。{body or missing()}", cited)
            elif not lead_text:
                para(missing(), [])
        else:  # one level-1 heading with subheadings / items / plain text
            if lead_text:
                para(lead_text, [])
            if spec.numbering == "none" or not points:
                ranked = self._rank(same_role, f"{self.request.topic}{item.heading}")
                own = (
                    self.take_facts(item.heading + self.request.topic, 99, 0.0)
                    if spec.role == "background"
                    else ""
                )
                body, cited = self._sentences(ranked[:FILL_UNITS], max(100, budget - len(own)), figures)
                if spec.role == "background" and not own or not body:
                    body += missing()
                para(own + body, cited)
            else:
                for n, (point, unit) in enumerate(points):
                    body, cited = body_for(point, unit, allow_items=nested)
                    if nested:
                        text = f"{numerals.level_marker(2, n + 1)}{strip_end(point)}。{body or missing()}"
                        para(text, cited, "heading", 2)
                    else:
                        para(f"{numerals.item_marker(n + 1)}{strip_end(point)}。{body}", cited)
        self._trim_copies(paragraphs)
        chunk_ids = sorted({book.sources[n - 1].chunk_id for p in paragraphs for n in p.sources})
        return ComposedSection(paragraphs, chunk_ids, numbers_used)

    def _trim_copies(self, paragraphs: list[DraftParagraph]) -> None:
        """The last line of defence for the copy ceiling: generated numbering, formulas and leads can line
        up with a source's own (一是…二是…), so the section's text is compared with every passage drawn on
        and a body sentence inside a stretch longer than ``COPY_LIMIT`` is dropped until none is left."""
        for _ in range(12):
            pieces: list[tuple[int, int, int, str]] = []  # (paragraph, start, end, sentence) in ``plain``
            plain = ""
            for index, paragraph in enumerate(paragraphs):
                for sentence in split_sentences(paragraph.text):
                    key = re.sub(r"\s", "", sentence)
                    pieces.append((index, len(plain), len(plain) + len(key), sentence))
                    plain += key
            span = max(
                (metrics.longest_common_span(plain, text) for text in self._seen.values()),
                key=len,
                default="",
            )
            if len(span) <= COPY_LIMIT:
                return
            start = plain.find(span)
            middle = start + len(span) // 2
            inside = [p for p in pieces if p[1] >= start and p[2] <= start + len(span)]
            removable = [p for p in inside if not _LEADING_MARK_RE.search(p[3])]  # keep numbered leads
            if not removable:
                return

            index, _, _, sentence = min(
                removable, key=lambda p: (_orphans(pieces, p), abs((p[1] + p[2]) // 2 - middle))
            )
            paragraphs[index].text = paragraphs[index].text.replace(sentence, "", 1)
