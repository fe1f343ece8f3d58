"""Wrong formulations (提法), dated campaigns and known typos, from ``prompts/tifa.yaml``.

The list is data a writer can extend: one regular expression per wrong form with what to write instead.
A dated entry (a past congress or campaign stated as current) only applies to documents of its
``year_from`` or later, so a 2021 text that studies 十九大精神 is not wrong. The trade-off: patterns catch
the forms someone wrote down, not every paraphrase; the model path's prompt carries the same list so a
model is told the forms before it writes.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import InputError

KINDS = ("tifa", "typo", "dated")
KIND_LABELS = {"tifa": "提法有误", "typo": "错字或残缺", "dated": "过时表述"}


@dataclass(frozen=True)
class Entry:
    kind: str
    pattern: re.Pattern[str]
    right: str
    note: str
    year_from: int | None = None


@dataclass(frozen=True)
class Hit:
    wrong: str  # the text as found
    right: str
    kind: str
    start: int
    end: int
    note: str

    @property
    def label(self) -> str:
        return f"{KIND_LABELS.get(self.kind, self.kind)}：“{self.wrong}”应为“{self.right}”（{self.note}）"

    def to_dict(self) -> dict[str, object]:
        return {
            "wrong": self.wrong,
            "right": self.right,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "note": self.note,
        }


def default_path() -> Path:
    from ..settings import PROJECT_ROOT

    return PROJECT_ROOT / "prompts" / "tifa.yaml"


@lru_cache(maxsize=8)
def _load(path: str, stamp: int) -> tuple[Entry, ...]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"提法清单 {path} 无法读取：{exc}") from exc
    if not isinstance(data, list):
        raise InputError(f"提法清单 {path} 应为条目列表（每条含 pattern、right、kind、note）。")
    entries = []
    for i, raw in enumerate(data, 1):
        if not isinstance(raw, dict) or not raw.get("pattern") or raw.get("kind") not in KINDS:
            raise InputError(f"提法清单 {path} 第 {i} 条有误：须有 pattern，kind 为 {'/'.join(KINDS)}。")
        try:
            pattern = re.compile(str(raw["pattern"]))
        except re.error as exc:
            raise InputError(f"提法清单 {path} 第 {i} 条的 pattern 不是有效的正则表达式：{exc}") from exc
        year = raw.get("year_from")
        entries.append(
            Entry(str(raw["kind"]), pattern, str(raw.get("right", "")), str(raw.get("note", "")), year)
        )
    return tuple(entries)


def entries(path: Path | None = None) -> tuple[Entry, ...]:
    """The list's entries (cached until the file changes)."""
    path = Path(path or default_path())
    if not path.is_file():
        return ()
    return _load(str(path), path.stat().st_mtime_ns)


def find(text: str, year: int | None = None, path: Path | None = None) -> list[Hit]:
    """Every wrong form in ``text``, in order. ``year`` is the document's year (default: this year)."""
    year = year or datetime.date.today().year
    hits: list[Hit] = []
    for entry in entries(path):
        if entry.year_from and year < entry.year_from:
            continue
        for m in entry.pattern.finditer(text):
            if m.group(0):
                hits.append(Hit(m.group(0), entry.right, entry.kind, m.start(), m.end(), entry.note))
    hits.sort(key=lambda h: (h.start, -h.end))
    out: list[Hit] = []
    for hit in hits:  # one hit per place: the longest match starting there wins
        if not out or hit.start >= out[-1].end:
            out.append(hit)
    return out


_YEAR_RE = re.compile(r"(20[0-4]\d)\s*年")


def document_year(text: str, title: str = "") -> int | None:
    """The year a document is for: the latest year named in its title, else in its first lines."""
    for where in (title, text[:300]):
        years = [int(y) for y in _YEAR_RE.findall(where or "")]
        if years:
            return max(years)
    return None


def banned_forms(path: Path | None = None) -> list[tuple[str, str, str]]:
    """(wrong form as a reader would recognise it, right form, note) for a model's prompt."""
    out = []
    for entry in entries(path):
        shown = entry.pattern.pattern
        shown = re.sub(r"\(\?[<!=][^)]*\)", "", shown)  # look-arounds say nothing to a reader
        shown = re.sub(r"\[[^\]]*\][?*+]?|[()?*+\\]", "", shown).split("|")[0]
        out.append((shown, entry.right, entry.note))
    return out
