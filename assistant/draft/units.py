"""Passages cut into reusable units (a heading or ``一是`` lead with its sentences, a topic-sentence
paragraph, a plain paragraph), and the text helpers the composer ranks them with.

Numbering is dropped when a passage is cut (a draft numbers everything itself) and items right after a
heading become that heading's children, so the composer can reuse a source's 一是… list under a new
heading. Ranking is by character-bigram overlap: crude next to embeddings, but deterministic, fast and
good enough to order a dozen retrieved passages that already passed the retriever's own ranking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..content.injection import drop_instructions
from ..records import Passage

SENTENCE_END = "。！？；!?;"
# a 【待补：…；…】 mark is never split: its inside is one unit of the sentence
_SENT_RE = re.compile(
    rf"(?>【[^】\n]*】|[^{SENTENCE_END}])*[{SENTENCE_END}]+[”’」』）)]*|(?>【[^】\n]*】|[^{SENTENCE_END}])+$"
)
_HEADING_RE = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十]+[）)][、．.]?|\d+[.．、](?!\d)|[（(]\d+[）)])\s*"
)
_ITEM_RE = re.compile(r"(?:(?<=^)|(?<=[。；;：:！]))\s*([一二三四五六七八九十]+是)")


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation (and a closing quote that follows it)."""
    return [s.strip() for s in _SENT_RE.findall(text.strip()) if s.strip()]


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def overlap(query: str, text: str) -> float:
    q = bigrams(query)
    if not q:
        return 0.0
    return len(q & bigrams(text)) / len(q)


def strip_end(text: str) -> str:
    return text.strip().rstrip("。；;，,：:！!？?、 ")


@dataclass
class Unit:
    """A reusable piece of a passage: a lead clause (heading, ``一是`` item or topic sentence) and the
    sentences under it. ``kind``: "heading" | "item" | "topic" | "para"; ``level`` is a heading's level
    (1 for ``一、``, 2 for ``（一）``…); a heading's ``children`` are the ``一是`` items that follow it."""

    kind: str
    lead: str
    sentences: list[str]
    passage: Passage
    level: int = 0
    children: list[Unit] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.lead + "".join(self.sentences) + "".join(c.text for c in self.children)


def _heading_level(marker: str) -> int:
    marker = marker.strip()
    if re.match(r"^[（(]\d", marker):
        return 4
    if re.match(r"^\d", marker):
        return 3
    if re.match(r"^[（(]", marker):
        return 2
    return 1


def _heading_from_path(path: str) -> tuple[str, int]:
    last = path.split(" / ")[-1].strip() if path else ""
    match = _HEADING_RE.match(last) if last else None
    if match and _heading_level(match.group(0)) >= 2:
        return strip_end(last[match.end() :]), _heading_level(match.group(0))
    return "", 0


def passage_units(passage: Passage) -> list[Unit]:
    """Cut a passage into units. Headings and item markers start a unit; numbering is dropped (the draft
    numbers everything itself). Items right after a heading become that heading's children."""
    units: list[Unit] = []
    chunk = passage.chunk
    pending, pending_level = _heading_from_path(chunk.heading_path)
    heading: Unit | None = None  # the heading that items attach to
    for raw in drop_instructions(chunk.text).splitlines():  # a planted 【系统】 block goes with its payload
        line = raw.strip().strip("\u3000")
        if not line:
            continue
        head = _HEADING_RE.match(line)
        if head:
            level = _heading_level(head.group(0))
            rest = line[head.end() :]
            first, _, body = rest.partition("。")
            heading = Unit("heading", strip_end(first if body.strip() else rest), [], passage, level)
            units.append(heading)
            if not body.strip():
                continue
            line = body
        elif pending:
            heading = Unit("heading", pending, [], passage, pending_level)
            units.append(heading)
        pending = ""
        pieces = _ITEM_RE.split(line)  # [before, marker, text, marker, text, ...]
        before = split_sentences(pieces[0]) if pieces[0].strip() else []
        if before and len(pieces) > 1 and (heading is None or heading.sentences or heading.children):
            units.append(Unit("intro", "", before, passage))  # 总体来看，…主要有以下几点：
        elif before:
            if heading is not None and not heading.sentences and not heading.children:
                heading.sentences += before
            elif len(strip_end(before[0])) <= 16 and len(before) > 1 and len(pieces) == 1:
                units.append(Unit("topic", strip_end(before[0]), before[1:], passage))
                heading = None
            else:
                units.append(Unit("para", "", before, passage))
                heading = None if len(pieces) == 1 else heading
        for i in range(1, len(pieces) - 1, 2):
            sentences = split_sentences(pieces[i + 1])
            if not sentences:
                continue
            lead, rest = sentences[0], sentences[1:]
            comma = lead.find("，")
            if len(lead) > 40 and 6 <= comma <= 30:
                lead, rest = lead[:comma], [lead[comma + 1 :], *rest]
            item = Unit("item", strip_end(lead), rest, passage)
            if heading is not None:
                heading.children.append(item)
            else:
                units.append(item)
    return [u for u in units if u.lead or u.sentences or u.children]
