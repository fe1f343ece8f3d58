"""Is a sentence about its section's point (for this topic)? One definition for the composer and the evals.

Two signals. Words: the sentence shares a *distinctive* word with the point or the topic
(``words.distinctive``: 隐患, 安全生产, 三会一课 — not 责任/落实/加强). Meaning: its embedding is nearer the
point + topic than every *probe* — a list of other sectors' topics (``prompts/topicality.yaml``) — that the
request does not itself name. The comparison is relative because the bundled e5-small compresses Chinese
similarities into a narrow band (0.83–0.89 for anything 公文): no absolute floor separates a seed
document's own sentences from another sector's, but "nearer my point than 安全生产/养老/教育…" does
(``eval calibrate`` prints the rates for the configured embedder). The evals count a sentence on topic when
either signal holds (``on_topic``): real documents often develop a point without repeating its words, and
the seeds must pass as drafts of their own type. The composer only takes a corpus sentence when both hold
(``strong``): what it adds must surely be about the point. Embeddings are cached per process.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from . import words

SPECIFIC_SHARE = 0.02  # a word in fewer reference paragraphs than this names a point on its own
POINT_WORD_SHARE = 0.1  # a point's word in fewer than this is its own (two of them name the point)


@dataclass(frozen=True)
class Relevance:
    sentence: str
    shared: tuple[str, ...]  # distinctive words of point/topic the sentence carries
    similarity: float | None  # to the point + topic; None without an embedder
    rival: float | None = None  # to the nearest probe the request does not name
    rival_name: str = ""
    rival_words: tuple[
        str, ...
    ] = ()  # words of another sector's probe the sentence carries (党建 under 整治)

    @property
    def close(self) -> bool:
        return self.similarity is not None and (self.rival is None or self.similarity > self.rival)

    @property
    def on_topic(self) -> bool:
        """Either signal: the evals' reading (see the module docstring). Meaning alone does not save a
        sentence that names another sector's probe and nothing of its own point; one shared word does not
        save one that carries as many of a rival's words and is nearer the rival."""
        if self.rival_words and not self.close and len(set(self.rival_words)) >= len(set(self.shared)):
            return False  # 支部集体学习 under 村集体增收: as much of another sector as of the point, and nearer it
        return bool(self.shared) or (self.close and not self.rival_words)

    @property
    def elsewhere(self) -> bool:
        """Evidence that the sentence is about something else: none of the words, and nearer another
        sector's probe than the point (needs an embedder; without one nothing is evidently elsewhere)."""
        if self.similarity is not None and not self.close and self.rival_words:
            return len(set(self.rival_words)) >= len(set(self.shared))
        return not self.shared and (bool(self.rival_words) or self.similarity is not None and not self.close)

    @property
    def strong(self) -> bool:
        """Both signals (words alone without an embedder): what the composer requires."""
        return bool(self.shared) and (self.similarity is None or self.close)

    def why(self) -> str:
        if self.similarity is None or self.rival is None or self.close:
            return "未涉及要点或主题的关键词"
        return f"未涉及要点或主题的关键词，且语义上更接近“{self.rival_name}”"


def default_path() -> Path:
    from ..settings import PROJECT_ROOT

    return PROJECT_ROOT / "prompts" / "topicality.yaml"


@lru_cache(maxsize=4)
def _probes(path: str, stamp: int) -> tuple[str, ...]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return tuple(str(p) for p in data.get("probes") or ())


def probes(path: Path | None = None) -> tuple[str, ...]:
    path = Path(path or default_path())
    return _probes(str(path), path.stat().st_mtime_ns) if path.is_file() else ()


