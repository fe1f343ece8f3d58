"""Words of a Chinese text, and which of them are distinctive.

A sentence is about a point when it shares a *distinctive* word with it: 安全生产 or 隐患 say what a sentence
is about, 责任/落实/加强 do not. Distinctiveness is learned, not listed: a word is common when it appears in
many paragraphs of the reference text — the public collection of 政府工作报告 (shipped under
``corpus-public/``) plus the writer's own corpus when the index is at hand. A writer whose whole corpus is
about 党建 therefore finds 党建 common: sharing it proves nothing about a point on 党建引领安全生产.
Words are jieba's (exact mode) plus two-word terms learned from the reference where jieba splits them
(安全 生产 → 安全生产, 三会 一课 → 三会一课). The cost: the first call cuts the reference text once
(about two seconds).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[A-Za-z]{3,}")
COMMON_SHARE = 0.10  # a word in more than this share of reference paragraphs is common
OWN_COMMON_SHARE = 0.25  # …or in more than this share of the writer's own corpus paragraphs
# Function words and 公文 scaffolding that jieba keeps as words but that never say what a text is about.
# (The learned share decides the rest; these are here because a short reference can miss them.)
# the emptiest general words: not even the object of a point's verb once nothing else is left (工作 in 抓好工作)
EMPTY_WORDS = frozenset(
    [
        "工作",
        "方面",
        "情况",
        "问题",
        "各项",
        "有关",
        "相关",
        "主要",
        "重要",
        "一个",
        "一些",
        "进一步",
        "以及",
        "通过",
        "进行",
        "我们",
        "今年",
        "当前",
        "目前",
    ]
)
_ALWAYS_COMMON = EMPTY_WORDS | frozenset(
    [
        "他们",
        "你们",
        "各位",
        "同志",
        "同志们",
        "一是",
        "二是",
        "三是",
        "四是",
        "五是",
        "六是",
        "开展",
        "做好",
        "加强",
        "推进",
        "推动",
        "落实",
        "坚持",
        "持续",
        "不断",
        "着力",
        "切实",
        "扎实",
        "全面",
        "深入",
        "有效",
        "积极",
        "认真",
        "去年",
        "明年",
        "以来",
        "今后",
        "下一步",
        "同时",
        "此外",
        "特别",
        "尤其",
        "要求",
        "任务",
        "措施",
        "举措",
        "机制",
        "制度",
        "体系",
        "能力",
        "水平",
        "质量",
        "效率",
        "成效",
        "作用",
        "意识",
        "责任",
        "目标",
        "方向",
        "基础",
        "提高",
        "提升",
        "强化",
        "完善",
        "健全",
        "建立",
        "实施",
        "组织",
        "单位",
        "部门",
        "领导",
        "干部",
        "全县",
        "全市",
        "全区",
        "全省",
        "全国",
        "领域",
        "重点",
        "管理",
        "取得",
        "形成",
        "确保",
        "努力",
        "不断",
        "更加",
        "充分",
        "发挥",
        "围绕",
        "结合",
        "注重",
        "抓好",
        "抓实",
        "狠抓",
        "统筹",
        "规范",
        "保障",
        "务实",
        "高质量",
        "新局面",
        "新时代",
        "新征程",
        "同时",
        "一体",
        "一批",
        "一系列",
        "一定",
        "部分",
        "存在",
        "还有",
        "已经",
    ]
)
ALWAYS_COMMON = _ALWAYS_COMMON  # general language: never evidence of what a sentence is about


def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


_PHRASES: set[str] = set()  # two-word terms learned from the reference (安全 生产 → 安全生产)
_VERSION = [0]  # bumped when phrases are learned, so cached cuts are redone


# jieba's HMM (Viterbi) copies its path per character: quadratic on a long run of characters it does not
# know (150,000 times 党 took 80 s at ingest). Runs this long are cut in slices first; text with punctuation
# has no such runs, so its words are unchanged.
_RUN = 200
_LONG_RUN = re.compile(rf"[\u4e00-\u9fff]{{{_RUN},}}")


def _cut(text: str) -> list[str]:
    text = text or ""
    jieba = _jieba()
    pieces: list[str] = []
    at = 0
    for m in _LONG_RUN.finditer(text):
        pieces.append(text[at : m.start()])
        pieces += [text[k : min(k + _RUN, m.end())] for k in range(m.start(), m.end(), _RUN)]
        at = m.end()
    pieces.append(text[at:])
    return [w for piece in pieces if piece for w in jieba.lcut(piece) if w.strip()]


def learn_phrases(texts: Iterable[str], min_count: int = 3, cohesion: float = 0.25) -> int:
    """Learn two-word terms jieba splits (安全 生产, 三会 一课) from ``texts``: adjacent pairs seen at least
    ``min_count`` times that make up at least ``cohesion`` of the rarer word's uses. Returns how many."""
    pairs: Counter[tuple[str, str]] = Counter()
    single: Counter[str] = Counter()
    for text in texts:
        cut = _cut(text)
        single.update(cut)
        pairs.update(zip(cut, cut[1:], strict=False))
    new = {
        a + b
        for (a, b), n in pairs.items()
        if n >= min_count
        and len(a) >= 2
        and len(b) >= 2
        and _CJK_WORD.fullmatch(a + b)
        and n / min(single[a], single[b]) >= cohesion
        and a + b not in _PHRASES
    }
    if new:
        _PHRASES.update(new)
        _VERSION[0] += 1
    return len(new)


