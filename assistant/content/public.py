"""The public reference collection: the State Council's 政府工作报告 2013–2025, shipped under ``corpus-public/``.

A writer's corpus is of their own sector; when it has nothing on a point (安全生产, 教育, 医疗, 生态, 乡村振兴…)
the composer may take current policy language from here — directive and measure sentences only (要…、加强、
推进、完善…), never a figure, never a national-scale claim (我国、全国、国务院…) as the writer's own, and
always after the writer's own corpus. The collection is read once per process into sentences with a word
index (no vector index: a point's distinctive words find the few candidates, and topicality judges those).
Sentences are cited like any other source (doc id ``public:<year>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import words

_DIRECTIVE_RE = re.compile(
    r"^(?:要|必须|坚持|加强|加快|推进|推动|完善|健全|强化|深化|落实|实施|开展|提升|提高|促进|扎实|着力|持续|"
    r"全面|深入|大力|积极|切实|严格|统筹|优化|强化|健全|构建|建立|规范|引导|支持|鼓励|做好|抓好|发展|保障|"
    r"巩固|防范|坚决|守住|筑牢|织密|压实)"
)
_FIGURE_RE = re.compile(r"[\d０-９]|[一二三四五六七八九十百千万亿]+(?:个|项|万|亿|%|倍|年|元|人|家|所|座)")
_SENT_RE = re.compile(r"[^。！？；]+[。！？；]")


@dataclass(frozen=True)
class PublicSentence:
    text: str
    year: str
    heading: str  # the report's section heading it sits under
    index: int

    @property
    def doc_id(self) -> str:
        return f"public:{self.year}"

    @property
    def title(self) -> str:
        return f"{self.year}年国务院政府工作报告"


@dataclass
class PublicCollection:
    sentences: list[PublicSentence]
    by_word: dict[str, list[int]]

    def candidates(self, keys: list[str], limit: int = 40) -> list[PublicSentence]:
        """Sentences sharing the most of ``keys``, newest report first among equals."""
        score: dict[int, int] = {}
        for key in keys:
            for i in self.by_word.get(key, ()):
                score[i] = score.get(i, 0) + len(key)
        ranked = sorted(score, key=lambda i: (-score[i], -int(self.sentences[i].year), i))
        return [self.sentences[i] for i in ranked[:limit]]


def _usable(sentence: str) -> bool:
    text = sentence.strip()
    return 12 <= len(text) <= 90 and bool(_DIRECTIVE_RE.match(text)) and not _FIGURE_RE.search(text)


@lru_cache(maxsize=2)
def _load(folder: str, stamp: tuple) -> PublicCollection:
    sentences: list[PublicSentence] = []
    for path in sorted(Path(folder).glob("*.txt")):
        year = path.name[:4]
        heading = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith(("来源：", "标题：")):
                continue
            if (
                re.match(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", line)
                and len(line) < 60
            ):
                heading = line
                continue
            for sentence in _SENT_RE.findall(line):
                # a clause list (…；…；) reads as separate directives
                for part in re.split(r"(?<=；)", sentence):
                    part = part.strip()
                    if _usable(part):
                        text = part[:-1] + "。" if part.endswith("；") else part
                        sentences.append(PublicSentence(text, year, heading, len(sentences)))
    by_word: dict[str, list[int]] = {}
    for s in sentences:
        for w in words.words(s.text):
            by_word.setdefault(w, []).append(s.index)
    return PublicCollection(sentences, by_word)


def collection(folder: Path | None = None) -> PublicCollection:
    folder = Path(folder or words.public_dir())
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    return _load(str(folder), tuple((p.name, p.stat().st_mtime_ns) for p in files))
