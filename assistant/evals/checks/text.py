"""Text helpers shared by every check: cleaning lines, sentences, character n-grams, the draft's front matter
and body, and what a check is given (text, draft, request, passages)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...records import Draft, DraftRequest, Passage

# ---------------------------------------------------------------------------------------------- thresholds
POINT_BIGRAM_SHARE = 0.6  # a key point is covered by a sentence carrying this share of its bigrams
GROUNDED_BIGRAM_SHARE = 0.5  # a sentence is grounded when this share of its bigrams is in one passage
CITATION_BIGRAM_SHARE = 0.5  # a cited source supports a paragraph when one sentence has this share in it
COPY_NGRAM = 8
COPY_SPAN_CEILING = 200  # characters copied verbatim from one source in one stretch
REPEAT_NGRAM = 4
LENGTH_TOLERANCE = 0.3  # request.length ± 30 %
MIN_SENTENCE_CHARS = 8

CN_DIGITS = "零〇一二两三四五六七八九十"
_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
_FULLWIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")

# heading and item markers as written (standard and non-standard forms)
_L1 = re.compile(rf"^([{CN_DIGITS}]+)、")
_L2 = re.compile(rf"^([（(])([{CN_DIGITS}]+)([）)])(、?)")
_L3 = re.compile(r"^(\d{1,2})([.．、])(?!\d)")
_L4 = re.compile(r"^([（(])(\d{1,2})([）)])")
_ITEM = re.compile(rf"(?:^|(?<=[。；;：:！？!?，,\s]))([{CN_DIGITS}]{{1,3}})是(?=[^是])")
_SOURCE_MARK = re.compile(r"\[\d{1,3}\](?:\[\d{1,3}\])*")
_MD_PREFIX = re.compile(r"^(?:#{1,6}\s*|>\s+|[-*+]\s+)")
_SENTENCE_END = "。！？；!?;"
_CJK = re.compile(r"[\u4e00-\u9fff]")

_LEFTOVERS: list[tuple[str, re.Pattern[str]]] = [
    ("占位符 X/XX", re.compile(r"(?<![A-Za-z])(?:[XＸ]+|×{2,})(?![A-Za-z])")),
    ("星号 *", re.compile(r"\*+")),
    ("某某", re.compile(r"某某")),
    ("模板语法 {{ }} / {% %}", re.compile(r"\{\{|\}\}|\{%|%\}")),
    ("Markdown 标记", re.compile(r"^\s*(?:#{1,6}(?=\S|\s)|>\s|[-+]\s|```)", re.MULTILINE)),
    ("未填的空位", re.compile(r"【(?!待补：)[^】]{0,30}】|〔\s*〕|_{3,}|TODO|TBD|待填|待补充")),
]
_PLACEHOLDER = re.compile(r"【待补：[^】]*】")


# ------------------------------------------------------------------------------------------- text helpers
def clean_line(line: str) -> str:
    """A line without indentation, Markdown markers, bold markers around it or ``[n]`` source marks."""
    line = _SOURCE_MARK.sub("", line).strip().strip("\u3000").strip()
    line = _MD_PREFIX.sub("", line)
    if line.startswith("**") and "**" in line[2:]:
        line = line.replace("**", "", 2)
    return line.strip()


def chars(text: str) -> str:
    """Only the letters, digits and Chinese characters of ``text`` (punctuation and spaces dropped)."""
    return "".join(c for c in text if c.isalnum())


def ngrams(text: str, n: int) -> list[str]:
    return [text[i : i + n] for i in range(len(text) - n + 1)]


def bigrams(text: str) -> set[str]:
    return set(ngrams(chars(text), 2))


def share_in(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def split_sentences(text: str, colon: bool = False) -> list[str]:
    """Sentences (ending in 。！？；, and also ：when ``colon``), one line never spanning two."""
    ends = _SENTENCE_END + ("：:" if colon else "")
    out = []
    for line in text.splitlines():
        for piece in re.split(rf"(?<=[{ends}])", line):
            if piece.strip():
                out.append(piece.strip())
    return out


@dataclass
class _Text:
    """The draft's lines split into front matter (title, subtitle) and body."""

    front: list[str]
    body: list[str]  # cleaned, non-empty lines

    @property
    def body_text(self) -> str:
        return "\n".join(self.body)


def _is_heading_line(line: str) -> bool:
    return bool(_L1.match(line) or _L2.match(line) or _L3.match(line) or _L4.match(line))


def split_text(text: str, markdown: bool = True) -> _Text:
    """Clean ``text`` line by line and set the title lines apart.

    Leading short lines without sentence punctuation (a title, a speaker or unit line) are front matter.
    """
    lines = [
        clean_line(line) if markdown else _SOURCE_MARK.sub("", line).strip().strip("\u3000").strip()
        for line in text.splitlines()
    ]
    lines = [line for line in lines if line]
    front = []
    for line in lines:
        if len(front) >= 3 or len(line) > 60 or _is_heading_line(line):
            break
        if line[-1] in "。！？；：:!?;，," or re.search(r"[。：:]", line):
            break
        front.append(line)
    if len(front) == len(lines):  # a text with no sentence at all: nothing is a title
        front = []
    return _Text(front=front, body=lines[len(front) :])


# ------------------------------------------------------------------------------------------ input handling
@dataclass
class _Input:
    text: str
    draft: Draft | None
    request: DraftRequest | None
    passages: list[tuple[str, str]]  # (label, text)


def _passage_list(passages: Any) -> list[tuple[str, str]]:
    out = []
    for i, p in enumerate(passages or []):
        if isinstance(p, Passage):
            out.append((f"{p.chunk.title} {p.chunk.heading_path}".strip(), p.chunk.text))
        elif isinstance(p, str):
            out.append((f"段落{i + 1}", p))
        elif hasattr(p, "text"):  # records.Source, records.Chunk
            label = f"[{getattr(p, 'number', i + 1)}] {getattr(p, 'title', '')}".strip()
            out.append((label, p.text))
        elif isinstance(p, dict) and "text" in p:
            out.append((str(p.get("title") or f"段落{i + 1}"), str(p["text"])))
    return [(label, text) for label, text in out if text]


def _input(draft_or_text: Draft | str, request: DraftRequest | None, passages: Any) -> _Input:
    if isinstance(draft_or_text, Draft):
        draft = draft_or_text
        found = _passage_list(passages) if passages is not None else _passage_list(draft.sources)
        text = draft.text
        if draft.title and not text.lstrip().startswith(draft.title):
            text = "\n".join(x for x in (draft.title, draft.subtitle, text) if x)
        return _Input(text, draft, request or draft.request, found)
    return _Input(str(draft_or_text), None, request, _passage_list(passages))
