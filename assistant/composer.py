"""The offline composer: fills a type's structure with real sentences from the writer's own corpus.

No model runs here. For each outline section the composer takes the retrieved passages (same role first),
cuts them into reusable units (a heading clause or ``一是`` lead with its sentences, a topic-sentence
paragraph, a plain paragraph), ranks units by character-bigram overlap with the section's sub-point, adapts
each sentence for the writer and stitches the result with the type's formulas (prompt files next to the
schema). The trade-off is deliberate: the text is never fluent the way a model's is, but every sentence is
one a real 公文 used, numbering is generated (never copied), and nothing factual is invented — a sentence
whose figures, people, places or redaction marks cannot be carried over is dropped or its figure replaced by
``【待补：…】``. The same ``Adapter`` guards the LLM's output (``drafting`` applies it to both generators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import numerals
from .doctypes import DocType, SectionSpec
from .prompts import get_prompt, load_lines, render
from .records import DraftParagraph, DraftRequest, OutlineItem, Passage, Source

CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
SENTENCE_END = "。！？；!?;"
RUN_LIMIT = 150  # longest stretch copied contiguously from one passage (the eval gate is 200)
_SENT_RE = re.compile(rf"[^{SENTENCE_END}]*[{SENTENCE_END}]+[”’」』）)]*|[^{SENTENCE_END}]+$")
_HEADING_RE = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十]+[）)][、．.]?|\d+[.．、](?!\d)|[（(]\d+[）)])\s*"
)
_ITEM_RE = re.compile(r"(?:(?<=^)|(?<=[。；;：:！]))\s*([一二三四五六七八九十]+是)")
_INNER_ITEM_RE = re.compile(r"(?<![一-龥])[一二三四五六七八九十]+是|[；;：:，,][一二三四五六七八九十]+是")
_REDACTION_RE = re.compile(r"\*|＊|某某|(?<![A-Za-z])[XＸxｘ]{1,3}(?![A-Za-z])|##\w+##|□")
# a figure the scraper removed: a verb or noun directly followed by a measure word (共召开民主生活会次)
_GAP_RE = re.compile(
    r"月号|(?:共|先后|累计|达|资金|提出|列出|慰问|建议|会|活动|服务|党员|干部|帮扶)"
    r"(?:次(?![序要数])|名(?![称单义额])|项(?![目])|元(?![素旦])|条(?![件例款])|场次|人次|万元|余)"
)
_CN_QUANT = (
    "个|名|人次|人|场次|场|次|项|期|支|家|份|条|元|批|位|户|年|月|日|天|届|所|处|类|种|轮|周|级|篇|件|点|"
    "方面|万|亿|倍|成|岁|小时|分钟|余|多|张|座|家|亩|吨|公里"
)
_NUMBER_RE = re.compile(
    rf"第[{CN_DIGITS}\d]+|\d+(?:[.．,，]\d+)*\s*(?:[%％‰]|余|多)?|[{CN_DIGITS}]+(?:余|多)?(?={_CN_QUANT})"
)
_LIST_INTRO_RE = re.compile(r"以下几|如下|具体表现为|主要表现在|回顾.{0,8}的?工作|主要有.{0,4}方面")
_QUOTED_RE = re.compile(r"[“\"「]([^”\"」]{1,16})[”\"」]")
_ORG_SUFFIX = r"(?:管理局|事业局|局|厅|工委|党工委|委员会|服务中心|中心|办公室|研究院)"
_UNIT_END = r"(局|委|办|厅|中心|院|所|支部|总支|党组|党委|公司|部|处|科|站|室|会|政府|工委|机关)$"
_GENERIC_WORDS = ("单位", "基层", "各", "所有", "全", "机关党", "系统", "部门")
_NOT_IN_NAME = "和与及的在对把将为从向是了、，。；：“”"
_ORG_RE = re.compile(
    rf"(?:市委|市直|县直|省直|区直|[省市县区州])(?:(?![{_NOT_IN_NAME}])[一-龥]){{1,10}}?{_ORG_SUFFIX}"
)
_SHORT_ORG_RE = re.compile(
    r"(?<![一-龥])(?:医保|人社|社保|税务|财政|教育|卫健|民政|住建|交通|水利|农业|商务|文旅|应急|市场监管|统计|审计)"
    r"(?:局|厅|委)"
)
_TITLE_ORG_RE = re.compile(rf"^(?:[一-龥]{{0,12}}?{_ORG_SUFFIX})")
# superior bodies named as the source of instructions, not as the writer's own unit
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
SECTORS = ("人力资源和社会保障", "社会保险", "人社", "社保", "医保", "医疗保障")
_SECTOR_NOUNS = {
    "事业": "各项事业",
    "工作": "业务工作",
    "部门": "部门",
    "系统": "系统",
    "干部": "干部",
    "服务": "服务",
    "业务": "业务",
    "特色": "行业特色",
    "品牌": "服务品牌",
    "民生": "民生",
    "政策": "相关政策",
    "领域": "本领域",
}
_TITLES = (
    "同志",
    "书记",
    "局长",
    "主任",
    "部长",
    "处长",
    "科长",
    "县长",
    "市长",
    "主席",
    "副",
    "委员",
    "总经理",
)
_STARTS_LINKED = re.compile(
    r"^(同时|此外|另外|另一方面|与此同时|在此基础上|特别是|尤其|当然|总之|因此|但|而且|并且|坚持|要|同样)"
)
_NAME_ALLOW = frozenset(
    [
        "习近平",
        "毛泽东",
        "邓小平",
        "马克思",
        "列宁",
        "中国",
        "中华",
        "全国",
        "全省",
        "全市",
        "全县",
        "神州",
        "延安",
        "井冈山",
        "西柏坡",
        "正定",
    ]
)
_LOCAL_UNIT_RE = re.compile(r"局(系统|党组|属各单位|属单位|机关|党总支)")
_LOCAL_UNIT_MAP = {
    "系统": "系统",
    "党组": "党组",
    "属各单位": "所属各单位",
    "属单位": "所属单位",
    "机关": "机关",
    "党总支": "党总支",
}


def normalize_punctuation(text: str) -> str:
    """Half-width punctuation next to Chinese text becomes full-width (the research-report seed uses ``,``)."""
    pairs = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"}
    return re.sub(
        r"(?<=[一-龥”）])[,;:?!]|[,;:](?=[一-龥“])|\((?=[一-龥])|(?<=[一-龥])\)",
        lambda m: pairs[m.group(0)],
        text,
    )


def split_sentences(text: str) -> list[str]:
    """Sentences with their end punctuation (and a closing quote that follows it)."""
    return [s.strip() for s in _SENT_RE.findall(text.strip()) if s.strip()]


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def overlap(query: str, text: str) -> float:
    q = bigrams(query)
    if not q:
        return 0.0
    return len(q & bigrams(text)) / len(q)


def strip_end(text: str) -> str:
    return text.strip().rstrip("。；;，,：:！!？?、 ")


@lru_cache(maxsize=8)
def fixed_numerals(prompts_dir: str) -> tuple[str, ...]:
    """The allow-list of fixed political numerals (``prompts/fixed_numerals.txt``), longest first."""
    path = Path(prompts_dir) / "fixed_numerals.txt"
    terms = load_lines(path) if path.is_file() else []
    return tuple(sorted(set(terms), key=len, reverse=True))


def number_tokens(text: str, allow: tuple[str, ...] = ()) -> list[str]:
    """Figures in ``text`` (Arabic or Chinese numerals with a measure word, ordinals), ignoring the fixed
    terms in ``allow`` and a lone 一 used as an article (一项长期任务, 一次)."""
    masked = text
    for term in allow:
        masked = masked.replace(term, "□" * len(term))
    tokens = []
    for match in _NUMBER_RE.finditer(masked):
        token = match.group(0).strip()
        bare = token.rstrip("余多")
        if bare in ("一", "") or (bare.startswith("第") and bare[1:] == "一"):
            continue
        tokens.append(token)
    for quoted in _QUOTED_RE.findall(masked):
        if any(c in "两二三四五六七八九十百千" for c in quoted) and "□" not in quoted:
            tokens.append(quoted)
    return tokens


@dataclass
class Adapter:
    """Adapts corpus sentences for the writer: facts only from the request, no redaction marks, no other
    unit's name. ``adapt`` returns the sentence to use or None when it cannot be used."""

    request: DraftRequest
    prompts_dir: Path
    facts: str = ""
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        r = self.request
        self.facts = "\n".join([r.topic, r.unit, r.occasion, r.audience, *r.points, *r.materials])
        self.allow = fixed_numerals(str(self.prompts_dir))

    @property
    def unit_name(self) -> str:
        """The writer's unit when the field names one; a speech's speaker line (局党组书记 张明) does not."""
        unit = self.request.unit.strip()
        return unit if re.search(_UNIT_END, unit) and not re.search(r"\s", unit) else ""

    def unsupported_numbers(self, text: str) -> list[str]:
        out = []
        for token in number_tokens(text, self.allow):
            digits = re.sub(r"[余多\s%％‰]", "", token)
            if digits and digits in self.facts:
                continue
            out.append(token)
        return out

    def replace_units(self, text: str, own_names: tuple[str, ...] = ()) -> str:
        mine = self.unit_name or "我们"

        def swap(match: re.Match) -> str:
            name = match.group(0)
            if name in SUPERIORS or name in self.facts or any(w in name for w in _GENERIC_WORDS):
                return name
            return mine

        for name in sorted({n for n in own_names if len(n) >= 2}, key=len, reverse=True):
            if name not in self.facts:
                text = text.replace(name, mine)
        text = _ORG_RE.sub(swap, text)
        text = _SHORT_ORG_RE.sub(swap, text)
        if not mine.endswith("局"):
            text = _LOCAL_UNIT_RE.sub(lambda m: _LOCAL_UNIT_MAP[m.group(1)], text)
        text = text.replace("我们我们", "我们")
        if mine != "我们":
            text = text.replace(mine + mine, mine)
        for sector in SECTORS:
            if sector in self.facts:
                continue
            text = re.sub(rf"{sector}({'|'.join(_SECTOR_NOUNS)})", lambda m: _SECTOR_NOUNS[m.group(1)], text)
            text = re.sub(rf"{sector}(?=[一-龥])", "", text)
        return text

    def has_foreign_names(self, text: str) -> bool:
        """Places (jieba's ``ns``) and people (``nr`` followed by a title such as 同志/书记) that the request
        does not mention. jieba tags many plain words ``nr`` (克难, 老同志), hence the title condition."""
        from jieba import posseg

        words = list(posseg.cut(text))
        for i, (word, flag) in enumerate(words):
            if len(word) < 2 or word in _NAME_ALLOW or word in self.facts:
                continue
            following = words[i + 1].word if i + 1 < len(words) else ""
            if flag == "ns" or flag in ("nr", "nrt") and following.startswith(_TITLES):
                return True
        return False

    def adapt(self, sentence: str, own_names: tuple[str, ...] = (), figures: str = "drop") -> str | None:
        """``figures``: "drop" removes a sentence with an unsupported figure, "mark" puts ``【待补：…】`` in
        place of up to two Arabic figures (where figures are expected: 基本情况, achievements), "mark-all"
        replaces every one (generated text, which must not lose the writer's sentence)."""
        text = sentence.strip().strip("　 ")
        if not text or _REDACTION_RE.search(text) or _GAP_RE.search(text):
            return None
        if figures != "mark-all" and _LIST_INTRO_RE.search(text):
            return None  # 针对上述问题，提出以下几点对策建议… introduces the source's own list
        if any(re.search(rf"“[^”]*{s}[^”]*”", text) for s in SECTORS if s not in self.facts):
            return None  # another sector's slogan (“党建红”引领“社保蓝”) cannot be adapted
        if figures != "mark-all" and text.rstrip("”’」』）)")[-1:] in "：:":
            return None  # a sentence that introduces a list (…主要有以下几点：) does not stand alone
        text = normalize_punctuation(self.replace_units(text, own_names))
        if any(s in text for s in SECTORS if s not in self.facts):
            return None
        if figures != "mark-all" and _INNER_ITEM_RE.search(text):
            return None
        bad = self.unsupported_numbers(text)
        if bad:
            markable = figures == "mark-all" or (
                figures == "mark" and len(bad) == 1 and all(re.search(r"\d", t) for t in bad)
            )
            if not markable:
                return None
            for token in bad:
                text = text.replace(token, _placeholder_for(text, token), 1)
        if self.has_foreign_names(text):
            return None
        if text[-1] not in SENTENCE_END + "”’」』）)":
            text += "。"
        return text


