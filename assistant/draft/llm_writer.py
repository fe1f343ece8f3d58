"""The model path: each section written by an OpenAI-compatible model with the whole document in view.

Every call carries what an experienced writer gives a model by hand (``llm_brief``): who speaks to whom,
the 提法 list and number conventions (system prompt), the whole 提纲 with the part to write marked, the text
already written (or a faithful extract), the part's sub-points in order with each problem's paired measure,
the writer's facts placed there, and style exemplars cleaned of other units' terms and figures. The reply
is read by its markers (``llm_reply``), checked against the outline, and sent back once with the problems
when it is malformed or ignores the outline (or when the stream was cut); a second failure raises
``BackendError`` and the pipeline falls back to the composer for that section alone, saying so.

The draft follows the outline exactly: headings and sub-headings are the outline's words, the model writes
what goes under them. Every sentence then passes the flagging guard (``verify``: names and numbers that are
not the writer's get 【核实：…】, nothing is rewritten) and becomes a ``Span`` — ``fact`` when it states
one of the writer's facts, ``gap`` for a 【待补】, else ``model`` — with the sources it matches among the
passages retrieved for the section (citations come from matching afterwards, not from asking the model).
Opening and closing: a free formula (``doctypes.Formula.fixed`` false) is written by the model for the
occasion within the schema's ``guide`` and ``pattern``; a fixed one stays the type's own words.
Corpus text and materials are fenced so text inside cannot close its block or forge another
(``content.injection.fence_safe``); markup a browser acts on is stripped from the reply before it is shown
or parsed (``StreamCleaner``, ``llm_reply`` through ``strip_model_markup``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .. import numerals
from ..content import occasions
from ..content.injection import StreamCleaner
from ..doctypes import DocType
from ..errors import BackendError
from ..evals import metrics
from ..evals.checks.text import CITATION_BIGRAM_SHARE, MIN_SENTENCE_CHARS
from ..prompts import get_prompt, render, render_string
from ..records import DraftParagraph, DraftRequest, DraftSection, Fact, Outline, Passage, Span
from ..settings import Settings
from . import llm_brief as brief
from .context import EventFn, SectionContext
from .llm_brief import fence_safe  # noqa: F401 - public: the prompt fences' guard
from .llm_reply import Block, Shape, check, normalise, parse, similar, strip_end, strip_think
from .sources import SourceBook
from .units import bigrams, split_sentences
from .verify import Verifier

THINK_TOKENS = 1024  # room for a reasoning model's <think> block before the text
_INLINE_ITEM_RE = re.compile(r"(^|[。；;：:！!？?，,])\s*[一二三四五六七八九十]+是")
_RETRYABLE = ("中途断开", "空内容", "无法解析", "没有可用")


def max_tokens_for(chars: int) -> int:
    """Tokens to allow for ``chars`` characters of Chinese text plus a reasoning block."""
    return int(max(200, chars) * 1.6) + THINK_TOKENS


def _retryable(exc: BackendError) -> bool:
    """A cut or empty stream is worth one more try; a refused connection, an HTTP error or a timeout is not
    (the server is down or slow: the writer is better served by the composer at once)."""
    return any(word in str(exc) for word in _RETRYABLE)


def _count_word(n: int) -> str:
    return "两" if n == 2 else numerals.to_chinese(max(1, min(n, 99)))


def _drop_lone_items(paragraphs: list[DraftParagraph]) -> None:
    """一是 promises 二是: where the paragraphs under a heading hold a single item marker, an 一是 opening a
    paragraph (a model that wrote one 【分项】), it is dropped."""
    group: list[DraftParagraph] = []
    for paragraph in [*paragraphs, None]:
        if paragraph is None or paragraph.kind == "heading":
            marks = [p for p in group for _ in _INLINE_ITEM_RE.finditer(p.text)]
            first = marks[0] if marks else None
            lone = len(marks) == 1 and first.text.startswith("一是") and first.spans[:1]
            if lone and first.spans[0].text.startswith("一是"):
                first.text = first.text[2:]
                first.spans[0].text = first.spans[0].text[2:]
            group = []
        if paragraph is not None:
            group.append(paragraph)


def renumber_items(text: str) -> str:
    """一是…三是… in a paragraph renumbered 一是, 二是… in order (the markers are kept, never stripped)."""
    counter = iter(range(1, 100))
    return _INLINE_ITEM_RE.sub(lambda m: m.group(1) + numerals.item_marker(next(counter)), text)


def system_prompt(
    settings: Settings,
    request: DraftRequest,
    outline: Outline,
    doctype: DocType,
    values: dict[str, Any],
) -> tuple[str, list[str]]:
    """The model path's system prompt for a draft (register, 提法 list, conventions, output rules) and its
    register lines; every call that writes draft text with a model uses it."""
    cls = occasions.load(settings.prompts_dir / "occasions.yaml").get(outline.occasion_class)
    register = brief.register_lines(doctype, values, cls.label if cls else "")
    system = render(
        get_prompt(settings.prompts_dir, "system"),
        doc_label=doctype.label,
        register=register,
        tifa=brief.tifa_entries(request.year, settings.prompts_dir),
    )
    return system, register


class Preview:
    """The reply as the writer should see it while it streams: no reasoning, no markers, no commentary
    before the first marker. Only ever appends; ``section_done`` carries the final text."""

    _MARKER_RE = re.compile(r"[【\[［]\s*(?:标题|小标题|导语|正文|分项|主题句)\s*[】\]］]\s*[：:]?")

    def __init__(self) -> None:
        self.raw = ""
        self.shown = ""

    def feed(self, delta: str) -> str:
        self.raw += delta or ""
        text, _ = strip_think(self.raw)
        text = re.sub(r"<[^>\n]{0,12}$|[【\[［][^】\]］\n]{0,4}$", "", text)  # a tag or marker still arriving
        first = self._MARKER_RE.search(text)
        if first is None:
            return ""  # commentary or nothing yet
        text = self._MARKER_RE.sub("\n", text[first.start() :]).replace("**", "").lstrip("\n")
        text = re.sub(r"\n{2,}", "\n", text)
        if not text.startswith(self.shown):
            return ""
        new, self.shown = text[len(self.shown) :], text
        return new


class LLMSectionWriter:
    """Writes the sections, opening and closing of one draft with the configured model."""

    def __init__(
        self,
        settings: Settings,
        request: DraftRequest,
        outline: Outline,
        doctype: DocType,
        values: dict[str, Any],
    ) -> None:
        from ..llm import LLMClient

        self.client = LLMClient(settings)
        self.settings = settings
        self.request = request
        self.outline = outline
        self.doctype = doctype
        self.values = values
        prompts_dir = settings.prompts_dir
        self.prompts = {name: get_prompt(prompts_dir, name) for name in ("system", "section", "formula")}
        self.verifier = Verifier(request, prompts_dir, outline)
        self.fixed = metrics.fixed_numerals(str(prompts_dir))
        self._view: Any = False
        self.occasion = request.occasion or values.get("occasion") or ""
        self.topic = request.topic  # as the writer typed it (the formula forms are for templates)
        self.system, self.register = system_prompt(settings, request, outline, doctype, values)
        self.facts = {f.id: f for f in outline.facts}

    @property
    def view(self) -> Any:
        if self._view is False:
            self._view = brief.open_corpus_view(self.settings)
        return self._view

    def refs(self) -> list[dict[str, Any]]:
        """The prompt files the model path uses for a draft (recorded in ``Draft.generator``)."""
        names = ["outline", "planner"] + (["review"] if self.settings.llm_revise else [])
        extra = [get_prompt(self.settings.prompts_dir, name) for name in names]
        return [p.ref() for p in [*self.prompts.values(), *extra]]

    # -- one call, one retry --------------------------------------------------------------------------
    def ask(self, user: str, key: str, max_tokens: int, emit: EventFn) -> str:
        preview = Preview()
        cleaner = StreamCleaner()  # markup a browser acts on never reaches the page, even mid-stream
        pieces: list[str] = []
        for delta in self.client.stream(self.system, user, max_tokens=max_tokens):
            pieces.append(delta)
            shown = cleaner.feed(preview.feed(delta))
            if shown:
                emit("section_delta", {"key": key, "text": shown})
        if rest := cleaner.finish():
            emit("section_delta", {"key": key, "text": rest})
        return "".join(pieces)

    def attempt(
        self,
        prompt: Callable[[str], str],
        read: Callable[[str], tuple[Any, list[str]]],
        key: str,
        heading: str,
        max_tokens: int,
        emit: EventFn,
    ) -> Any:
        """Ask, read; on a malformed or off-outline reply (or a cut stream) ask once more with the problem
        named; then give up with a ``BackendError`` saying why."""
        retry = ""
        for attempt in (1, 2):
            if attempt == 2:
                emit("section_start", {"key": key, "heading": heading, "retry": True})
            try:
                text = self.ask(prompt(retry), key, max_tokens, emit)
            except BackendError as exc:
                if attempt == 2 or not _retryable(exc):
                    raise
                retry = f"上次的输出没有完整收到（{exc}），请完整输出"
                continue
            result, problems = read(text)
            if not problems:
                return result
            retry = "；".join(problems)
        raise BackendError(f"大模型两次输出都不符合要求（{retry}）")

    # -- sections -------------------------------------------------------------------------------------
    def shape(self, ctx: SectionContext) -> Shape:
        spec, item = ctx.spec, ctx.item
        if spec.form == "points":
            return Shape(spec.form, spec.numbering, headings=list(item.points))
        return Shape(spec.form, spec.numbering, subs=list(item.points))

    def section_prompt(self, ctx: SectionContext, retry: str) -> str:
        item, spec = ctx.item, ctx.spec
        written, summarised = brief.written_text(ctx.written)
        facts = [{"id": f.id, "text": fence_safe(f.text)} for f in ctx.facts]
        return render(
            self.prompts["section"],
            doc_label=ctx.doctype.label,
            title=ctx.outline.title,
            topic=self.topic,
            occasion=self.occasion,
            outline=brief.outline_lines(ctx.outline, current=item.key),
            written=fence_safe(written),
            summarised=summarised,
            heading=item.heading,
            role=brief.ROLE_LABELS.get(item.role, item.role),
            needs=item.note or spec.needs or item.heading,
            style=spec.style,
            form=spec.form,
            numbering=spec.numbering,
            points=list(item.points),
            pairs=dict(item.pairs),
            answers=brief.answered_by(ctx.outline, item),
            point_facts=brief.facts_by_point(item, ctx.facts),
            facts=facts,
            facts_only=spec.facts_only,
            exemplars=brief.exemplars(
                ctx.pool(12), ctx.doctype.name, item.role, ctx.request, self.view, self.fixed
            ),
            target_chars=ctx.budget,
            count=_count_word(len(item.points) or 3),
            part_lead=self.lead_formula(ctx, len(item.points) or 3)
            if spec.form in ("topics", "points")
            else "",
            retry=retry,
        )

    def read_section(self, text: str, ctx: SectionContext, shape: Shape) -> tuple[list[Block], list[str]]:
        reply = parse(text)
        blocks = normalise(reply, shape)
        problems = check(blocks, shape, reply.cleaned.markers)
        if not problems and not self._about(blocks, ctx):
            problems.append(f"正文没有写“{ctx.item.heading}”这一部分的内容，请按提纲写本部分")
        return blocks, problems

    def _about(self, blocks: list[Block], ctx: SectionContext) -> bool:
        """The reply speaks of this part at all: it shares a distinctive word with the part's heading,
        sub-points, facts or the topic (a reply about another part shares none)."""
        from ..content import words

        body = "".join(b.text for b in blocks)
        if len(body) < 60:
            return True
        own = " ".join([ctx.item.heading, ctx.request.topic, *ctx.item.points, *(f.text for f in ctx.facts)])
        wanted = words.distinctive(own, at_least=3)
        return not wanted or bool(words.shared(wanted, body))

    def write(self, ctx: SectionContext, book: SourceBook) -> tuple[list[DraftParagraph], int]:
        """The section's paragraphs and how many level-1 numbers it used; ``BackendError`` when the model
        fails twice (the pipeline then falls back for this section)."""
        shape = self.shape(ctx)
        blocks = self.attempt(
            lambda retry: self.section_prompt(ctx, retry),
            lambda text: self.read_section(text, ctx, shape),
            ctx.item.key,
            ctx.item.heading,
            max_tokens_for(ctx.budget),
            ctx.emit,
        )
        return self.paragraphs(blocks, ctx, shape, book)

    # -- paragraphs with spans ------------------------------------------------------------------------
    def paragraphs(
        self, blocks: list[Block], ctx: SectionContext, shape: Shape, book: SourceBook
    ) -> tuple[list[DraftParagraph], int]:
        out, used = self._paragraphs(blocks, ctx, shape, book)
        _drop_lone_items(out)
        return out, used

    def _paragraphs(
        self, blocks: list[Block], ctx: SectionContext, shape: Shape, book: SourceBook
    ) -> tuple[list[DraftParagraph], int]:
        spec, item = ctx.spec, ctx.item
        pool = ctx.pool()
        out: list[DraftParagraph] = []
        used = 0

        def body(text: str, lead: str = "", kind: str = "body", level: int = 0) -> None:
            paragraph = self.paragraph(text, pool, book, ctx.facts, lead, kind, level)
            if paragraph is not None:
                out.append(paragraph)

        if spec.form == "heading":
            heading = numerals.level_marker(1, ctx.next_number) + item.heading
            out.append(DraftParagraph(heading, "heading", 1, [], [Span(heading, "heading")]))
            used = 1
        blocks = _no_lone_subheadings(blocks)
        if spec.form == "points":
            if not any(b.kind == "lead" for b in blocks[:1]):
                lead = self.lead_formula(ctx, len(shape.headings) or sum(b.kind == "heading" for b in blocks))
                if lead:  # 下面，我讲四点意见: the type's own words when the model left them out
                    out.append(DraftParagraph(lead, "body", 0, [], [Span(lead, "formula")]))
            self._points(blocks, shape, ctx, body, out)
            used = sum(1 for p in out if p.kind == "heading" and p.level == 1)
            return out, used
        if spec.form == "paragraph":
            self._one_paragraph(blocks, shape, body)
            return out, used
        if spec.form == "topics":
            if not any(b.kind == "lead" for b in blocks[:1]):
                lead = self.lead_formula(ctx, len(shape.subs) or 3)
                if lead:  # 下一步，我们将……: a part without a heading is named by the type's own lead
                    out.append(DraftParagraph(lead, "body", 0, [], [Span(lead, "formula")]))
            self._topics(blocks, shape, body)
            return out, used
        self._under_heading(blocks, shape, body)
        return out, used

    def lead_formula(self, ctx: SectionContext, count: int) -> str:
        """The type's lead-in for a section (``lead.md``), rendered as the composer renders it."""
        from ..prompts import find_prompt

        if find_prompt(self.settings.prompts_dir, "lead", self.doctype.name) is None:
            return ""
        prompt = get_prompt(self.settings.prompts_dir, "lead", self.doctype.name)
        r = ctx.request
        values = {"topic": r.topic, "unit": r.unit, "occasion": r.occasion, "audience": r.audience}
        values |= self.values | {"key": ctx.spec.key, "role": ctx.spec.role, "count": _count_word(count)}
        return render(prompt, **values).strip()

    def _points(self, blocks: list[Block], shape: Shape, ctx: SectionContext, body, out) -> None:
        n = 0  # level-1 headings so far
        sub = item = 0  # （一） and 一是 under the current heading
        for block in blocks:
            if block.kind == "heading":
                text = shape.headings[n] if n < len(shape.headings) else block.text
                heading = numerals.level_marker(1, ctx.next_number + n) + strip_end(text)
                out.append(DraftParagraph(heading, "heading", 1, [], [Span(heading, "heading")]))
                n, sub, item = n + 1, 0, 0
            elif block.kind == "subheading":
                sub += 1
                pending = numerals.level_marker(2, sub) + block.text + "。"
                out.append(DraftParagraph(pending, "heading", 2, [], [Span(pending, "heading")]))
            elif block.kind == "item":
                item += 1
                body(numerals.item_marker(item) + _sentence(block.text))
            else:
                if out and out[-1].kind == "heading" and out[-1].level == 2 and len(out[-1].spans) == 1:
                    lead = out.pop().text  # （一）sub。+ its first paragraph, as the composer writes it
                    body(block.text, lead, "heading", 2)
                else:
                    body(renumber_items(block.text))

    def _one_paragraph(self, blocks: list[Block], shape: Shape, body) -> None:
        items = [b for b in blocks if b.kind == "item"]
        leads = [b.text for b in blocks if b.kind == "lead"]
        if items:
            parts = []
            for n, block in enumerate(items, 1):
                marker = numerals.item_marker(n) if len(items) > 1 else ""  # 一是 promises 二是
                parts.append(marker + self._item_text(block.text, shape.subs, n))
            rest = [b.text for b in blocks if b.kind in ("body", "topic", "subheading")]
            body("".join(_sentence(x) for x in leads) + "".join(parts) + "".join(_sentence(x) for x in rest))
            return
        texts = [b.text for b in blocks if b.kind in ("body", "lead", "topic", "subheading")]
        if shape.numbering == "items":
            body(renumber_items("".join(_sentence(t) for t in texts)))
        else:
            for text in texts:
                body(renumber_items(_sentence(text)))

    def _item_text(self, text: str, subs: list[str], n: int) -> str:
        """An item's text led by the outline's lead for it (the model's own first sentence when it says
        the same)."""
        text = _sentence(text)
        if n > len(subs):
            return text
        want = strip_end(subs[n - 1])
        first = split_sentences(text)[0] if split_sentences(text) else text
        return text if similar(want, first) else f"{want}。{text}"

    def _topics(self, blocks: list[Block], shape: Shape, body) -> None:
        n = 0
        topic = ""
        for block in blocks:
            if block.kind == "topic":
                if topic:
                    body(topic)
                n += 1
                text = shape.subs[n - 1] if n <= len(shape.subs) else block.text
                topic = strip_end(text) + "。"
            elif topic:
                body(block.text, topic)
                topic = ""
            else:
                body(renumber_items(block.text))
        if topic:
            body(topic)

    def _under_heading(self, blocks: list[Block], shape: Shape, body) -> None:
        n = 0
        pending = ""
        for block in blocks:
            if block.kind == "subheading":
                if pending:
                    body("", pending, "heading", 2)
                n += 1
                text = shape.subs[n - 1] if n <= len(shape.subs) else block.text
                pending = numerals.level_marker(2, n) + strip_end(text) + "。"
            elif block.kind == "item":
                n += 1
                body(numerals.item_marker(n) + self._item_text(block.text, shape.subs, n))
            elif pending:
                body(block.text, pending, "heading", 2)
                pending = ""
            else:
                body(renumber_items(block.text) if shape.numbering == "items" else block.text)
        if pending:
            body("", pending, "heading", 2)

    def paragraph(
        self,
        text: str,
        pool: list[Passage],
        book: SourceBook,
        facts: list[Fact],
        lead: str = "",
        kind: str = "body",
        level: int = 0,
    ) -> DraftParagraph | None:
        """One paragraph: its sentences verified (flagged, never rewritten) and traced to facts and
        passages. ``lead`` is a heading text that opens the paragraph (（一）小标题。)."""
        spans = [Span(lead, "heading")] if lead else []
        for sentence in split_sentences(text):
            verdict = self.verifier.check(sentence)
            if verdict.dropped:
                continue
            spans.append(self.span(verdict.text, pool, book, facts, verdict.note))
        if not spans or all(s.kind == "heading" for s in spans) and not lead:
            return None
        joined = "".join(s.text for s in spans)
        sources = sorted({n for s in spans for n in s.sources})
        return DraftParagraph(joined, kind, level, sources, spans)

    def span(
        self, sentence: str, pool: list[Passage], book: SourceBook, facts: list[Fact], note: str
    ) -> Span:
        grams = bigrams(sentence)
        fact = next(
            (f for f in facts if (fg := bigrams(f.text)) and len(fg & grams) / len(fg) >= 0.8),
            None,
        )
        sources = []
        if len(grams) >= MIN_SENTENCE_CHARS:
            for passage in pool:
                if len(grams & bigrams(passage.chunk.text)) / len(grams) >= CITATION_BIGRAM_SHARE:
                    sources.append(book.cite(passage))
        if fact is not None:
            return Span(sentence, "fact", sorted(set(sources)), fact.id, note)
        kind = "gap" if "【待补" in sentence else "model"
        return Span(sentence, kind, sorted(set(sources)), None, note)

    # -- opening and closing ---------------------------------------------------------------------------
    def formula(self, part: str, written: list[DraftSection], emit: EventFn) -> list[DraftParagraph]:
        """The opening (salutation kept as the type's) or closing, written for the occasion; raises
        ``BackendError`` after two replies that miss the schema's pattern or fit the occasion badly."""
        rule = self.doctype.opening if part == "opening" else self.doctype.closing
        salutation = ""
        if part == "opening" and self.doctype.salutation:
            salutation = render_string(self.doctype.salutation, **self.values).strip()
        text, summarised = brief.written_text(
            [s for s in written if s.key != "opening"] if part == "closing" else []
        )

        def prompt(retry: str) -> str:
            return render(
                self.prompts["formula"],
                doc_label=self.doctype.label,
                title=self.outline.title,
                topic=self.topic,
                occasion=self.occasion,
                outline=brief.outline_lines(self.outline, with_facts=False),
                written=fence_safe(text),
                summarised=summarised,
                part=part,
                salutation=salutation,
                guide=(rule.guide or "按文种惯例写").rstrip("。"),
                retry=retry,
            )

        def read(reply_text: str) -> tuple[list[str], list[str]]:
            reply = parse(reply_text)
            texts = [b.text for b in reply.blocks if b.text]
            if texts and salutation and texts[0].startswith(salutation.rstrip("：:")):
                texts[0] = texts[0][len(salutation) :].strip() or ""
                texts = [t for t in texts if t]
            problems = [] if texts else ["没有可用的正文"]
            joined = "\n".join(texts)
            if texts and rule.pattern and not rule.matches(joined):
                problems.append(f"不符合要求：{rule.guide or '不合本文种的惯用写法，请按惯例重写'}")
            if part == "opening" and texts:
                misfit = occasions.opening_misfits(joined, self.outline.occasion_class)
                if misfit:
                    problems.append(f"“{misfit[0]}”与这次的场合不符")
            return texts, problems

        label = "开头" if part == "opening" else "结尾"
        texts = self.attempt(prompt, read, part, label, max_tokens_for(400), emit)
        paragraphs = (
            [DraftParagraph(salutation, "salutation", 0, [], [Span(salutation, "formula")])]
            if salutation
            else []
        )
        for paragraph_text in texts:
            paragraph = self.paragraph(paragraph_text, [], SourceBook(), [])
            if paragraph is not None:
                paragraphs.append(paragraph)
        emit(
            "section_done",
            {"key": part, "heading": "", "text": "\n".join(p.text for p in paragraphs), "passages": []},
        )
        return paragraphs


def _no_lone_subheadings(blocks: list[Block]) -> list[Block]:
    """A （一） with no （二） under the same heading is no sub-heading: it becomes the lead sentence of
    the paragraph that follows it."""
    out: list[Block] = []
    group: list[Block] = []

    def flush() -> None:
        subs = [b for b in group if b.kind == "subheading"]
        if len(subs) == 1:
            at = group.index(subs[0])
            following = group[at + 1] if at + 1 < len(group) and group[at + 1].kind == "body" else None
            merged = f"{strip_end(subs[0].text)}。" + (following.text if following else "")
            group[at : at + (2 if following else 1)] = [Block("body", merged)]
        out.extend(group)
        group.clear()

    for block in blocks:
        if block.kind == "heading":
            flush()
            out.append(block)
        else:
            group.append(block)
    flush()
    return out


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in "。！？；!?;”：:" else text + "。"
