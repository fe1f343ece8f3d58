"""Plain data types that pass between the pipeline's stages.

Every stage takes and returns these, never a library's own objects, so that the CLI, the web UI, the eval
suite and the benchmarks can share one pipeline and tests can build inputs by hand. All are dataclasses with
``to_dict`` for JSON output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The fixed vocabulary of section roles shared by the parser, the index, the type schemas and the evals.
ROLES: tuple[str, ...] = (
    "opening",  # salutation, occasion sentence, 现将…报告如下
    "background",  # 基本情况, context
    "achievements",  # 履职情况, 主要成效, work done (incl. work-report topic paragraphs)
    "problems",  # 存在的问题, 不足
    "causes",  # 原因分析
    "measures",  # 对策建议, 下一步工作打算, plans
    "requirements",  # a speech's 意见 / 要求 (要…)
    "closing",  # 总之…, 汇报完毕…, rallying close
    "other",
)

# The document types are the schema folders under prompts/types (``doctypes.type_names``), not a list in code.


@dataclass
class Document:
    """One corpus document after loading and cleaning.

    ``text`` is the cleaned text (scraping markers and indentation removed); every character span elsewhere
    refers to it. ``raw_hash`` is the sha256 of the file's bytes plus metadata, used to skip unchanged files.
    """

    doc_id: str
    title: str
    text: str
    path: str = ""
    doc_type: str | None = None  # from metadata; None means "detect it"
    source: str = ""
    encoding: str = "utf-8"
    raw_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Section:
    """A node of a document's section tree.

    level: 0 for the document's top-level pseudo sections (opening, closing), 1 for ``一、`` or a
    work-report topic-sentence paragraph, 2 for ``（一）``, 3 for ``1.``, 4 for ``（1）``; ``一是`` items sit one
    level below their parent. kind: "salutation", "opening", "heading", "topic", "item", "closing", "body".
    ``heading`` is the heading as written (``二、存在的问题``), ``title`` without its number (``存在的问题``).
    ``start``/``end`` span the whole section (heading included) in ``Document.text``.
    """

    heading: str
    title: str
    level: int
    kind: str
    role: str
    start: int
    end: int
    number: str = ""  # the numeral as written: "二", "（一）", "1.", "一是"
    body: str = ""  # text directly under this heading, before any child
    children: list[Section] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedDocument:
    document: Document
    doc_type: str  # metadata type if given, else detected
    type_confidence: float  # 1.0 when metadata gave it
    sections: list[Section]  # top level, in document order
    salutation: str = ""
    opening: str = ""  # the opening formula sentence, e.g. 现将…报告如下：
    closing: str = ""  # the closing formula, e.g. 汇报完毕…批评指正…

    def walk(self):
        for section in self.sections:
            yield from section.walk()


@dataclass
class Chunk:
    """A retrievable passage. ``chunk_id`` is a content hash of (doc_id, heading_path, text)."""

    chunk_id: str
    doc_id: str
    title: str
    doc_type: str
    heading_path: str  # "二、存在的问题 / （一）党组织班子作用发挥不够"
    role: str
    position: int  # order of the chunk within its document
    start: int
    end: int
    text: str

    def metadata(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("text")
        data.pop("chunk_id")
        return data

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Passage:
    """A chunk returned by retrieval, with its fused score and the ranks that made it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = self.chunk.to_dict()
        data.update(score=self.score, dense_rank=self.dense_rank, keyword_rank=self.keyword_rank)
        return data


@dataclass
class DraftRequest:
    doc_type: str
    topic: str
    unit: str = ""
    occasion: str = ""
    audience: str = ""
    points: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)  # texts, already loaded
    length: int | None = None  # target characters
    speaker: str = (
        ""  # who speaks or signs: a post (市人民政府副市长), a person (post + name); "" = from unit
    )
    skeleton: str = ""  # a skeleton name of the type's schema, or "doc:<doc_id>" to follow a corpus document
    occasion_class: str = (
        ""  # 总结表彰 | 部署动员 | 推进 | 开班 | 述职评议 | 调研座谈 | 典礼 …; "" = from occasion
    )
    public_corpus: bool = True  # may the composer draw policy language from the public reference collection
    year: int | None = None  # the year the document is for (提法 of that year); None = this year
    # organisations the draft may name besides those in the materials (departments a speech assigns tasks
    # to, higher organs a report answers to); the model path's guard marks other names for checking
    bodies: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Fact:
    """One sentence of the writer's materials, with the role it plays and where it belongs.

    role: "achievement" | "problem" | "cause" | "plan" | "background"; ``point`` is the key point it is
    about ("" for none); ``section`` the outline item key it was placed in ("" while unplaced)."""

    id: int
    text: str
    role: str = "background"
    point: str = ""
    section: str = ""
    fits: str = ""  # when unplaced: the outline item key it fits best (shown beside that section)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OutlineItem:
    key: str  # the schema section key (unique within an outline)
    role: str
    heading: str  # as it will appear, without numbering
    points: list[str] = field(default_factory=list)  # sub-points (level-2 headings or 一是 items)
    numbering: str = "headings"  # "headings" | "items" | "topics" | "plain"
    facts: list[int] = field(default_factory=list)  # ids of the writer's facts placed in this section
    pairs: dict[str, str] = field(default_factory=dict)  # problems: sub-point -> the measure answering it
    note: str = ""  # what the section must say (shown to the writer, used for gaps and prompts)
    form: str = ""  # the schema form (heading | points | paragraph | topics); "" = from the schema