def words(text: str) -> tuple[str, ...]:
    """Content words of ``text``: jieba's words of two or more Chinese characters (or 3+ Latin letters),
    plus learned two-word terms (安全 生产 → 安全生产), in order, without repeats."""
    return _words(text or "", _VERSION[0])


@lru_cache(maxsize=8192)
def _words(text: str, version: int) -> tuple[str, ...]:
    cut = _cut(text)
    out: list[str] = []
    for i, w in enumerate(cut):
        if i + 1 < len(cut) and w + cut[i + 1] in _PHRASES:
            out.append(w + cut[i + 1])
        if _CJK_WORD.fullmatch(w):
            out.append(w)
    return tuple(dict.fromkeys(out))


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text) if len(p.strip()) >= 20]


class WordStats:
    """Paragraph frequencies of words over a reference text; ``common(word)`` and ``weight(word)``."""

    def __init__(self, paras: Iterable[str]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        self.own: WordStats | None = None  # the writer's corpus, when merged in (``reference_stats``)
        self.sets: list[frozenset[str]] = []  # each paragraph's words, for associations
        for para in paras:
            self.n += 1
            found = frozenset(words(para))
            self.sets.append(found)
            self.df.update(found)

    def share(self, word: str) -> float:
        return self.df.get(word, 0) / self.n if self.n else 0.0

    def common(self, word: str) -> bool:
        """General language (in many reference paragraphs), or everywhere in the writer's own corpus (党建
        in a party-building corpus): sharing it says nothing about what a sentence is about."""
        if word in _ALWAYS_COMMON or self.share(word) > COMMON_SHARE:
            return True
        return self.own is not None and self.own.share(word) > OWN_COMMON_SHARE

    def weight(self, word: str) -> float:
        """Inverse paragraph frequency (1 for a word never seen)."""
        return math.log((self.n + 1) / (self.df.get(word, 0) + 1)) + 1.0


def public_dir() -> Path:
    from ..settings import PROJECT_ROOT

    return PROJECT_ROOT / "corpus-public"


@lru_cache(maxsize=2)
def _public_stats(folder: str, stamp: tuple) -> WordStats:
    paras: list[str] = []
    for path in sorted(Path(folder).glob("*.txt")):
        paras += paragraphs(path.read_text(encoding="utf-8"))
    learn_phrases(paras)
    return WordStats(paras)


def public_stats(folder: Path | None = None) -> WordStats:
    folder = Path(folder or public_dir())
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    return _public_stats(str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in files))


_CORPUS_STATS: dict[str, WordStats] = {}


def reference_stats(corpus_texts: Iterable[str] | None = None, key: str = "") -> WordStats:
    """The public collection's stats, merged with the writer's corpus (``corpus_texts``) when given.
    ``key`` caches the merge (e.g. the index's manifest generation)."""
    base = public_stats()
    if corpus_texts is None:
        return base
    if key and key in _CORPUS_STATS:
        return _CORPUS_STATS[key]
    paras = [p for text in corpus_texts for p in paragraphs(text)]
    learn_phrases(paras, min_count=2)
    stats = WordStats([])
    stats.df, stats.n, stats.sets = base.df, base.n, base.sets
    stats.own = WordStats(paras)
    if key:
        _CORPUS_STATS.clear()
        _CORPUS_STATS[key] = stats
    return stats


def associated(query: Iterable[str], stats: WordStats, lift: float = 4.0, limit: int = 80) -> list[str]:
    """Words that go with ``query`` in the reference: frequent in the paragraphs naming a query word,
    rare elsewhere (安全生产 → 事故, 隐患, 监管; 党建 → 党员, 支部, 三会一课). The topic's own vocabulary, so a
    sentence about it is recognised though it repeats none of the topic's words."""
    query = set(query)
    out: Counter[str] = Counter()
    for source in (stats, stats.own):
        if source is None or not source.sets:
            continue
        hits = [p for p in source.sets if any(q in p or any(q in w for w in p) for q in query)]
        if not hits:
            continue
        inside: Counter[str] = Counter()
        for para in hits:
            inside.update(para)
        for word, count in inside.items():
            if count < 2 or word in _ALWAYS_COMMON or stats.common(word):
                continue
            ratio = (count / len(hits)) / (source.df.get(word, 0) / source.n)
            if ratio >= lift:
                out[word] = max(out[word], count)
    return [w for w, _ in out.most_common(limit)]


def distinctive(text: str, stats: WordStats | None = None, at_least: int = 0) -> list[str]:
    """The words of ``text`` that say what it is about (not common in the reference). With ``at_least``,
    a text whose words are all fairly common (党员教育管理) still yields its rarest ones, so a key point
    always has words a sentence about it must share."""
    stats = stats or public_stats()
    found = [w for w in words(text) if not stats.common(w)]
    if len(found) < at_least:
        rest = sorted(
            (w for w in words(text) if w not in found and w not in _ALWAYS_COMMON),
            key=lambda w: (stats.share(w) + (stats.own.share(w) if stats.own else 0.0), w),
        )
        found += rest[: at_least - len(found)]
    return found


def shared(a: Iterable[str], text: str) -> list[str]:
    """Words of ``a`` that occur in ``text`` (as substrings: jieba may cut the same term differently)."""
    return [w for w in a if w and w in text]
