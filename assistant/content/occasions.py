"""What occasion a request names, and the topic as a phrase a formula can carry.

A speech at a 开班式 does not thank earlier speakers, a 防汛 deployment meeting does not "总结…工作", a
parents' meeting has no 成效/问题/原因. The class is read from the occasion text (and topic) by the
keywords of ``prompts/occasions.yaml``; templates and skeletons branch on it and the evals' formula-fit
check uses the same file. The topic a writer types may be a whole title ("在全县防汛工作部署会议上的讲话",
"…述职报告") or end in 工作: ``topic_forms`` reduces it to its core and gives the forms a formula needs, so
no template writes "做好防汛工作工作" or "总结在全县…会议上的讲话工作".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import InputError


@dataclass(frozen=True)
class OccasionClass:
    name: str
    label: str
    keywords: tuple[str, ...]
    opening_fits: str
    opening_misfits: tuple[str, ...]


@dataclass(frozen=True)
class Occasions:
    classes: tuple[OccasionClass, ...]
    default: str
    grammar_misfits: tuple[str, ...]

    def get(self, name: str) -> OccasionClass | None:
        return next((c for c in self.classes if c.name == name), None)


def default_path() -> Path:
    from ..settings import PROJECT_ROOT

    return PROJECT_ROOT / "prompts" / "occasions.yaml"


@lru_cache(maxsize=4)
def _load(path: str, stamp: int) -> Occasions:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        classes = tuple(
            OccasionClass(
                str(c["name"]),
                str(c.get("label", c["name"])),
                tuple(str(k) for k in c.get("keywords") or ()),
                str(c.get("opening_fits") or ""),
                tuple(str(p) for p in c.get("opening_misfits") or ()),
            )
            for c in data.get("classes") or []
        )
        for c in classes:
            for pattern in (c.opening_fits, *c.opening_misfits):
                re.compile(pattern)
        misfits = tuple(str(p) for p in data.get("grammar_misfits") or ())
        for pattern in misfits:
            re.compile(pattern)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, re.error) as exc:
        raise InputError(f"场合分类文件 {path} 有误：{exc}") from exc
    return Occasions(classes, str(data.get("default") or ""), misfits)


def load(path: Path | None = None) -> Occasions:
    path = Path(path or default_path())
    if not path.is_file():
        return Occasions((), "", ())
    return _load(str(path), path.stat().st_mtime_ns)


def classify(occasion: str, topic: str = "", path: Path | None = None) -> str:
    """The occasion class named by the occasion text, else by the topic; "" when neither names one."""
    table = load(path)
    for text in (occasion, topic):
        for cls in table.classes:
            if text and any(k in text for k in cls.keywords):
                return cls.name
    return ""


# ------------------------------------------------------------------------------------------- topic forms
_TITLE_SPEECH = re.compile(r"^在(.{2,60}?)上的(?:讲话|发言|致辞|报告|汇报发言|表态发言|主持词)(?:稿)?$")
_TITLE_RESEARCH = re.compile(r"^关于(.{2,60}?)(?:情况)?的(?:调研|调查|考察)(?:报告)?$")
_TITLE_DUTY = re.compile(r"^(.{0,60}?)(?:的)?(?:个人)?(?:述职(?:述廉|述德|述法|述学)*|述廉述职)(?:报告)?$")
_TITLE_SUMMARY = re.compile(r"^(.{2,60}?)(?:工作)?(?:总结|情况汇报|情况报告|汇报)$")
_MEETING = re.compile(
    r"^(?:全[省市县区镇乡]|[省市县区镇乡])?(.{2,30}?)(?:工作)?(?:部署|推进|总结|表彰|动员|调度|座谈|培训)?"
    r"(?:工作)?(?:会议|大会|会|座谈会|现场会|推进会|培训班|开班式)$"
)
_VERB_START = re.compile(
    r"^(?:发挥|推进|推动|加强|加快|抓好|抓|做好|提升|提高|深化|强化|开展|落实|完善|健全|建设|打造|促进|"
    r"坚持|实施|优化|构建|争创|创建|巩固|扩大|保障|服务)"
)
_NOUN_END = re.compile(r"(?:工作|建设|管理|服务|治理|改革|发展|保障|监管|执法|教育|防控|整治)$")


@dataclass(frozen=True)
class TopicForms:
    core: str  # what the document is about, no trailing 工作/情况, no title frame: 防汛, 居家养老服务
    work: str  # as the object of 做好/推进: 防汛工作, 发挥基层党支部战斗堡垒作用相关工作
    occasion: str  # the occasion a title named ("" when the topic was not a title)
    verb_phrase: bool


def topic_forms(topic: str) -> TopicForms:
    """The forms of ``topic`` that formulas use (see the module docstring)."""
    text = re.sub(r"[\s“”\"《》]", "", topic or "").rstrip("。；;，,：:")
    occasion = ""
    if m := _TITLE_SPEECH.match(text):
        occasion = m.group(1)
        meeting = _MEETING.match(occasion)
        text = meeting.group(1) if meeting else occasion
    elif m := _TITLE_RESEARCH.match(text):
        text = m.group(1)
    elif m := _TITLE_DUTY.match(text):
        text = m.group(1) or "履职"
    elif m := _TITLE_SUMMARY.match(text):
        text = m.group(1)
    text = re.sub(r"^关于", "", text)
    core = re.sub(r"(?:的)?(?:有关|相关|实际|具体)?(?:工作)?情况$", "", text) or text
    core = re.sub(r"(?:各项)?工作$", "", core) or core
    typed_as_noun = bool(re.search(r"工作$", text))  # 抓基层党建工作: the writer's own noun phrase
    verb = bool(_VERB_START.match(core)) and not _NOUN_END.search(core) and not typed_as_noun
    work = core + ("相关工作" if verb else "工作")
    return TopicForms(core=core, work=work, occasion=occasion, verb_phrase=verb)


def grammar_misfits(text: str, path: Path | None = None) -> list[str]:
    """Places where a formula reads badly (a doubled word, a title inside a sentence): the matched text."""
    out = []
    for pattern in load(path).grammar_misfits:
        out += [m.group(0) for m in re.finditer(pattern, text)]
    return out


def opening_misfits(opening: str, occasion_class: str, path: Path | None = None) -> list[str]:
    """Phrases of ``opening`` that do not fit the occasion class (thanks for speeches at a 开班式)."""
    cls = load(path).get(occasion_class)
    if cls is None:
        return []
    return [m.group(0) for p in cls.opening_misfits for m in re.finditer(p, opening)]
