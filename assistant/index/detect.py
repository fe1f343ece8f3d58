"""Document type detection that reads a document as a writer does: title, subtitle, speaker and date lines,
salutation, opening and closing formulas, signature, person, headings, then the body.

``read(text)`` splits a document into those zones once; each type schema's ``detect`` table names regular
expressions per zone with a weight (``prompts/types/<type>/schema.yaml``; the zones are listed in
``doctypes.DETECT_ZONES``), so every detection word is data and a type added as a folder is detected without
code. A zone's pattern counts once (``headings``, ``body`` and ``person`` count each match, up to a cap), a
negative weight counts against the type. The title carries the most weight, and its *head noun* the most of
all: ``…述职会上的讲话`` is a speech, ``…年度述职述廉报告`` a duty report, ``…动员会上的表态发言`` a work
report, which is why title patterns anchor the genre word at the end of a line (``讲话$``).

Confidence is a softmax over the type scores with a "none of them" score beside them: with one weak cue, or
two types tied, it stays low, and a document whose best confidence is below the index's threshold is kept as
未识别 with its two likeliest types shown. ``TEMPERATURE`` and ``NONE_SCORE`` were chosen on the development
half of the labelled set (``tests/data/detection``) so that the confidence reads as a probability of being
right (see ``scripts/detection_report.py``, which prints the calibration table); they were never fitted on
the held-out half.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import doctypes
from . import structure

TEMPERATURE = 2.0  # score points per factor e in the odds (fitted on the development half)
NONE_SCORE = 6.0  # the score of "none of the types" (fitted on the development half and the none set)
CAPS = {"headings": 2, "body": 2, "person": 3, "shape": 1}  # most matches counted per pattern, by zone

_DATE = re.compile(
    r"^[（(]?(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*年\s*[\d一二三四五六七八九十]{1,2}\s*月"
    r"(?:\s*[\d一二三四五六七八九十]{1,3}\s*日)?[）)]?$"
)
_SUBTITLE = re.compile(r"^(?:——|—|－－|--|──)")
_SENTENCE = re.compile(r"[。！？；]")
_SIGNATURE_MAX = 30
_OPENING_CHARS = 300
_CLOSING_CHARS = 240


@dataclass
class Reading:
    """A document's zones as a writer reads them (normalised punctuation: ``(一)`` → ``（一）``)."""

    title: str = ""  # title lines, one a line (a two-line title stays two lines)
    subtitle: str = ""  # —— lines under the title (——在…上的讲话)
    speaker: str = ""  # speaker, unit and date lines under the title
    salutation: str = ""
    opening: str = ""  # the first body paragraphs, up to about 300 characters
    closing: str = ""  # the last body paragraphs, up to about 240 characters
    signature: str = ""  # trailing name, unit and date lines
    headings: list[str] = field(default_factory=list)  # numbered headings and topic sentences
    body: str = ""  # every line
    topics: int = 0  # work-report topic-sentence paragraphs

    def zone(self, name: str) -> str | list[str]:
        if name == "title":
            return "\n".join(x for x in (self.title, self.subtitle) if x)
        if name == "person":
            return self.body
        return getattr(self, name, "")


def _title_like(norm: str) -> bool:
    return (
        0 < len(norm) <= 60
        and not _SENTENCE.search(norm)
        and not norm.endswith(("：", "，"))
        and not structure._number(norm)
        and not structure._ITEM.match(norm)
    )