def _placeholder_for(text: str, token: str) -> str:
    after = text[text.find(token) + len(token) :][:1]
    if after == "年":
        return "【待补：年份】"
    if after in "月日":
        return "【待补：日期】"
    if "%" in token or "％" in token:
        return "【待补：比例】"
    return "【待补：数量】"


@dataclass
class Unit:
    """A reusable piece of a passage: a lead clause (heading, ``一是`` item or topic sentence) and the
    sentences under it. ``kind``: "heading" | "item" | "topic" | "para"; ``level`` is a heading's level
    (1 for ``一、``, 2 for ``（一）``…); a heading's ``children`` are the ``一是`` items that follow it."""

    kind: str
    lead: str
    sentences: list[str]
    passage: Passage
    level: int = 0
    children: list[Unit] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.lead + "".join(self.sentences) + "".join(c.text for c in self.children)


def _heading_level(marker: str) -> int:
    marker = marker.strip()
    if re.match(r"^[（(]\d", marker):
        return 4
    if re.match(r"^\d", marker):
        return 3
    if re.match(r"^[（(]", marker):
        return 2
    return 1


def _heading_from_path(path: str) -> tuple[str, int]:
    last = path.split(" / ")[-1].strip() if path else ""
    match = _HEADING_RE.match(last) if last else None
    if match and _heading_level(match.group(0)) >= 2:
        return strip_end(last[match.end() :]), _heading_level(match.group(0))
    return "", 0