@dataclass
class Outline:
    doc_type: str
    title: str
    items: list[OutlineItem]
    skeleton: str = ""  # the skeleton the outline follows
    occasion_class: str = ""
    facts: list[Fact] = field(default_factory=list)  # the writer's materials as fact sentences
    subtitle: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outline:
        """The outline ``to_dict`` wrote (unknown keys ignored, so older saved outlines still load)."""
        return cls(
            doc_type=data["doc_type"],
            title=data.get("title", ""),
            items=[OutlineItem(**_known(OutlineItem, item)) for item in data.get("items") or []],
            skeleton=data.get("skeleton", ""),
            occasion_class=data.get("occasion_class", ""),
            facts=[Fact(**_known(Fact, f)) for f in data.get("facts") or []],
            subtitle=data.get("subtitle", ""),
        )


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}


@dataclass
class Source:
    number: int  # 1-based, as cited in the draft: [1]
    chunk_id: str
    doc_id: str
    title: str
    heading_path: str
    role: str
    text: str = ""


SPAN_KINDS: tuple[str, ...] = (
    "fact",  # the writer's own material sentence (``fact`` names it)
    "corpus",  # a sentence taken from the writer's corpus (``sources`` names it)
    "public",  # policy language from the public reference collection (``sources`` names it)
    "gap",  # a 【待补：…】 guidance gap for the writer to fill
    "formula",  # the type's fixed language: salutation, opening, transitions, closing, leads
    "model",  # text a language model wrote
    "heading",  # a heading line's own words (numbering included)
    "edit",  # a sentence the writer typed or changed in the web UI
)


@dataclass
class Span:
    """A sentence (or heading) of a paragraph with where it came from; a paragraph's text is its spans'
    texts joined. ``note`` carries a check's remark for the writer (e.g. 【核实】 a name not in materials)."""

    text: str
    kind: str = "corpus"
    sources: list[int] = field(default_factory=list)  # Source.number values
    fact: int | None = None  # Fact.id for kind "fact"
    note: str = ""


@dataclass
class DraftParagraph:
    """One paragraph (or heading line) of a draft, with the numbers of the sources it drew on.

    ``spans`` (when the generator records them) split ``text`` into sentences with their provenance;
    ``sources`` stays the union of the spans' sources so paragraph-level readers keep working."""

    text: str
    kind: str = "body"  # "heading" | "body" | "salutation" | "subtitle"
    level: int = 0  # heading level 1..4 for kind "heading", else 0
    sources: list[int] = field(default_factory=list)  # Source.number values
    spans: list[Span] = field(default_factory=list)


@dataclass
class DraftSection:
    key: str  # schema section key; "opening" / "closing" for the formulas
    role: str
    heading: str  # numbered as written in the draft, "" for unheaded parts
    text: str  # the section's text ("\n" between paragraphs), its heading line included
    source_ids: list[str] = field(default_factory=list)  # chunk ids used
    level: int = 1
    paragraphs: list[DraftParagraph] = field(default_factory=list)


@dataclass
class Draft:
    doc_type: str
    title: str
    sections: list[DraftSection]
    text: str  # the whole draft as plain text, one paragraph a line, as it reads in Word (no source marks)
    sources: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    generator: dict[str, Any] = field(default_factory=dict)  # backend, model, prompt names/versions/hashes
    request: DraftRequest | None = None
    subtitle: str = ""  # e.g. a speech's speaker line
    facts: list[Fact] = field(default_factory=list)  # the writer's materials, each with where it was placed
    suggestions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # section key -> passages
    outline: Outline | None = None  # the outline the draft followed

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = data.pop("doc_type")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        """The draft ``to_dict`` wrote (``draft --json``, a run's drafts, the web UI's saved state).
        Raises KeyError/TypeError on a malformed dict; unknown keys are ignored."""
        sections = []
        for s in data.get("sections") or []:
            paragraphs = []
            for p in s.get("paragraphs") or []:
                spans = [Span(**_known(Span, x)) for x in p.get("spans") or []]
                paragraphs.append(DraftParagraph(**{**_known(DraftParagraph, p), "spans": spans}))
            sections.append(DraftSection(**{**_known(DraftSection, s), "paragraphs": paragraphs}))
        request = data.get("request")
        outline = data.get("outline")
        return cls(
            doc_type=data.get("type") or data.get("doc_type") or "",
            title=data.get("title", ""),
            sections=sections,
            text=data["text"],
            sources=[Source(**_known(Source, x)) for x in data.get("sources") or []],
            warnings=list(data.get("warnings") or []),
            generator=dict(data.get("generator") or {}),
            request=DraftRequest(**_known(DraftRequest, request)) if request else None,
            subtitle=data.get("subtitle", ""),
            facts=[Fact(**_known(Fact, f)) for f in data.get("facts") or []],
            suggestions=dict(data.get("suggestions") or {}),
            outline=Outline.from_dict(outline) if outline else None,
        )
