"""Which corpus sentences the offline composer may use for this writer, and why the rest may not.

The composer never rewrites a source sentence to fit (the old unit-renaming turned a 工委's achievement
into the writer's and mangled the writer's own name); it only chooses. A sentence is refused when it carries
a figure the writer did not supply (or whose value only coincides with one of theirs), a redaction mark, scraping gap, typo or wrong 提法 (``content.hygiene``),
an instruction to a model, another document's own unit/brand/office/sector term (``content.lexicon``),
another organisation, person or place, a dated event or another year's campaign, a stage direction, or a
document title of another organisation; or when it only introduces a list the composer does not copy.
``reason`` says which, so tests and the UI can show why a passage was not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..content import hygiene
from ..content.lexicon import ORG_RE, SUPERIORS, unit_kind
from ..evals import metrics
from ..evals.checks.numbers import context_shared, number_sources
from ..records import DraftRequest
from .adapt import _BOOK_TITLE_RE, _NATIONAL_TITLE_RE, figures_in, is_instruction

_DATED_RE = re.compile(
    r"\d{1,2}月\d{1,2}日|[上去今前本]年\d{0,2}[一二三四五六七八九十\d]*月|(?<!\d)(?:19|20)\d\d年(?!度)|"
    r"[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}日|近日|日前|前不久|上周|本周"
)
_STAGE_RE = re.compile(
    r"^下面[，,](?:请|由|进行)|请.{1,12}(?:讲话|发言|作.{0,6}(?:报告|部署))|起立|鼓掌|奏唱"
)
_LIST_INTRO_RE = re.compile(r"以下几|如下[：:]?$|具体表现为|主要表现在|主要有.{0,4}方面|[：:][”’」』）)]*$")
_PERSON_RE = re.compile(
    r"(?:[张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文][×某Ｘ]{1,2}|[×Ｘ][一-龥]?)"
    r"(?:同志|书记|局长|校长|院长|主任|部长|县长|市长|镇长|所长|处长|科长|老师|代表)"
)
_NATIONAL_CLAIM_RE = re.compile(r"我国|全国|国务院|中央政府|各地区各部门|本届政府|过去一年|过去五年|新冠")
# a clause reporting a result (事故总量和重特大事故数量持续下降): the report's own outcome, not a directive
_RESULT_CLAUSE_RE = re.compile(
    r"(?:^|[，,；;])(?![^，,；;]*(?:确保|力争|推动|促进|努力|使|让|要|不断|推进))[^，,；;]{2,30}"
    r"(?:持续|继续|明显|大幅|稳步|显著|逐步)?(?:下降|减少|增长|上升|好转|改善|增加|提高|提升|扩大|缩小|回升|向好)[。；;]?$"
)


@dataclass
class Guard:
    """Decides, sentence by sentence, what the composer may take for ``request``."""

    request: DraftRequest
    prompts_dir: Any
    lexicon: Any = None  # content.lexicon.Lexicon of the writer's corpus (None: no foreign-term test)
    doctype: Any = (
        None  # the DocType: a sentence in another's voice for it is refused (a report gives no orders)
    )
    allowed: str = field(init=False)
    allow_numerals: tuple[str, ...] = field(init=False)
    supported: set[str] = field(init=False)
    sources: list[tuple[str, set[str]]] = field(init=False)
    kind: str = field(init=False)

    def __post_init__(self) -> None:
        r = self.request
        self.allowed = "\n".join(
            [r.topic, r.unit, r.occasion, r.audience, r.speaker, *r.points, *r.materials]
        )
        self.allow_numerals = metrics.fixed_numerals(str(self.prompts_dir))
        self.supported = metrics.request_support(r)
        self.sources = number_sources(r, [])
        self.kind = unit_kind(r.unit)

    def reason(self, sentence: str, public: bool = False) -> str | None:
        """Why ``sentence`` may not be used (Chinese), or None when it may."""
        text = sentence.strip()
        if len(text) < 6:
            return "句子过短"
        if issues := hygiene.sentence_issues(text, self.request.year):
            return issues[0]
        if is_instruction(text):
            return "含有针对大模型的指令"
        if self.doctype is not None and self.doctype.in_others_voice(text):
            return f"语气不符：{self.doctype.label}是向上报告，不对他人提要求"
        if _LIST_INTRO_RE.search(text):
            return "只是引出原文的列举"
        if _STAGE_RE.search(text):
            return "会议程序用语"
        if (m := _DATED_RE.search(text)) and m.group(0) not in self.allowed:
            return f"含有其他时间的事件“{m.group(0)}”"
        # a figure is the writer's only where the sentence says what the writer's sentence with that value
        # says (the eval's number tie, one definition): another unit's “36 个定点机构” is no fact of a writer
        # whose materials hold a 36 about something else
        bad = [
            f
            for f in figures_in(text, self.allow_numerals)
            if f.value is None
            or f.value not in self.supported
            or not any(f.value in values and context_shared(src, text) for src, values in self.sources)
        ]
        if bad:
            return f"含有材料中没有的数字“{bad[0].text}”"
        if m := _PERSON_RE.search(text):
            return f"含有他人姓名或职务“{m.group(0)}”"
        for m in ORG_RE.finditer(text):
            name = m.group(0)
            if name not in self.allowed and name not in SUPERIORS and not name.startswith(("全", "各")):
                return f"含有其他单位“{name}”"
        for m in _BOOK_TITLE_RE.finditer(text):
            title = m.group(1).strip()
            if title and title not in self.allowed and not _NATIONAL_TITLE_RE.match(title):
                return f"引用了其他单位的文件《{title}》"
        if public and (m := _NATIONAL_CLAIM_RE.search(text)):
            return f"全国层面的表述“{m.group(0)}”"
        if public and (m := _RESULT_CLAUSE_RE.search(text)):
            return f"报告自身的成效表述“{m.group(0).lstrip('，,；;')}”"
        if self.lexicon is not None:
            found = self.lexicon.foreign_terms(text, self.allowed, self.kind)
            if found:
                return f"含有其他单位或行业的专有内容{found[0].label()}"
        return None

    def ok(self, sentence: str, public: bool = False) -> bool:
        return self.reason(sentence, public) is None
