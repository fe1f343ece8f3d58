"""The writer's materials as facts: one sentence each, with the part of the document it belongs to and the
key point it is about.

A draft owes the writer their own facts first and in the right place: a survey's shortcoming is a problem,
not 基本情况; a duty report's figures go under the matching 履职 point. Roles are read with ordered patterns
from ``prompts/fact_roles.yaml`` (a cause or a plan before a problem, a problem before an achievement);
points by the distinctive words a fact shares with each point (``words``), ties broken by character
overlap. The trade-off: rules read the common cases right and never invent a reading; an odd sentence
gets the default role, and the writer can move it in the outline.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import InputError
from ..records import Fact
from . import words

FACT_ROLES = ("achievement", "problem", "cause", "plan", "background")
ROLE_LABELS = {
    "achievement": "成效做法",
    "problem": "问题不足",
    "cause": "原因",
    "plan": "打算措施",
    "background": "基本情况",
}
# which section roles a fact of each role may sit in, best first
SECTION_ROLES = {
    "achievement": ("achievements", "background"),
    "problem": ("problems",),
    "cause": ("causes", "problems"),
    "plan": ("measures", "requirements"),
    "background": ("background", "achievements", "opening"),
}
_SPLIT_RE = re.compile(r"(?<=[。！？；!?;])|\n+")
_BULLET_RE = re.compile(r"^\s*(?:[-*•·]|\d+[.、．)]|[（(]\d+[）)]|[一二三四五六七八九十]+[、是])\s*")


def default_path() -> Path:
    from ..settings import PROJECT_ROOT

    return PROJECT_ROOT / "prompts" / "fact_roles.yaml"


@lru_cache(maxsize=4)
def _rules(path: str, stamp: int) -> tuple[tuple[str, re.Pattern[str]], ...]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        return tuple((str(r["role"]), re.compile(str(r["pattern"]))) for r in data)
    except (OSError, yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise InputError(f"材料角色规则 {path} 有误：{exc}") from exc


def rules(path: Path | None = None) -> tuple[tuple[str, re.Pattern[str]], ...]:
    path = Path(path or default_path())
    return _rules(str(path), path.stat().st_mtime_ns) if path.is_file() else ()


def split(materials: list[str]) -> list[str]:
    """Fact sentences of the materials: sentence punctuation and line breaks split them; list bullets and
    numbering go; a fragment with no Chinese text is dropped."""
    out: list[str] = []
    for text in materials:
        for piece in _SPLIT_RE.split(text or ""):
            piece = _BULLET_RE.sub("", piece.strip()).strip()
            if re.search(r"[\u4e00-\u9fff]", piece) and len(piece) >= 4:
                if piece[-1] not in "。！？；!?;":
                    piece += "。"
                out.append(piece)
    return list(dict.fromkeys(out))


def role_of(sentence: str, path: Path | None = None) -> str:
    """The part of a document ``sentence`` belongs to (the first matching rule; see the data file)."""
    for role, pattern in rules(path):
        if pattern.search(sentence):
            return role
    return "achievement" if re.search(r"\d", sentence) else "background"


# the kind of key point (``draft.outline.point_role``) a fact of each role is about
POINT_KINDS = {
    "achievement": ("",),
    "background": ("",),
    "problem": ("problems",),
    "cause": ("causes", "problems"),
    "plan": ("measures",),
}


def point_of(
    sentence: str,
    points: list[str],
    stats: words.WordStats | None = None,
    role: str = "",
    kinds: dict[str, str] | None = None,
    embedder: object | None = None,
    topic: str = "",
) -> str:
    """The key point ``sentence`` is about: among the points of its role's kind (``kinds``: point -> "",
    "problems", "causes", "measures"; all points when none is of that kind), the one sharing the most
    distinctive words with it. The topic's words say nothing about which point a fact is on (防汛 is in
    every fact of a 防汛 speech), so they do not count. Without a shared word, or with a tie, the one
    nearest in meaning among them when an ``embedder`` is given, else "" (or the first of the tie).
    On the eval cases' labels (117 facts): words alone 40 %, kind + words + meaning 68 %, without the
    topic's words and with ties settled by meaning 71 %."""
    if kinds is not None and role in POINT_KINDS:
        fitting = [p for p in points if kinds.get(p, "") in POINT_KINDS[role]]
        points = fitting or points
    topic_words = [w for w in words.words(topic) if len(w) >= 2]
    scores: dict[str, float] = {}
    for point in points:
        own = [
            w
            for w in words.distinctive(point, stats, at_least=1)
            if not any(w in t or t in w for t in topic_words)
        ]
        hits = words.shared(own, sentence)
        if hits:
            scores[point] = sum(len(w) for w in hits) / max(1, sum(len(w) for w in own))
    top = max(scores.values(), default=0.0)
    tied = [p for p in points if scores.get(p) == top] if top else list(points)
    if len(tied) == 1 or (top and embedder is None):
        return tied[0]
    if embedder is None or not tied:
        return ""
    import numpy as np

    fact = np.asarray(embedder.embed_query(sentence))  # type: ignore[attr-defined]
    sims = [float(fact @ _point_vector(embedder, p)) for p in tied]
    return tied[int(np.argmax(sims))]


_POINT_VECTORS: dict[tuple[int, str], object] = {}


def _point_vector(embedder: object, point: str):
    """A key point's query vector, embedded once per embedder (every fact of a draft is compared with it)."""
    import numpy as np

    key = (id(embedder), point)
    if key not in _POINT_VECTORS:
        if len(_POINT_VECTORS) > 4096:
            _POINT_VECTORS.clear()
        _POINT_VECTORS[key] = np.asarray(embedder.embed_query(point))  # type: ignore[attr-defined]
    return _POINT_VECTORS[key]


def read_facts(
    materials: list[str],
    points: list[str],
    stats: words.WordStats | None = None,
    path: Path | None = None,
    kinds: dict[str, str] | None = None,
    embedder: object | None = None,
    topic: str = "",
) -> list[Fact]:
    """The materials as numbered facts with their role and point (unplaced: ``section`` is "")."""
    out = []
    for i, text in enumerate(split(materials), 1):
        role = role_of(text, path)
        out.append(Fact(i, text, role, point_of(text, points, stats, role, kinds, embedder, topic)))
    return out
