"""One file, several documents: a 合集 (several leaders' 述职报告 one after another, each with its own title and
signature) is split into its documents, so each gets its own title, type and chunks.

A new document starts at a line that reads as a title — short, no sentence punctuation, ending in a genre
word that one of the type schemas names in its ``detect.title`` table with a strong weight (…述职报告, …上的
讲话, …汇报) — when the text before it has ended (a closing formula such as 请予评议/汇报完毕/谢谢, or name and
date lines) or the text after it starts (a —— subtitle, a speaker or date line, a salutation, an opening
formula). Each part must be a document in its own right (``MIN_PART_CHARS``). A collection title above the
first document (…汇编) is dropped. A file with one title, or whose candidate parts are too short, stays whole.

Trade-off: the rule needs the genre word in each title; a 合集 whose parts carry bare names (张三) stays one
document — a writer can still split the file by hand — whereas splitting on any short line would cut real
documents at their unnumbered headings.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .. import doctypes
from ..records import Document
from . import detect, structure

MIN_PART_CHARS = 300
TITLE_WEIGHT = 10  # a title pattern at least this strong names a genre
_COLLECTION = re.compile(r"(汇编|合集|选编|汇总|文集|材料集)$")
_END = re.compile(r"(请.{0,10}评议|汇报完毕|批评指正|谢谢|特此报告|以上(报告|汇报|述职)|述职完毕|！$)")
_START = re.compile(r"^(?:——|—|－－|--|同志们|尊敬的|各位|亲爱的|根据|按照|为了|现将|今年以来|\d{4}年(?:以来|，))")


def _title_patterns(types: dict[str, doctypes.DocType]) -> list[re.Pattern[str]]:
    return [
        detect._pattern(pattern)
        for doctype in types.values()
        for pattern, weight in doctype.detect_zones.get("title", {}).items()
        if weight >= TITLE_WEIGHT
    ]


def _is_title(norm: str, patterns: list[re.Pattern[str]]) -> bool:
    return detect._title_like(norm) and len(norm) >= 6 and any(p.search(norm) for p in patterns)


def _short_line(norm: str) -> bool:
    """A name, post or date line (a signature, or a speaker line under a title)."""
    return len(norm) <= 30 and not detect._SENTENCE.search(norm) and not norm.endswith("：")


def boundaries(text: str, types: dict[str, doctypes.DocType]) -> list[int]:
    """Line indexes (into ``text.split("\\n")``) where a document starts; [] when the file is one document."""
    lines = text.split("\n")
    norms = [line.strip().translate(structure._NORM) for line in lines]
    patterns = _title_patterns(types)
    starts: list[int] = []
    for i, norm in enumerate(norms):
        if not _is_title(norm, patterns) or _COLLECTION.search(norm):
            continue
        before = [n for n in norms[max(0, i - 3) : i] if n]
        after = [n for n in norms[i + 1 : i + 4] if n]
        ended = not before or any(_END.search(n) for n in before[-2:]) or _short_line(before[-1])
        begins = bool(after) and (
            _START.match(after[0]) is not None
            or _short_line(after[0])
            or any(structure._SALUTATION.match(n) for n in after[:2])
            or structure._OPENING.search(after[0]) is not None
        )
        if ended and (begins or not before):
            starts.append(i)
    if not starts:
        return []
    first = starts[0]
    if first > 0:  # lines above the first title: a collection title (dropped), a preface, or a document
        prefix = sum(len(n) for n in norms[:first])
        if prefix >= MIN_PART_CHARS:
            starts.insert(0, 0)
        elif not _only_collection_title(norms[:first]):
            starts[0] = 0
    kept: list[int] = []
    for start, size in zip(starts, _sizes(lines, starts), strict=True):
        if size >= MIN_PART_CHARS or not kept:
            kept.append(start)
        # else: a part too short to be a document (a title line that only looked like one) stays with the
        # part before it
    if len(kept) >= 2 and _sizes(lines, kept)[0] < MIN_PART_CHARS:
        del kept[1]  # a short first part joins the next one
    return kept if len(kept) >= 2 else []


def _sizes(lines: list[str], starts: list[int]) -> list[int]:
    ends = [*starts[1:], len(lines)]
    return [sum(len(line.strip()) for line in lines[a:b]) for a, b in zip(starts, ends, strict=True)]


def _only_collection_title(norms: list[str]) -> bool:
    shown = [n for n in norms if n]
    return len(shown) <= 2 and all(detect._title_like(n) for n in shown)


def split_document(document: Document, types: dict[str, doctypes.DocType]) -> list[Document]:
    """The documents a file holds: ``[document]`` when it is one, else one ``Document`` per part with its own
    text, title and id (``<doc id>--01`` …); a metadata type given for the file applies to every part. A
    collection title above the first part is dropped."""
    lines = document.text.split("\n")
    starts = boundaries(document.text, types)
    if not starts:
        return [document]
    ends = [*starts[1:], len(lines)]
    parts = []
    for k, (a, b) in enumerate(zip(starts, ends, strict=True), 1):
        text = "\n".join(lines[a:b]).strip()
        first = text.split("\n", 1)[0].lstrip("#").strip()
        parts.append(
            replace(document, doc_id=part_id(document.doc_id, k), title=first or document.title, text=text)
        )
    return parts


def part_id(doc_id: str, part: int) -> str:
    return f"{doc_id}--{part:02d}"
