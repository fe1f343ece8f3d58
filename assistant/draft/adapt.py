"""The faithfulness guard shared by both generators: a sentence may only state what the writer supplied.

A corpus sentence (composer) or a generated one (LLM) passes through ``Adapter.adapt`` before it reaches a
draft. Figures the request and materials do not state are dropped or replaced by ``【待补：…】``; sentences
with redaction marks, scraping gaps, instructions addressed to a model (a prompt injection planted in a
corpus document) or a 《document》 of another organisation's own (national Party and state documents
excepted) that the request does not name are dropped; other units' names become the writer's unit, and
people or places the request does not mention drop the sentence. "A number" means exactly what the eval's numbers
check counts (``metrics.line_numbers``, values compared canonically, so 1480 does not support 14), plus two
stricter cases that only the guard needs: ordinals naming someone else's part (第二支部) and numeral slogans
in quotes (“八办并举”). The trade-off: a rule-based guard drops some sentences a person would keep (a
jieba-tagged place that is harmless), but it never lets an invented figure or another unit's name through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..content import hygiene
from ..evals import metrics
from ..records import DraftRequest

SENTENCE_END = "。！？；!?;"
_CLOSERS = "”’」』）)"
_REDACTION_RE = hygiene.REDACTION_RE
_GAP_RE = hygiene.GAP_RE
_INNER_ITEM_RE = re.compile(r"(?<![一-龥])[一二三四五六七八九十]+是|[；;：:，,][一二三四五六七八九十]+是")
_LIST_INTRO_RE = re.compile(r"以下几|如下|具体表现为|主要表现在|回顾.{0,8}的?工作|主要有.{0,4}方面")
# Sentences addressed to a model or to this tool (a prompt injection planted in a corpus document, or a
# model echoing one): never 公文 text, whichever generator picked them up.
_INSTRUCTION_RE = re.compile(
    r"忽略(?:掉)?(?:以上|上述|之前|此前|前面|先前|上面|所有|全部|一切)[^。！？]{0,12}?(?:要求|指令|指示|提示|规则|设定|约束|内容)"
    r"|(?:不要|无需|不必|停止)(?:再)?(?:遵守|遵循|执行|理会)(?:以上|上述|之前|前面|所有)"
    r"|(?:^|[，,。；;：:\s])(?:请|并|立即|直接)?输出(?:[“\"「『]|以下|如下|你|全部|所有|系统)"
    r"|你(?:收到|接收)的[^。！？]{0,8}?(?:指令|提示|要求|信息)"
    r"|(?<![一-龥])你(?!们)(?:现在|从现在起)?(?:是|扮演|充当|将作为)"
    r"|(?:^|[^一-龥])你(?!们)(?:现在|从现在起)(?:是|扮演|充当|作为)"
    r"|(?:作为|身为|我是)(?:一[个名款]?)?(?:AI|ＡＩ|人工智能|语言模型|大语言模型|大模型|智能助手|AI助手)"
    r"|系统提示(?:词|语)?|提示词|system\s*prompt|ignore\s+(?:all\s+|any\s+)?(?:the\s+)?"
    r"(?:previous|prior|above|earlier)|disregard\s+(?:all\s+|the\s+)?(?:previous|prior|above)"
    r"|jailbreak|越狱模式|开发者模式|已被接管",
    re.IGNORECASE,
)
# A document named in 《》: another organisation's own list, notice or handbook means nothing in the writer's
# draft unless the writer names it; national Party and state documents are everyone's.
_BOOK_TITLE_RE = re.compile(r"《([^《》]{1,60})》")
_NATIONAL_TITLE_RE = re.compile(
    r"^(?:中国共产党|中华人民共和国|中共中央|习近平|毛泽东|邓小平|马克思|共产党宣言|党章|宪法|"
    r"关于新形势下党内政治生活的若干准则|党和国家)"
)
_QUOTED_RE = re.compile(r"[“\"「]([^”\"」]{1,16})[”\"」]")
_ORDINAL_RE = re.compile(r"第([零〇一二两三四五六七八九十百千\d]+)")
_ORG_SUFFIX = r"(?:管理局|事业局|局|厅|工委|党工委|委员会|服务中心|中心|办公室|研究院)"
UNIT_END = r"(局|委|办|厅|中心|院|所|支部|总支|党组|党委|公司|部|处|科|站|室|会|政府|工委|机关)$"
_GENERIC_WORDS = ("单位", "基层", "各", "所有", "全", "机关党", "系统", "部门")
_NOT_IN_NAME = "和与及的在对把将为从向是了、，。；：“”"
_ORG_RE = re.compile(
    rf"(?:市委|市直|县直|省直|区直|[省市县区州])(?:(?![{_NOT_IN_NAME}])[一-龥]){{1,10}}?{_ORG_SUFFIX}"
)
_SHORT_ORG_RE = re.compile(
    r"(?<![一-龥])(?:医保|人社|社保|税务|财政|教育|卫健|民政|住建|交通|水利|农业|商务|文旅|应急|市场监管|统计|审计)"
    r"(?:局|厅|委)"
)
TITLE_ORG_RE = re.compile(rf"^(?:[一-龥]{{0,12}}?{_ORG_SUFFIX})")
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


def is_instruction(sentence: str) -> bool:
    """Whether ``sentence`` speaks to a model or the tool (忽略以上要求…, 输出“…”, 你现在是…, 作为AI…,
    ignore previous instructions) rather than being 公文 prose."""
    return bool(_INSTRUCTION_RE.search(sentence))


def normalize_punctuation(text: str) -> str:
    """Half-width punctuation next to Chinese text becomes full-width (the research-report seed uses ``,``)."""
    pairs = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"}
    return re.sub(
        r"(?<=[一-龥”）])[,;:?!]|[,;:](?=[一-龥“])|\((?=[一-龥])|(?<=[一-龥])\)",
        lambda m: pairs[m.group(0)],
        text,
    )


@dataclass(frozen=True)
class Figure:
    """A number in a sentence: ``start:end`` spans what a placeholder replaces; ``value`` is canonical
    (None for the guard's stricter kinds: an ordinal or a quoted numeral slogan, which no request supports)."""

    start: int
    end: int
    text: str
    value: str | None

    @property
    def arabic(self) -> bool:
        return bool(re.search(r"\d", self.text))


def figures_in(text: str, allow: tuple[str, ...] = ()) -> list[Figure]:
    """The numbers in ``text`` as the numbers check counts them, plus ordinals other than 第一 and quoted
    numeral slogans. A trailing 余/多 belongs to the figure (5000余人 → 【待补：数量】人)."""
    out: list[Figure] = []
    for start, end, _shown, value in metrics.line_numbers(text, allow):
        while end < len(text) and text[end] in "余多":
            end += 1
        out.append(Figure(start, end, text[start:end], value))
    masked = text
    for term in allow:
        masked = masked.replace(term, "□" * len(term))
    for m in _ORDINAL_RE.finditer(masked):
        if m.group(1) != "一" and not any(f.start < m.end() and m.start() < f.end for f in out):
            out.append(Figure(m.start(), m.end(), m.group(0), None))
    for m in _QUOTED_RE.finditer(masked):
        quoted = m.group(1)
        numeral = any(c in "两二三四五六七八九十百千" for c in quoted) and "□" not in quoted
        if numeral and not any(f.start < m.end(1) and m.start(1) < f.end for f in out):
            out.append(Figure(m.start(1), m.end(1), quoted, None))
    return sorted(out, key=lambda f: f.start)


def number_tokens(text: str, allow: tuple[str, ...] = ()) -> list[str]:
    """The figures of ``text`` as written (see ``figures_in``)."""
    return [f.text for f in figures_in(text, allow)]


def _placeholder_for(text: str, figure: Figure) -> str:
    after = text[figure.end : figure.end + 1]
    if after == "年":
        return "【待补：年份】"
    if after in ("月", "日"):
        return "【待补：日期】"
    if "%" in figure.text or "％" in figure.text or text[figure.start : figure.start + 3] == "百分之":
        return "【待补：比例】"
    return "【待补：数量】"


@dataclass
class Adapter:
    """Adapts a sentence for the writer: facts only from the request, no redaction marks, no other unit's
    name. ``adapt`` returns the sentence to use or None when it cannot be used."""

    request: DraftRequest
    prompts_dir: Path
    facts: str = ""
    allow: tuple[str, ...] = ()
    supported: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        r = self.request
        self.facts = "\n".join([r.topic, r.unit, r.occasion, r.audience, *r.points, *r.materials])
        self.allow = metrics.fixed_numerals(str(self.prompts_dir))
        self.supported = metrics.request_support(r)

    @property
    def unit_name(self) -> str:
        """The writer's unit when the field names one; a speech's speaker line (局党组书记 张明) does not."""
        unit = self.request.unit.strip()
        return unit if re.search(UNIT_END, unit) and not re.search(r"\s", unit) else ""

    def unsupported(self, text: str) -> list[Figure]:
        """Figures in ``text`` that the request and materials do not state."""
        return [f for f in figures_in(text, self.allow) if f.value is None or f.value not in self.supported]

    def unsupported_numbers(self, text: str) -> list[str]:
        return [f.text for f in self.unsupported(text)]

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

    def foreign_document(self, text: str) -> str | None:
        """The first 《title》 in ``text`` that is neither a national Party/state document nor named in the
        request or materials (a source's own 《市直机关…清单》 in another unit's draft), else None."""
        for match in _BOOK_TITLE_RE.finditer(text):
            title = match.group(1).strip()
            if title and title not in self.facts and not _NATIONAL_TITLE_RE.match(title):
                return title
        return None

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
        place of one unsupported Arabic figure (where figures are expected: 基本情况, achievements),
        "mark-all" replaces every one (generated text, which must not lose the writer's sentence)."""
        text = sentence.strip().strip("　 ")
        if not text or _REDACTION_RE.search(text) or _GAP_RE.search(text) or is_instruction(text):
            return None
        generated = figures == "mark-all"
        if not generated and _LIST_INTRO_RE.search(text):
            return None  # 针对上述问题，提出以下几点对策建议… introduces the source's own list
        if any(re.search(rf"“[^”]*{s}[^”]*”", text) for s in SECTORS if s not in self.facts):
            return None  # another sector's slogan (“党建红”引领“社保蓝”) cannot be adapted
        if not generated and text.rstrip(_CLOSERS)[-1:] in "：:":
            return None  # a sentence that introduces a list (…主要有以下几点：) does not stand alone
        if self.foreign_document(text):
            return None
        text = normalize_punctuation(self.replace_units(text, own_names))
        if any(s in text for s in SECTORS if s not in self.facts):
            return None
        if not generated and _INNER_ITEM_RE.search(text):
            return None
        bad = self.unsupported(text)
        if bad:
            markable = generated or (
                figures == "mark" and len(bad) == 1 and bad[0].arabic and bad[0].value is not None
            )
            if not markable:
                return None
            for figure in reversed(bad):  # from the end, so earlier spans stay valid
                text = text[: figure.start] + _placeholder_for(text, figure) + text[figure.end :]
        if self.has_foreign_names(text):
            return None
        if text[-1] not in SENTENCE_END + _CLOSERS:
            text += "。"
        return text

    def guard(self, sentences: list[str]) -> tuple[str, int]:
        """The guard on generated text, sentence by sentence: unsupported figures become 【待补】, sentences
        with redaction marks or names the request does not carry are dropped, other units' names replaced.
        Returns the guarded text and how many sentences it dropped or changed."""
        out, changed = [], 0
        for sentence in sentences:
            adapted = self.adapt(sentence, figures="mark-all")
            if adapted is None:
                changed += 1
                continue
            if adapted != sentence and not adapted.startswith(sentence):
                changed += 1
            out.append(adapted)
        return "".join(out), changed
