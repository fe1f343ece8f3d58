"""Whose unit and sector a sentence speaks of: each corpus document's own terms, learned from the corpus.

A sentence lifted from a 社保局's speech that says 参保群众, 经办服务, 局班子成员或股室负责人兼任 or
“五强创示范” is a claim about that 局, not about the writer's 镇 or 医院. At ingest each document leaves its
candidate terms (``document_terms``): the organisations it names, its quoted names, the office words of its
own unit kind (局班子, 局属, 全局, 股室 in a 局), and its words with their counts. ``Lexicon`` then decides,
across the whole corpus, which are a document's *own*: its unit names and their short forms, quoted names
used as brands (with a numeral, or repeated), office words, and sector words (frequent in it, rare in the
rest of the corpus and in the public collection). A draft sentence carrying another document's own term that
the request and materials do not carry is foreign (``foreign_terms``). Learned, not listed: a writer's
corpus is of their own sector, so their sector's words are theirs (a document whose unit or sector the
request names is the writer's own kind, and its sector words are allowed). The trade-off is eagerness: a
rare but general word that only one document happens to use (咬耳扯袖) is not counted, because a term must be
repeated in its document or be a name; a one-off sector word can slip through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import words

TERMS_VERSION = 3
_ORG_SUFFIX = r"(?:管理局|事业局|局|厅|工委|党工委|委员会|服务中心|中心|办公室|研究院|医院|学校|中学|小学|公司|集团|法院|检察院|派出所|所|镇|乡|街道|村|社区)"
_NOT_IN_NAME = "和与及的在对把将为从向是了、，。；：“”（）"
ORG_RE = re.compile(
    rf"(?:[省市县区州镇乡村]|市委|市直|县直|省直|区直)(?:(?![{_NOT_IN_NAME}])[\u4e00-\u9fff]){{1,12}}?{_ORG_SUFFIX}"
)
_SECTOR_NAMES = (
    "医保|人社|社保|税务|财政|教育|卫健|民政|住建|交通|水利|农业|商务|文旅|应急|市场监管|统计|审计|工信|发改|"
    "自然资源|生态环境|公安|司法|法院|检察|工委|组织部|宣传部|纪委"
)
SHORT_ORG_RE = re.compile(rf"(?<![\u4e00-\u9fff])(?:{_SECTOR_NAMES})(?:局|厅|委|系统|部门|干部)")
# long names that mean the same sector as a short one
_SECTOR_SYNONYMS = {
    "社会保险": "社保",
    "医疗保障": "医保",
    "人力资源和社会保障": "人社",
    "卫生健康": "卫健",
    "机关工委": "工委",
    "直属机关工作委员会": "工委",
}
_QUOTED_RE = re.compile(r"[“\"「]([^”\"」\n]{2,12})[”\"」]")
_NUMERAL = re.compile(r"[一二两三四五六七八九十百千\d]")
# the part of a unit's name that says what kind of unit it is; office words are built from it
UNIT_KINDS = (
    "局",
    "委",
    "厅",
    "办",
    "所",
    "院",
    "校",
    "镇",
    "乡",
    "村",
    "社区",
    "街道",
    "公司",
    "中心",
    "部",
)
_KIND_OF = [
    ("院", re.compile(r"(?:医院|法院|检察院|研究院|学院)")),
    ("校", re.compile(r"(?:学校|中学|小学|大学|学院|幼儿园)")),
    ("公司", re.compile(r"(?:公司|集团)")),
    ("社区", re.compile(r"社区")),
    ("街道", re.compile(r"街道")),
    ("村", re.compile(r"村(?!镇)")),
    ("镇", re.compile(r"[镇乡]")),
    ("所", re.compile(r"所(?!属|有|在)")),
    ("中心", re.compile(r"中心")),
    ("局", re.compile(r"局")),
    ("厅", re.compile(r"厅")),
    ("委", re.compile(r"(?:委员会|工委|委)")),
    ("办", re.compile(r"办公室|办")),
]
_OFFICE_TAILS = "(?:班子(?:成员)?|党组|党委|党总支|机关|属各单位|属单位|属|系统|中心工作|领导|上下|里)"
SUPERIORS = frozenset(
    [
        "党中央",
        "国务院",
        "中央",
        "省委",
        "省政府",
        "市委",
        "市政府",
        "县委",
        "县政府",
        "区委",
        "区政府",
        "市纪委",
        "县纪委",
        "省纪委",
        "市委组织部",
        "县委组织部",
        "市委巡察组",
        "市委宣传部",
        "市直机关工委",
        "省直机关工委",
        "市委办公室",
        "市政府办公室",
    ]
)


def unit_kind(name: str) -> str:
    """The kind of unit a name says (局, 镇, 院, 校, 村 …), read from its end; "" when none."""
    name = re.sub(r"(?:党支部|党总支|党委|党组|机关党委|机关)+$", "", name or "") or name or ""
    tail = name[-6:]
    for kind, pattern in _KIND_OF:
        if pattern.search(tail):
            return kind
    return ""


def office_words(text: str, kind: str) -> Counter[str]:
    """Office words of a unit of ``kind`` in ``text``: 局班子成员, 局属各单位, 全局上下, 股室 (in a 局)."""
    if not kind or len(kind) > 1:
        return Counter()
    found = Counter(m.group(0) for m in re.finditer(rf"{kind}{_OFFICE_TAILS}", text))
    found.update(m.group(0) for m in re.finditer(rf"全{kind}(?:上下|干部|党员)?", text))
    if kind == "局":
        found.update(m.group(0) for m in re.finditer(r"股室(?:负责人)?|股长", text))
    return found


def _kind_from_office(text: str) -> str:
    """The unit kind whose office words a text uses most (局党组, 局属, 全局 → 局), when it names no unit."""
    counts = {kind: sum(office_words(text, kind).values()) for kind in UNIT_KINDS if len(kind) == 1}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] >= 2 else ""


def general_frequency(word: str) -> int | None:
    """How common ``word`` is in general Chinese (jieba's dictionary frequency); None when jieba does not
    know it as a word."""
    freq = words._jieba().dt
    if not freq.initialized:
        freq.initialize()
    value = freq.FREQ.get(word)
    return value if value else None


SECTOR_MAX_FREQUENCY = 150  # a word more common than this in general Chinese is no sector's own word


def document_terms(title: str, text: str) -> dict[str, Any]:
    """A document's candidate terms, stored with it at ingest (see the module docstring)."""
    orgs = Counter(m.group(0) for m in ORG_RE.finditer(f"{title}\n{text}"))
    orgs.update(m.group(0) for m in SHORT_ORG_RE.finditer(f"{title}\n{text}"))
    own = title_unit(title)
    kind = (
        unit_kind(own)
        or _kind_from_office(f"{title}\n{text}")
        or next((unit_kind(o) for o, _ in orgs.most_common(3)), "")
    )
    counts = Counter()
    for para in words.paragraphs(text) or [text]:
        counts.update(words.words(para))
    return {
        "version": TERMS_VERSION,
        "unit": own,
        "kind": kind,
        "orgs": dict(orgs),
        "quoted": dict(Counter(m.group(1) for m in _QUOTED_RE.finditer(text))),
        "office": dict(office_words(text, kind)),
        # office words of other unit kinds the text uses (全所上下 in a 局's report): each with its kind
        "office_kinds": {
            w: k for k in UNIT_KINDS if len(k) == 1 and k != kind for w in office_words(text, k)
        },
        "words": dict(counts),
    }


_TITLE_UNIT = re.compile(rf"^[\u4e00-\u9fff]{{1,16}}?{_ORG_SUFFIX}(?:机关)?(?:党支部|党总支|党委|党组)?")


def title_unit(title: str) -> str:
    """The unit a document's title names first (医保局机关党支部书记… → 医保局机关党支部)."""
    m = _TITLE_UNIT.match(title or "")
    return m.group(0) if m else ""


@dataclass
class OwnTerms:
    doc_id: str
    title: str
    unit: str
    kind: str
    names: set[str] = field(default_factory=set)  # organisations and their short forms
    brands: set[str] = field(default_factory=set)  # quoted names used as brands
    office: set[str] = field(default_factory=set)  # office words of its unit kind
    office_kinds: dict[str, str] = field(default_factory=dict)  # office words of other kinds -> kind
    sector: set[str] = field(default_factory=set)  # words frequent in it, rare elsewhere

    def all(self) -> set[str]:
        return self.names | self.brands | self.office | self.sector


@dataclass(frozen=True)
class Foreign:
    term: str
    doc_id: str
    title: str
    why: str  # 单位名称 | 品牌名称 | 机构用语 | 行业用语

    def label(self) -> str:
        return f"“{self.term}”（{self.why}，来自《{self.title}》）"


def _is_brand(quoted: str, count: int, fixed: set[str], stats: words.WordStats) -> bool:
    """A quoted name used as a unit's brand (“五强创示范”, “红旗党支部”), not a political fixed term, a
    general idiom or a reduplication (“拖一拖”)."""
    if quoted in fixed or any(f in quoted for f in fixed) or stats.share(quoted) > 0:
        return False
    if len(quoted) < 3 or re.fullmatch(r"(.)一\1", quoted) or re.match(r"^一.{1,3}$", quoted):
        return False
    campaign = re.search(r"(?:年|行动|活动|工程|计划|品牌|示范|创建|服务圈|窗口)$", quoted)
    return bool(_NUMERAL.search(quoted)) or count >= 2 or bool(campaign)


def _sector_key(doc_id: str, title: str, terms: dict[str, Any]) -> set[str]:
    """What sector a document's own unit is in (医保, 人社 …), from its title and the organisations it
    names; a document naming none is a sector of its own."""
    text = " ".join([title, terms.get("unit", ""), *terms.get("orgs", {})])
    for long, short in _SECTOR_SYNONYMS.items():
        text = text.replace(long, short)
    found = set(re.findall(_SECTOR_NAMES, text))
    return found or {f"doc:{doc_id}"}


def _general_compound(word: str) -> bool:
    """A word made of common words (负责同志 = 负责 + 同志) says nothing of a sector."""
    parts = [p for p in words._jieba().lcut(word, HMM=False) if p.strip()]
    if len(parts) == 1 and len(word) == 4:  # a dictionary word of two common halves (负责同志)
        parts = [word[:2], word[2:]]
    return len(parts) >= 2 and all(len(p) >= 2 and (general_frequency(p) or 0) >= 1000 for p in parts)


_NOUNISH = ("n", "nz", "nt", "ns", "j", "vn", "nr", "nrt")


def _is_sector_word(word: str, count: int, stats: words.WordStats) -> bool:
    """A word of one document's own sector: used at least twice there, a noun (or a rare verb such as 参保),
    rare in the public collection and in general Chinese (参保, 经办, 柜员), not a learned phrase of
    general words (模范作用)."""
    if count < 2 or len(word) < 2 or stats.common(word) or stats.share(word) >= 0.003:
        return False
    freq = general_frequency(word)
    if freq is None:  # not a jieba word: a learned phrase is general, an unknown word (人社) is not
        return word not in words._PHRASES and count >= 3 and not _general_compound(word)
    from jieba import posseg

    tags = posseg.lcut(word)
    flag = tags[0].flag if len(tags) == 1 else "x"
    if _general_compound(word) or (
        len(word) == 3 and word[-1] in "感性化式型度力" and (general_frequency(word[:2]) or 0) >= 1000
    ):
        return False  # 负责同志, 使命感: made of general words
    return freq < SECTOR_MAX_FREQUENCY and (flag in _NOUNISH or freq < 40 and flag == "v")


_UNIT_SUFFIX_RE = re.compile(r"(?:机关|机关党委|机关党支部|党支部|党委|党组|党总支)$")
_GENERIC_ORG = ("单位", "基层", "各", "所有", "全", "系统", "部门", "上级", "有关")


class Lexicon:
    """The corpus's own terms per document (built from the stored ``document_terms`` of every document)."""

    def __init__(
        self,
        docs: dict[str, tuple[str, dict[str, Any]]],
        fixed: Iterable[str] = (),
        stats: words.WordStats | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        """``docs``: doc id -> (title, document_terms); ``fixed``: the political numerals (两个确立 …);
        ``texts``: the documents' texts, so a word counts as used by a document wherever it occurs in it
        (jieba may cut it differently there)."""
        self.stats = stats or words.public_stats()
        fixed = set(fixed)
        n_docs = max(1, len(docs))
        word_df: Counter[str] = Counter()
        quote_df: Counter[str] = Counter()
        for _, terms in docs.values():
            word_df.update(terms.get("words", {}).keys())
            quote_df.update(terms.get("quoted", {}).keys())
        self.own: dict[str, OwnTerms] = {}
        sectors = {doc_id: _sector_key(doc_id, title, terms) for doc_id, (title, terms) in docs.items()}
        word_docs: dict[str, set[str]] = {}
        for doc_id, (_, terms) in docs.items():
            for word in terms.get("words", {}):
                word_docs.setdefault(word, set()).add(doc_id)
        if texts:
            for word, present in word_docs.items():
                present.update(d for d, text in texts.items() if word in text)
            word_df = Counter({w: len(d) for w, d in word_docs.items()})
        for doc_id, (title, terms) in docs.items():
            own = OwnTerms(doc_id, title, terms.get("unit", ""), terms.get("kind", ""))
            for org in terms.get("orgs", {}):
                if org not in SUPERIORS and not any(g in org[:3] for g in _GENERIC_ORG):
                    own.names.add(org)
            if own.unit:
                own.names.add(own.unit)
            rare_in_corpus = max(2, int(n_docs * 0.4))
            for quoted, count in terms.get("quoted", {}).items():
                if _is_brand(quoted, count, fixed, self.stats) and quote_df[quoted] <= rare_in_corpus:
                    own.brands.add(quoted)
            own.office = set(terms.get("office", {}))
            own.office_kinds = dict(terms.get("office_kinds", {}))
            for word, count in terms.get("words", {}).items():
                # a word two sectors both use (三会一课 in a 医保 and a 人社 document) is nobody's own
                one_sector = all(sectors[other] & sectors[doc_id] for other in word_docs.get(word, ()))
                if (
                    one_sector
                    and word_df[word] <= rare_in_corpus
                    and _is_sector_word(word, count, self.stats)
                ):
                    own.sector.add(word)
            self.own[doc_id] = own
        self._patterns: dict[str, list[tuple[str, str, str]]] = {}

    def terms_of(self, doc_id: str) -> OwnTerms | None:
        return self.own.get(doc_id)

    def writer_docs(self, allowed: str) -> set[str]:
        """Documents of the writer's own kind: the request names their unit or two of their sector words."""
        out = set()
        for doc_id, own in self.own.items():
            short = {n for n in own.names if len(n) <= 6}
            sector_hits = [w for w in own.sector if w in allowed]
            if any(n and n in allowed for n in short | {own.unit}) or len(sector_hits) >= 2:
                out.add(doc_id)
        return out

    def foreign_terms(self, sentence: str, allowed: str, writer_kind: str = "") -> list[Foreign]:
        """Other documents' own terms in ``sentence`` that ``allowed`` (request and materials) does not
        carry. Office words count only when the writer's unit is of another kind (局班子 in a 镇)."""
        mine = self.writer_docs(allowed)
        found: dict[str, Foreign] = {}
        for doc_id, own in self.own.items():
            kinds = [("单位名称", own.names), ("品牌名称", own.brands)]
            if doc_id not in mine:
                kinds.append(("行业用语", own.sector))
            if own.kind and own.kind != writer_kind:
                kinds.append(("机构用语", own.office))
            kinds.append(("机构用语", {w for w, k in own.office_kinds.items() if k != writer_kind}))
            for why, terms in kinds:
                for term in terms:
                    if term in sentence and term not in allowed and term not in found:
                        if why == "单位名称" and (
                            term in SUPERIORS or len(term) < 3 or _UNIT_SUFFIX_RE.sub("", term) in allowed
                        ):
                            continue  # the writer's own unit with 机关/党委 after it is still theirs
                        found[term] = Foreign(term, doc_id, own.title, why)
        # a longer term covers the shorter ones inside it
        terms = sorted(found, key=len, reverse=True)
        kept = [t for i, t in enumerate(terms) if not any(t in longer for longer in terms[:i])]
        return [found[t] for t in kept]

    def to_dict(self) -> dict[str, Any]:
        return {
            doc_id: {
                "title": own.title,
                "unit": own.unit,
                "kind": own.kind,
                "names": sorted(own.names),
                "brands": sorted(own.brands),
                "office": sorted(own.office),
                "sector": sorted(own.sector),
            }
            for doc_id, own in self.own.items()
        }
