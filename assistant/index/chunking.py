"""Structure-aware, token-sized chunks of a parsed document.

Chunks follow the section tree rather than a fixed window: a section that fits the token budget is one chunk
(so a retrieved passage is a whole ``（一）…`` point with its heading path and role); a bigger one is split
into its heading text and its children, and adjacent small siblings of the same role are packed back
together; only a leaf that is still too big is cut, at Chinese sentence ends (。！？；), with a small
overlap of whole sentences. Chunks never span two top-level sections, so a passage never mixes, say, the
problems with the measures. Every chunk is an exact slice ``document.text[start:end]``, so the UI can show
it in context and the ids (a hash of doc id, heading path and text) are stable across runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..records import Chunk, ParsedDocument, Section
from ..tokens import count_tokens

_ENDS = "。！？；!?;\n"
_CLAUSES = "，、：,:"
HARD_SPLIT = 400  # characters of a "sentence" without a sentence end before it is cut
_CLOSERS = "”’」』）》\"'"
PATH_SEPARATOR = " / "
CHUNKER_VERSION = 2  # 2: sentences without an end cut at HARD_SPLIT characters


@dataclass
class _Unit:
    start: int
    end: int
    path: tuple[str, ...]
    role: str
    whole: bool = True  # a complete section (or its heading text): may be packed with its siblings


def chunk_id(doc_id: str, heading_path: str, text: str) -> str:
    """First 32 hex digits of sha256 over doc id, heading path and text (newline-separated)."""
    return hashlib.sha256(f"{doc_id}\n{heading_path}\n{text}".encode()).hexdigest()[:32]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _units(section: Section, trail: tuple[str, ...], text: str, max_tokens: int) -> list[_Unit]:
    path = (*trail, section.heading) if section.heading else trail
    if not section.children or count_tokens(text[section.start : section.end]) <= max_tokens:
        return [_Unit(section.start, section.end, path, section.role)]
    units: list[_Unit] = []
    cursor = section.start
    for child in section.children:
        gap = _trim(text, cursor, child.start)
        if gap[1] > gap[0]:
            units.append(_Unit(gap[0], gap[1], path, section.role))
        child_units = _units(child, path, text, max_tokens)
        if len(child_units) > 1:  # pieces of a split child are not packed with its siblings
            for unit in child_units:
                unit.whole = False
        bare_heading = not section.body and child is section.children[0] and child.role == section.role
        if bare_heading and units and units[-1].start == section.start:
            # a bare heading line opens its first child's passage instead of standing alone
            child_units[0].start = units.pop().start
        units.extend(child_units)
        cursor = child.end
    tail = _trim(text, cursor, section.end)
    if tail[1] > tail[0]:
        units.append(_Unit(tail[0], tail[1], path, section.role))
    return _pack(units, text, max_tokens)


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _pack(units: list[_Unit], text: str, max_tokens: int) -> list[_Unit]:
    """Merge runs of adjacent whole units of one role while the merged slice fits the budget."""
    out: list[_Unit] = []
    for unit in units:
        last = out[-1] if out else None
        if (
            last is not None
            and last.whole
            and unit.whole
            and last.role == unit.role
            and count_tokens(text[last.start : unit.end]) <= max_tokens
        ):
            out[-1] = _Unit(last.start, unit.end, _common(last.path, unit.path), unit.role)
        else:
            out.append(unit)
    return out


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``; a "sentence" longer than ``HARD_SPLIT`` characters (text without
    punctuation) is cut at its last clause mark within that length, else at the length, so every later step
    works on bounded pieces and chunking stays linear in the text's length."""
    spans = []
    i = start
    while i < end:
        i, _ = _trim(text, i, end)
        if i >= end:
            break
        j = i
        limit = min(end, i + HARD_SPLIT)
        while j < limit and text[j] not in _ENDS:
            j += 1
        if j < end and j < limit and text[j] != "\n":
            j += 1
            while j < end and text[j] in _CLOSERS:
                j += 1
        elif j == limit < end:  # no sentence end within reach: cut at the last clause mark, else here
            mark = max(text.rfind(c, i + HARD_SPLIT // 2, limit) for c in _CLAUSES)
            j = mark + 1 if mark > 0 else limit
        spans.append(_trim(text, i, j))
        i = j
    return [s for s in spans if s[1] > s[0]]


def _longest(text: str, start: int, end: int, budget: int) -> int:
    """The largest stop in (start, end] with ``text[start:stop]`` within ``budget`` tokens (at least one
    character)."""
    lo, hi = start + 1, end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[start:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fit(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of about equal size that fit, at clause marks where
    possible."""
    total = count_tokens(text[start:end])
    if total <= max_tokens:
        return [(start, end)]
    target = min(max_tokens, -(-total // -(-total // max_tokens)) + 8)
    pieces: list[tuple[int, int]] = []
    at = start
    while at < end:
        if count_tokens(text[at:end]) <= max_tokens:
            pieces.append((at, end))
            break
        stop = _longest(text, at, end, target)
        marks = [k + 1 for k in range(at + 1, stop) if text[k] in _CLAUSES]
        if marks and marks[-1] - at > (stop - at) // 2:
            stop = marks[-1]
        pieces.append((at, stop))
        at = stop
    return pieces


def _split(unit: _Unit, text: str, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Sentence-aligned spans of about equal size within ``max_tokens``, each repeating the last whole
    sentences of the one before (up to ``overlap_tokens``)."""
    sentences: list[tuple[int, int]] = []
    for s, e in _sentences(text, unit.start, unit.end):
        sentences.extend(_fit(text, s, e, max_tokens))
    total = count_tokens(text[unit.start : unit.end])
    parts = -(-total // max(1, max_tokens - overlap_tokens))
    target = min(max_tokens, total // max(1, parts) + overlap_tokens)
    spans: list[tuple[int, int]] = []
    i, n = 0, len(sentences)
    while i < n:
        j = i
        while (
            j + 1 < n
            and count_tokens(text[sentences[i][0] : sentences[j][1]]) < target
            and count_tokens(text[sentences[i][0] : sentences[j + 1][1]]) <= max_tokens
        ):
            j += 1
        spans.append((sentences[i][0], sentences[j][1]))
        if j + 1 >= n:
            break
        k = j + 1
        while (
            k - 1 > i
            and count_tokens(text[sentences[k - 1][0] : sentences[j][1]]) <= overlap_tokens
            and count_tokens(text[sentences[k - 1][0] : sentences[j + 1][1]]) <= max_tokens
        ):
            k -= 1
        i = k
    return spans


def chunk_document(parsed: ParsedDocument, max_tokens: int = 320, overlap_tokens: int = 40) -> list[Chunk]:
    """Chunks of ``parsed`` in document order; each ``text == document.text[start:end]``."""
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    document = parsed.document
    text = document.text
    units: list[_Unit] = []
    for section in parsed.sections:
        if section.level == 0:
            last = units[-1] if units else None
            if last is not None and last.path == () and last.role == section.role and last.whole:
                last.end = section.end  # salutation + opening read as one passage
            else:
                units.append(_Unit(section.start, section.end, (), section.role))
            continue
        top = _units(section, (), text, max_tokens)
        for unit in top:
            unit.whole = False  # never merged across a top-level section
        units.extend(top)
    chunks: list[Chunk] = []
    for unit in units:
        start, end = _trim(text, unit.start, unit.end)
        if end <= start:
            continue
        if count_tokens(text[start:end]) <= max_tokens:
            spans = [(start, end)]
        else:
            spans = _split(_Unit(start, end, unit.path, unit.role), text, max_tokens, overlap_tokens)
        path = PATH_SEPARATOR.join(unit.path)
        for s, e in spans:
            body = text[s:e]
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(document.doc_id, path, body),
                    doc_id=document.doc_id,
                    title=document.title,
                    doc_type=parsed.doc_type,
                    heading_path=path,
                    role=unit.role,
                    position=len(chunks),
                    start=s,
                    end=e,
                    text=body,
                )
            )
    return chunks
