"""Is a sentence clean enough to reach a draft? Redaction marks, placeholders, scraping gaps and known typos.

Real corpus texts were redacted (``**书记``, ``X个``, ``×校长``), lost figures when they were scraped
(``共召开民主生活会次``), carry scraper markers (``##paidbegin##``) and copied typos (``重业务轻的思想``).
Ingest reports them per document (``document_warnings``) and the generators never use a sentence that
carries one (``sentence_issues``). Rules, not a model: a rule that is too eager costs a sentence the
composer could have used; one too lax puts another document's blank into the writer's text, which is worse.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import tifa

REDACTION_RE = re.compile(
    r"\*|＊|某某|□|■|(?<![A-Za-z])[XＸxｘ]{1,3}(?![A-Za-z])|×|✕"
    r"|(?<![一二三四五六七八九零〇])〇〇(?![〇一二三四五六七八九零])"
)
MARKER_RE = re.compile(r"##\w+##")
# a figure the scraper removed: a verb or noun directly followed by a measure word (共召开民主生活会次)
GAP_RE = re.compile(
    r"月号|(?:共|先后|累计|达|资金|基金|提出|列出|慰问|建议|会|活动|服务|党员|干部|帮扶)"
    r"(?:次(?![序要数])|名(?![称单义额])|项(?![目])|元(?![素旦])|条(?![件例款])|场次|人次|万元|余)"
    r"|[，、；：]{2,}|（\s*）|“\s*”"
)
KIND_LABELS = {
    "redaction": "脱敏或占位标记",
    "marker": "抓取残留标记",
    "gap": "疑似抓取残缺",
    **tifa.KIND_LABELS,
}


def sentence_issues(sentence: str, year: int | None = None, tifa_path: Path | None = None) -> list[str]:
    """Chinese labels of what makes ``sentence`` unusable in a draft; [] when it is clean."""
    issues = []
    if m := REDACTION_RE.search(sentence):
        issues.append(f"{KIND_LABELS['redaction']}“{m.group(0)}”")
    if m := MARKER_RE.search(sentence):
        issues.append(f"{KIND_LABELS['marker']}“{m.group(0)}”")
    if m := GAP_RE.search(sentence):
        issues.append(f"{KIND_LABELS['gap']}“{sentence[max(0, m.start() - 4) : m.end() + 2]}”")
    issues += [hit.label for hit in tifa.find(sentence, year, tifa_path)]
    return issues


def _context(text: str, start: int, end: int, width: int = 12) -> str:
    return text[max(0, start - width) : end + width].replace("\n", " ")


def document_warnings(
    text: str, year: int | None = None, title: str = "", tifa_path: Path | None = None
) -> list[dict[str, str]]:
    """Every place in a corpus document a writer should know about before its text is reused: one dict per
    place with ``kind`` (redaction, marker, gap, tifa, typo, dated), ``label`` (Chinese), ``text`` (as
    found) and ``context``. ``year`` defaults to the year the document names in its title or first lines."""
    year = year or tifa.document_year(text, title)
    found: list[tuple[int, dict[str, str]]] = []
    for kind, pattern in (("redaction", REDACTION_RE), ("marker", MARKER_RE), ("gap", GAP_RE)):
        for m in pattern.finditer(text):
            found.append(
                (
                    m.start(),
                    {
                        "kind": kind,
                        "label": KIND_LABELS[kind],
                        "text": m.group(0),
                        "context": _context(text, m.start(), m.end()),
                    },
                )
            )
    # with no year known, dated entries cannot be judged (year 1 is before every year_from); the rest apply
    for hit in tifa.find(text, year or 1, tifa_path):
        found.append(
            (
                hit.start,
                {
                    "kind": hit.kind,
                    "label": hit.label,
                    "text": hit.wrong,
                    "context": _context(text, hit.start, hit.end),
                },
            )
        )
    return [w for _, w in sorted(found, key=lambda x: x[0])]