def passage_units(passage: Passage) -> list[Unit]:
    """Cut a passage into units. Headings and item markers start a unit; numbering is dropped (the draft
    numbers everything itself). Items right after a heading become that heading's children."""
    units: list[Unit] = []
    chunk = passage.chunk
    pending, pending_level = _heading_from_path(chunk.heading_path)
    heading: Unit | None = None  # the heading that items attach to
    for raw in chunk.text.splitlines():
        line = raw.strip().strip("\u3000")
        if not line:
            continue
        head = _HEADING_RE.match(line)
        if head:
            level = _heading_level(head.group(0))
            rest = line[head.end() :]
            first, _, body = rest.partition("。")
            heading = Unit("heading", strip_end(first if body.strip() else rest), [], passage, level)
            units.append(heading)
            if not body.strip():
                continue
            line = body
        elif pending:
            heading = Unit("heading", pending, [], passage, pending_level)
            units.append(heading)
        pending = ""
        pieces = _ITEM_RE.split(line)  # [before, marker, text, marker, text, ...]
        before = split_sentences(pieces[0]) if pieces[0].strip() else []
        if before and len(pieces) > 1 and (heading is None or heading.sentences or heading.children):
            units.append(Unit("intro", "", before, passage))  # 总体来看，…主要有以下几点：
        elif before:
            if heading is not None and not heading.sentences and not heading.children:
                heading.sentences += before
            elif len(strip_end(before[0])) <= 16 and len(before) > 1 and len(pieces) == 1:
                units.append(Unit("topic", strip_end(before[0]), before[1:], passage))
                heading = None
            else:
                units.append(Unit("para", "", before, passage))
                heading = None if len(pieces) == 1 else heading
        for i in range(1, len(pieces) - 1, 2):
            sentences = split_sentences(pieces[i + 1])
            if not sentences:
                continue
            lead, rest = sentences[0], sentences[1:]
            comma = lead.find("，")
            if len(lead) > 40 and 6 <= comma <= 30:
                lead, rest = lead[:comma], [lead[comma + 1 :], *rest]
            item = Unit("item", strip_end(lead), rest, passage)
            if heading is not None:
                heading.children.append(item)
            else:
                units.append(item)
    return [u for u in units if u.lead or u.sentences or u.children]