def read(text: str) -> Reading:
    """The zones of ``text`` (one paragraph a line, as the loaders produce)."""
    lines = [line.norm for line in structure._lines(text)]
    reading = Reading(body="\n".join(lines))
    i = 0
    titles: list[str] = []
    while i < len(lines) and i < 6 and _title_like(lines[i]) and not structure._SALUTATION.match(lines[i]):
        line = lines[i]
        if _SUBTITLE.match(line):
            reading.subtitle += ("\n" if reading.subtitle else "") + line
        elif _DATE.match(line) or (titles and len(line) <= 20 and not _genre_word(line)):
            reading.speaker += ("\n" if reading.speaker else "") + line
        elif titles and len(line) <= 3 and not reading.subtitle and not reading.speaker:
            titles[-1] += line  # a title split over two lines (政府工作报 / 告)
        else:
            titles.append(line)
        i += 1
    reading.title = "\n".join(titles)
    for j in range(i, min(i + 2, len(lines))):
        if structure._SALUTATION.match(lines[j]) and "如下" not in lines[j]:
            reading.salutation = lines[j]
            i = j + 1
            break
    end = len(lines)
    while (
        end - 1 > i
        and len(lines) - end < 4
        and len(lines[end - 1]) <= _SIGNATURE_MAX
        and not _SENTENCE.search(lines[end - 1])
        and not lines[end - 1].endswith("：")
    ):
        end -= 1
    reading.signature = "\n".join(lines[end:])
    body = lines[i:end]
    reading.opening = _take(body, _OPENING_CHARS)
    reading.closing = "\n".join(reversed(_take(list(reversed(lines[i:])), _CLOSING_CHARS).split("\n")))
    for line in body:
        if structure._number(line):
            cut = structure._sentence_end(line)
            reading.headings.append(line[: cut if cut > 0 else len(line)])
        elif not structure._ITEM.match(line) and structure._topic_end(line) > 0:
            reading.topics += 1
            reading.headings.append(line[: structure._topic_end(line)])
    return reading


def _take(lines: list[str], chars: int) -> str:
    out: list[str] = []
    total = 0
    for line in lines:
        if total >= chars:
            break
        out.append(line[: chars - total] if len(line) > chars - total and out else line)
        total += len(line)
    return "\n".join(out)


_GENRE = re.compile(r"(讲话|致辞|报告|汇报|发言|总结|述职|方案|意见|通知|纪要|材料|稿)$")


def _genre_word(line: str) -> bool:
    return bool(_GENRE.search(line))


# --- scoring -----------------------------------------------------------------------------------------------


def _compiled(doctype: doctypes.DocType) -> list[tuple[str, re.Pattern[str], float]]:
    out = []
    for zone, table in doctype.detect_zones.items():
        for pattern, weight in table.items():
            out.append((zone, _pattern(pattern), weight))
    for word, weight in doctype.detect.items():  # the flat table: body words
        out.append(("body", _pattern(word), float(weight)))
    return out


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(source: str) -> re.Pattern[str]:
    if source not in _PATTERNS:
        _PATTERNS[source] = re.compile(source, re.MULTILINE)
    return _PATTERNS[source]


def _count(zone: str, pattern: re.Pattern[str], reading: Reading) -> int:
    if zone == "shape":
        return min(reading.topics, 3) if pattern.pattern == "topics" else 0
    value = reading.zone(zone)
    cap = CAPS.get(zone, 1)
    if isinstance(value, list):
        return min(cap, sum(1 for line in value if pattern.search(line)))
    if cap == 1:
        return 1 if value and pattern.search(value) else 0
    hits = 0
    for _ in pattern.finditer(value):
        hits += 1
        if hits >= cap:
            break
    return hits


def scores(reading: Reading, types: dict[str, doctypes.DocType]) -> dict[str, float]:
    """Each type's evidence score for ``reading``."""
    out: dict[str, float] = {}
    for name, doctype in types.items():
        total = 0.0
        for zone, pattern, weight in _compiled(doctype):
            hits = _count(zone, pattern, reading)
            total += weight * hits
        out[name] = total
    return out


def _rank(found: dict[str, float]) -> list[tuple[str, float]]:
    top = max([NONE_SCORE, *found.values()])
    weights = {name: math.exp((score - top) / TEMPERATURE) for name, score in found.items()}
    total = sum(weights.values()) + math.exp((NONE_SCORE - top) / TEMPERATURE)
    ranked = sorted(((name, w / total) for name, w in weights.items()), key=lambda kv: (-kv[1], kv[0]))
    return [(name, round(min(p, 0.999), 3)) for name, p in ranked]  # a detection is never certain


def rank(text: str, types: dict[str, doctypes.DocType]) -> list[tuple[str, float]]:
    """Every type with its calibrated confidence, most likely first (ties by name)."""
    return _rank(scores(read(text), types))


def detect_type(
    text: str, types: dict[str, doctypes.DocType] | None = None, prompts_dir: Path | None = None
) -> tuple[str, float]:
    """The most likely type of ``text`` and its confidence in 0..1 (0 when nothing matched)."""
    types = types if types is not None else structure._doctypes(prompts_dir)
    found = scores(read(text), types)
    name, confidence = _rank(found)[0]
    return (name, confidence) if max(found.values()) > 0 else (name, 0.0)
