"""Plain data types that pass between the pipeline's stages.

Every stage takes and returns these, never a library's own objects, so that the CLI, the web UI, the eval
suite and the benchmarks can share one pipeline and tests can build inputs by hand. All are dataclasses with
``to_dict`` for JSON output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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

DOC_TYPES: tuple[str, ...] = ("speech", "duty-report", "research-report", "work-report")


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OutlineItem:
    key: str  # the schema section key
    role: str
    heading: str  # as it will appear, without numbering
    points: list[str] = field(default_factory=list)  # sub-points (level-2 headings or 一是 items)
    numbering: str = "headings"  # "headings" | "items" | "topics" | "plain"


@dataclass
class Outline:
    doc_type: str
    title: str
    items: list[OutlineItem]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Source:
    number: int  # 1-based, as cited in the draft: [1]
    chunk_id: str
    doc_id: str
    title: str
    heading_path: str
    role: str
    text: str = ""


@dataclass
class DraftParagraph:
    """One paragraph (or heading line) of a draft, with the numbers of the sources it drew on."""

    text: str
    kind: str = "body"  # "heading" | "body" | "salutation" | "subtitle"
    level: int = 0  # heading level 1..4 for kind "heading", else 0
    sources: list[int] = field(default_factory=list)  # Source.number values


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = data.pop("doc_type")
        return data