@dataclass
class Judge:
    """Judges sentences against a point and topic with one embedder and one set of word statistics."""

    embedder: object | None  # index.embedding.Embedder; None = words only
    stats: words.WordStats
    probes: tuple[str, ...] = ()
    _cache: dict[str, np.ndarray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keywords(self, point: str, topic: str = "") -> list[str]:
        """The words a sentence about ``point`` (in ``topic``) must share at least one of. Under a key point
        only the point's own words count (``judge(..., point_only=True)``): in a 村 report on 党建和乡村振兴,
        党建 does not make a sentence about 发展壮大村集体经济."""
        own = words.distinctive(point, self.stats, at_least=1)
        return list(dict.fromkeys(own + words.distinctive(topic, self.stats, at_least=1)))

    def _vectors(self, texts: list[str], query: bool = False) -> list[np.ndarray]:
        key = "q:" if query else "p:"
        missing = [t for t in dict.fromkeys(texts) if key + t not in self._cache]
        if missing:
            if query:
                fresh = [self.embedder.embed_query(t) for t in missing]  # type: ignore[union-attr]
            else:
                fresh = self.embedder.embed_passages(missing)  # type: ignore[union-attr]
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[key + text] = np.asarray(vec, dtype=np.float32)
        return [self._cache[key + t] for t in texts]

    def judge(
        self,
        sentences: list[str],
        point: str,
        topic: str = "",
        extra: tuple[str, ...] = (),
        point_only: bool = False,
        siblings: str = "",
    ) -> list[Relevance]:
        """Each sentence's relevance to ``point`` + ``topic`` (see the module docstring); with
        ``point_only`` the word signal is the point's words (and ``extra``) alone, plus the topic's and the
        request's other points (``siblings``) unless the writer's corpus is full of them (党建 in a 党建
        corpus): 隐患点巡查 under 监测预警 is this document's business, 三会一课 under 村集体增收 is not."""
        keys = self.keywords(point, "" if point_only else topic) + [w for w in extra if w]
        if point_only:
            keys += [
                w
                for w in self.keywords(topic, siblings)
                if not (self.stats.own and self.stats.own.share(w) > 0.1)
            ]
        own = self.point_words(point) if point_only else []
        shared = [tuple(self._evidence(keys, s, strict=point_only, own=own)) for s in sentences]
        # a probe on the request's own point or topic is no rival (防汛 under a 防汛 speech's 值守 point)
        related = self.keywords(point, topic)
        own_words = set(related) | set(self.keywords(siblings))
        # only specific words make a probe the request's own (建设 in 农田建设 does not make 支部建设 ours)
        specific = [w for w in related if self.stats.share(w) < SPECIFIC_SHARE]
        rivals = [
            p
            for p in self.probes
            if not words.shared(specific, p)
            and not [w for w in words.shared(words.words(p), topic) if self.stats.share(w) < SPECIFIC_SHARE]
        ]
        rival_keys = sorted(
            {w for p in rivals for w in words.distinctive(p, self.stats) if w not in own_words}
        )
        found_rival = [tuple(words.shared(rival_keys, s)) for s in sentences]
        if not sentences or self.embedder is None:
            return [
                Relevance(s, hit, None, rival_words=rw)
                for s, hit, rw in zip(sentences, shared, found_rival, strict=True)
            ]
        query = self._vectors([f"{point} {topic}".strip()], query=True)[0]
        rival_vectors = self._vectors(rivals, query=True) if rivals else []
        out = []
        vectors = self._vectors(sentences)
        for sentence, hit, rw, vec in zip(sentences, shared, found_rival, vectors, strict=True):
            sims = [float(vec @ r) for r in rival_vectors]
            best = max(range(len(sims)), key=sims.__getitem__) if sims else None
            out.append(
                Relevance(
                    sentence,
                    hit,
                    float(vec @ query),
                    sims[best] if best is not None else None,
                    rivals[best] if best is not None else "",
                    rw,
                )
            )
        return out

    def point_words(self, point: str) -> list[str]:
        """The point's own content words that are not general language in the reference (党建, 业务, 融合 in
        党建与业务融合; not 建设, 责任): each may be everywhere in the writer's corpus (党建 in a 党建 corpus),
        so none names the point alone, but two together do."""
        return [
            w
            for w in words.words(point)
            if w not in words.ALWAYS_COMMON and self.stats.share(w) < POINT_WORD_SHARE
        ]

    def _evidence(self, keys: list[str], sentence: str, strict: bool, own: list[str] = ()) -> list[str]:
        """The point's words in ``sentence``. Under a key point (``strict``) a fairly general word (专项,
        建设: in more than 2 % of reference paragraphs) counts only beside another of the point's words; two
        of the point's ``own`` words count together though the writer's corpus is full of each."""
        hits = words.shared(keys, sentence)
        if not strict or len(hits) >= 2:
            return hits
        specific = [w for w in hits if self.stats.share(w) < SPECIFIC_SHARE]
        if specific:
            return specific
        found = words.shared(own, sentence)
        found = [w for w in found if not any(w != x and w in x for x in found)]  # 安全 inside 安全生产
        return found if len(found) >= 2 else []

    def on_topic(self, sentence: str, point: str, topic: str = "") -> bool:
        return self.judge([sentence], point, topic)[0].on_topic


TYPE_WORDS = re.compile(r"(?:的)?(?:汇报发言|讲话|述职述廉报告|述职报告|调研报告|工作总结|发言|报告)$")


def title_topic(title: str) -> str:
    """A document title read as a topic (its type word dropped): what its sections are measured against."""
    return TYPE_WORDS.sub("", title or "").strip()


def seed_pairs(texts: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(sentence, heading, topic) for every body sentence of real documents ``(title, text, doc_type)``:
    the pairs ``measure`` reads."""
    from ..draft.units import split_sentences
    from ..index import structure

    pairs = []
    for title, text, doc_type in texts:
        parsed = structure.parse_text(text, doc_type)
        for section in parsed.walk():
            if section.kind not in ("heading", "item", "topic") or not section.title:
                continue
            sentences = [x for x in split_sentences(section.body) if len(x) >= 8]
            if section.kind in ("item", "topic"):
                sentences = sentences[1:]  # the lead sentence is the heading itself
            pairs += [(x, section.title, title_topic(title)) for x in sentences]
    return pairs


def measure(embedder, texts: list[tuple[str, str, str]], probe_list: tuple[str, ...]) -> dict[str, float]:
    """How well the probes separate with ``embedder`` on real documents ``(title, text, doc_type)``: the share
    of their body sentences nearer their own heading + title than every probe (``own_close``), and the share
    nearer a probe taken as the point than every other probe (``rival_close``: how often another sector's
    sentence would pass for on-topic on meaning alone)."""
    pairs = seed_pairs(texts)
    if not pairs or len(probe_list) < 2:
        return {"sentences": len(pairs), "own_close": 0.0, "rival_close": 0.0}
    vectors = np.asarray(embedder.embed_passages([s for s, _, _ in pairs]), dtype=np.float32)
    probe_vectors = np.asarray([embedder.embed_query(p) for p in probe_list], dtype=np.float32)
    heads: dict[str, np.ndarray] = {}
    own = []
    for (_, heading, topic), vec in zip(pairs, vectors, strict=True):
        key = f"{heading} {topic}"
        if key not in heads:
            heads[key] = np.asarray(embedder.embed_query(key), dtype=np.float32)
        own.append(float(vec @ heads[key]))
    to_probes = vectors @ probe_vectors.T
    own_close = float(np.mean(np.asarray(own) > to_probes.max(axis=1)))
    rival = []
    for j in range(len(probe_list)):
        others = np.delete(to_probes, j, axis=1).max(axis=1)
        rival.append(float(np.mean(to_probes[:, j] > others)))
    return {
        "sentences": len(pairs),
        "own_close": round(own_close, 3),
        "rival_close": round(float(np.mean(rival)), 3),
    }


_JUDGES: dict[tuple[str, int], Judge] = {}


def judge_for(settings, stats: words.WordStats | None = None) -> Judge:
    """A judge with the index's embedder and the probes (one per embedder and stats object)."""
    from ..index.embedding import get_embedder

    stats = stats or words.public_stats()
    key = (settings.embedder, id(stats))
    if key not in _JUDGES:
        if len(_JUDGES) > 8:
            _JUDGES.clear()
        found = probes(Path(settings.prompts_dir) / "topicality.yaml")
        _JUDGES[key] = Judge(get_embedder(settings), stats, found)
    return _JUDGES[key]