@dataclass
class SourceBook:
    """Numbers the passages a draft cites, in order of first use; numbers stay stable when a section is
    regenerated."""

    sources: list[Source] = field(default_factory=list)

    def cite(self, passage: Passage) -> int:
        for source in self.sources:
            if source.chunk_id == passage.chunk.chunk_id:
                return source.number
        chunk = passage.chunk
        number = len(self.sources) + 1
        self.sources.append(
            Source(
                number, chunk.chunk_id, chunk.doc_id, chunk.title, chunk.heading_path, chunk.role, chunk.text
            )
        )
        return number


@dataclass
class ComposedSection:
    paragraphs: list[DraftParagraph]
    chunk_ids: list[str]
    numbers_used: int = 0  # level-1 numbers this section consumed


@dataclass
class Composer:
    """Composes sections for one draft. ``used`` keeps a sentence from appearing twice in the draft."""

    doctype: DocType
    request: DraftRequest
    prompts_dir: Path
    book: SourceBook
    adapter: Adapter = field(init=False)
    used: set[str] = field(default_factory=set)
    _linked: int = 0  # connectives used so far (they rotate)
    _run: tuple[str, int, int] = ("", -1, 0)  # (chunk id, end offset, length) of the current verbatim run

    def __post_init__(self) -> None:
        self.adapter = Adapter(self.request, self.prompts_dir)
        self.facts = [normalize_punctuation(x) for m in self.request.materials for x in split_sentences(m)]
        self.facts_used: set[int] = set()

    def take_facts(self, query: str, limit: int, floor: float = 0.2) -> str:
        """The writer's own material sentences closest to ``query`` (each used once in the draft)."""
        scored = [(overlap(query, f), i) for i, f in enumerate(self.facts) if i not in self.facts_used]
        chosen = sorted(i for score, i in sorted(scored, reverse=True)[:limit] if score >= floor)
        self.facts_used.update(chosen)
        return "".join(
            self.facts[i] if self.facts[i][-1] in SENTENCE_END else self.facts[i] + "。" for i in chosen
        )

    def unused_facts(self) -> list[str]:
        return [f for i, f in enumerate(self.facts) if i not in self.facts_used]

    # -- formulas -------------------------------------------------------------------------------------
    def formula(self, name: str, **extra) -> str:
        prompt = get_prompt(self.prompts_dir, name, self.doctype.name)
        r = self.request
        values = dict(topic=r.topic, unit=r.unit, occasion=r.occasion, audience=r.audience, **extra)
        return render(prompt, **values)

    def prompt_refs(self) -> list[dict]:
        refs = []
        for name in ("opening", "lead", "missing", "closing", "connectives"):
            refs.append(get_prompt(self.prompts_dir, name, self.doctype.name).ref())
        return refs

    def connectives(self) -> list[str]:
        return self.formula("connectives").splitlines() or ["同时，"]

    # -- sentence selection ---------------------------------------------------------------------------
    def _own_names(self, passage: Passage) -> tuple[str, ...]:
        match = _TITLE_ORG_RE.match(passage.chunk.title or "")
        return (match.group(0),) if match and len(match.group(0)) >= 2 else ()

    def _track(self, sentence: str, passage: Passage, force: bool = False) -> bool:
        """Keep verbatim stretches short: False when ``sentence`` would extend a run of text copied
        contiguously from one passage beyond ``RUN_LIMIT`` characters (the run then restarts). ``force`` is
        for a lead that must appear: it only extends the run (leads are short, so the run stays < 200)."""
        source = passage.chunk.text
        pos = source.find(sentence.strip().rstrip("。"))
        if pos < 0:
            self._run = ("", -1, 0)
            return True
        chunk_id, end, length = self._run
        gap = pos - end
        contiguous = chunk_id == passage.chunk.chunk_id and 0 <= gap <= 8
        size = len(sentence) + (gap if contiguous else 0)
        if contiguous and length + size > RUN_LIMIT and not force:
            self._run = ("", -1, 0)
            return False
        self._run = (passage.chunk.chunk_id, pos + len(sentence), length + size if contiguous else size)
        return True

    def _adapt(self, sentence: str, passage: Passage, figures: str) -> str | None:
        key = re.sub(r"\s", "", sentence)
        if key in self.used:
            return None
        text = self.adapter.adapt(sentence, self._own_names(passage), figures)
        if text and self._track(sentence, passage):
            self.used.add(key)
            return text
        return None

    def _lead(self, unit: Unit) -> str | None:
        """A unit's lead adapted for use as a sub-heading or item lead (without end punctuation)."""
        if not unit.lead or len(unit.lead) > 40 or re.sub(r"\s", "", unit.lead + "。") in self.used:
            return None
        text = self.adapter.adapt(unit.lead + "。", self._own_names(unit.passage), "drop")
        return strip_end(text) if text else None

    def _sentences(
        self, units: list[Unit], budget: int, figures: str, include_leads: bool = True
    ) -> tuple[str, list[Passage]]:
        """Sentences from ``units`` in order until ``budget`` characters; a connective joins two units."""
        out: list[str] = []
        cited: list[Passage] = []
        size = 0
        connectives = self.connectives()
        for unit in units:
            lead = include_leads and unit.lead and unit.kind == "item"
            pieces = ([unit.lead + "。"] if lead else []) + list(unit.sentences)
            pieces += [s for child in unit.children for s in [child.lead + "。", *child.sentences]]
            taken = 0
            for sentence in pieces:
                if size >= budget:
                    break
                text = self._adapt(sentence, unit.passage, figures)
                if not text:
                    continue
                if taken == 0 and out and not _STARTS_LINKED.match(text):
                    text = connectives[self._linked % len(connectives)] + text
                    self._linked += 1
                out.append(text)
                taken += 1
                size += len(text)
            if taken and unit.passage not in cited:
                cited.append(unit.passage)
            if size >= budget:
                break
        return "".join(out), cited

    def _items(self, children: list[Unit], budget: int, figures: str) -> tuple[str, list[Passage]]:
        """A heading's ``一是`` items, renumbered: ``一是{lead}。{first sentences}二是…``."""
        parts: list[str] = []
        cited: list[Passage] = []
        per_item = max(60, budget // max(1, len(children)))
        for child in children:
            lead = self._lead(child)
            if not lead:
                continue
            self.used.add(re.sub(r"\s", "", child.lead + "。"))
            self._track(child.lead + "。", child.passage, force=True)
            body, more = self._sentences(
                [Unit("para", "", child.sentences, child.passage)], per_item, figures
            )
            parts.append(f"{numerals.item_marker(len(parts) + 1)}{lead}。{body}")
            cited += [child.passage] + more
        return "".join(parts), cited

    def _rank(self, units: list[Unit], query: str) -> list[Unit]:
        def score(u: Unit) -> float:
            return (
                overlap(query, u.lead * 2 + u.passage.chunk.heading_path + u.text[:200])
                + 0.01 * u.passage.score
            )

        return sorted(units, key=score, reverse=True)

    def _derived_points(
        self, units: list[Unit], kinds: tuple[str, ...], limit: int
    ) -> list[tuple[str, Unit]]:
        """Sub-points taken from the sources' own sub-headings / item leads, adapted, without repeats."""
        out: list[tuple[str, Unit]] = []
        for unit in units:
            if (
                unit.kind not in kinds
                or unit.kind == "heading"
                and unit.level < 2
                and "heading1" not in kinds
            ):
                continue
            lead = self._lead(unit)
            if not lead or any(overlap(lead, seen) > 0.5 for seen, _ in out):
                continue
            out.append((lead, unit))
            if len(out) >= limit:
                break
        return out

    # -- sections -------------------------------------------------------------------------------------
    def compose(
        self,
        item: OutlineItem,
        spec: SectionSpec,
        passages: list[Passage],
        point_passages: dict[str, list[Passage]],
        budget: int,
        next_number: int,
    ) -> ComposedSection:
        """One section: its level-1 heading when the form has one, the type's lead-in sentence, then the
        sub-points (the writer's key points, else the sources' own sub-headings) with their bodies."""
        units = [u for p in passages for u in passage_units(p) if u.kind != "intro"]
        same_role = [u for u in units if u.passage.chunk.role == spec.role] or units
        figures = "mark" if spec.role in ("background", "achievements") else "drop"
        nested = spec.numbering == "subheadings" or spec.form == "points"
        paragraphs: list[DraftParagraph] = []
        book = self.book

        def para(text: str, cited: list[Passage], kind: str = "body", level: int = 0) -> None:
            text = text[:-1] + "。" if text.endswith(("；", "，", "、")) else text
            paragraphs.append(DraftParagraph(text, kind, level, sorted({book.cite(p) for p in cited})))

        def missing() -> str:
            return self.formula("missing", key=spec.key, role=spec.role)

        points: list[tuple[str, Unit | None]] = [(p, None) for p in item.points]
        if not points and (spec.numbering != "none" or spec.form in ("points", "topics")):
            if spec.form == "points":
                kinds: tuple[str, ...] = ("heading", "heading1")
            elif spec.form == "topics":
                kinds = ("topic", "heading", "item")
            elif spec.numbering == "subheadings":
                kinds = ("heading", "item")
            else:
                kinds = ("item", "topic", "heading")
            points = list(self._derived_points(same_role, kinds, 3 if spec.form == "points" else 4))
        chosen = {id(u) for _, u in points if u is not None}
        pool = [u for u in units if id(u) not in chosen]
        per_point = max(100, budget // max(1, len(points)))

        def body_for(point: str, unit: Unit | None, allow_items: bool) -> tuple[str, list[Passage]]:
            own = self.take_facts(point, 2) if spec.role in ("achievements", "background") else ""
            body, cited = corpus_body(point, unit, allow_items)
            return own + body, cited

        def corpus_body(point: str, unit: Unit | None, allow_items: bool) -> tuple[str, list[Passage]]:
            candidates = [
                u for p in point_passages.get(point, []) for u in passage_units(p) if u.kind != "intro"
            ]
            candidates += pool
            candidates = [u for u in candidates if id(u) not in chosen or u is unit]
            if unit is None:
                ranked = self._rank(candidates, point)
                best = next((u for u in ranked[:3] if u.children and overlap(point, u.lead) >= 0.25), None)
                if allow_items and best is not None:
                    unit = best
                else:
                    return self._sentences(ranked[:4], per_point, figures)
            self._track(unit.lead + "。", unit.passage, force=True)
            if unit.children and allow_items:
                head, cited = self._sentences(
                    [Unit("para", "", unit.sentences, unit.passage)], per_point // 3, figures
                )
                items, more = self._items(unit.children, per_point, figures)
                return head + items, cited + more
            own = Unit("para", "", unit.sentences, unit.passage, children=unit.children)
            body, cited = self._sentences([own], per_point, figures)
            if len(body) < per_point // 3:
                extra, more = self._sentences(self._rank(pool, point)[:2], per_point - len(body), figures)
                body, cited = body + extra, cited + more
            return body, cited

        count = "两" if len(points) == 2 else numerals.to_chinese(max(1, min(len(points), 99)))
        lead_text = self.formula("lead", key=spec.key, role=spec.role, count=count)
        numbers_used = 0
        if spec.form == "heading":
            para(numerals.level_marker(1, next_number) + item.heading, [], "heading", 1)
            numbers_used = 1

        if spec.form == "points":
            if lead_text:
                para(lead_text, [])
            for n, (point, unit) in enumerate(points):
                body, cited = body_for(point, unit, allow_items=True)
                para(numerals.level_marker(1, next_number + n) + strip_end(point), [], "heading", 1)
                para(body or missing(), cited)
                subs = [
                    u for u in self._rank(pool, point) if u.kind == "heading" and u.level == 2 and u.sentences
                ]
                emitted = 0
                for lead, sub in self._derived_points(subs[:6], ("heading",), 2):
                    chosen.add(id(sub))
                    self._track(sub.lead + "。", sub.passage, force=True)
                    text, more = self._sentences(
                        [Unit("para", "", sub.sentences, sub.passage)], per_point // 2, figures
                    )
                    if text:
                        emitted += 1
                        para(f"{numerals.level_marker(2, emitted)}{lead}。{text}", more, "heading", 2)
            numbers_used = len(points)
        elif spec.form == "paragraph":
            pieces = [lead_text] if lead_text else []
            cited_all: list[Passage] = []
            for n, (point, unit) in enumerate(points):
                body, cited = body_for(point, unit, allow_items=False)
                pieces.append(f"{numerals.item_marker(n + 1)}{strip_end(point)}。{body}")
                cited_all += cited
            if not points:
                pieces.append(missing())
            para("".join(pieces), cited_all)
        elif spec.form == "topics":
            if lead_text:
                body, cited = self._sentences(
                    self._rank(same_role, item.heading + self.request.topic)[:3], per_point, figures
                )
                para(lead_text + body, cited)
            if points and (item.points or not lead_text):
                for point, unit in points:
                    body, cited = body_for(point, unit, allow_items=False)
                    para(f"{strip_end(point)}。{body or missing()}", cited)
            elif not lead_text:
                para(missing(), [])
        else:  # one level-1 heading with subheadings / items / plain text
            if lead_text:
                para(lead_text, [])
            if spec.numbering == "none" or not points:
                ranked = self._rank(same_role, f"{self.request.topic}{item.heading}")
                own = (
                    self.take_facts(item.heading + self.request.topic, 99, 0.0)
                    if spec.role == "background"
                    else ""
                )
                body, cited = self._sentences(ranked[:3], max(100, budget - len(own)), figures)
                if spec.role == "background" and not own or not body:
                    body += missing()
                para(own + body, cited)
            else:
                for n, (point, unit) in enumerate(points):
                    body, cited = body_for(point, unit, allow_items=nested)
                    if nested:
                        text = f"{numerals.level_marker(2, n + 1)}{strip_end(point)}。{body or missing()}"
                        para(text, cited, "heading", 2)
                    else:
                        para(f"{numerals.item_marker(n + 1)}{strip_end(point)}。{body}", cited)
        chunk_ids = sorted({book.sources[n - 1].chunk_id for p in paragraphs for n in p.sources})
        return ComposedSection(paragraphs, chunk_ids, numbers_used)
