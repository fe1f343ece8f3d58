"""Document types as data: one ``schema.yaml`` per type under ``prompts/types/<name>/``.

A schema names the type's title pattern, salutation, opening and closing formulas (as regular expressions
that recognise them), its ordered sections with their roles, and a length band. The drafting pipeline builds
outlines from it and the eval suite checks drafts against it, so there is one copy of each type's shape.
Adding a type means adding a folder; no code changes.

Section ``form``:
  heading    one level-1 heading ``一、{heading}``
  points     one level-1 heading per key point (a speech's 意见)
  paragraph  unheaded body paragraph(s) recognised by role (a speech's review, problems, causes)
  topics     topic-sentence paragraphs (``对标政治强统领。…``), as in work reports
Section ``numbering`` (inside the section): ``subheadings`` (（一）（二）), ``items`` (一是、二是), ``none``.

``detect`` (type detection, ``index/detect.py``): either a flat table ``{word: weight}`` (body words, the
first format) or a table per zone of the document, ``{zone: {regular expression: weight}}``, with zones
``DETECT_ZONES``: title (title and —— subtitle lines, each line ending at ``$``), speaker (speaker, unit and
date lines under the title), salutation, opening (first ~300 characters of the body), closing (last ~240),
signature (trailing name/date lines), headings (each numbered heading or topic sentence), person and body
(the whole text; each match counts, up to a cap), shape (computed features: ``topics``). Weights may be
negative. Patterns use full-width punctuation. A zone this version does not know is kept and ignored, so a
schema written for a later version still loads.

Section ``needs``: what the section must say, in the writer's words (主要做法、数据和典型事例); it becomes the
guidance gap 【待补：围绕“…”写明…】 where neither the writer nor the corpus supplies text.
Section ``style``: how its 小标题 read (对仗 ``要…`` headings for a speech's 意见, topic sentences for a 汇报);
the model path proposes the outline's headings in that style.

``register`` (type, and per skeleton): who speaks to whom — ``speaker``, ``audience``, ``person``
(本人/我们/我局), ``direction`` (对上/对下), ``tone`` — one-line Jinja2 patterns over the formula values
(``speaker``, ``unit``, ``audience``…); the model path's prompts carry them. A formula (``opening``,
``closing``) is ``fixed: true`` when its words are set (汇报完毕，不当之处，请各位领导批评指正；以上报告，请予评议):
every generator uses the type's formula file; otherwise it is free, and the model writes it for the occasion
following ``guide`` and must match ``pattern``.

A type is a family of skeletons (``skeletons``): each names its sections in order (keys of ``sections``), the
occasion classes and words that choose it, and may override the salutation and the opening/closing
patterns (a 家长会 speech opens 尊敬的各位家长：, a written 情况报告 ends 特此报告). A skeleton's ``joins`` lists
sections it gains, in the type's order, when the writer's materials hold facts of their role that no section
of the skeleton takes (an 经验型 调研报告 given a shortcoming gets its 存在的问题 part). ``sections`` without a
``skeletons`` list is one skeleton, ``default``. ``with_skeleton(name)`` gives the type as that skeleton
sees it, so the composer, the model path and the checks all read one shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import InputError
from .records import ROLES

FORMS = ("heading", "points", "paragraph", "topics")
DETECT_ZONES = (
    "title",
    "speaker",
    "salutation",
    "opening",
    "closing",
    "signature",
    "headings",
    "person",
    "body",
    "shape",
)
NUMBERINGS = ("subheadings", "items", "none")


@dataclass(frozen=True)
class Formula:
    required: bool
    pattern: str  # a regular expression searched in the draft's paragraph (opening) or last paragraphs
    fixed: bool = False  # its words are set: every generator uses the type's formula file
    guide: str = ""  # for a free formula: what the model writes (the pattern checks it)

    def matches(self, text: str) -> bool:
        return bool(re.search(self.pattern, text, flags=re.MULTILINE))


@dataclass(frozen=True)
class SectionSpec:
    key: str
    role: str
    heading: str
    form: str
    numbering: str
    required: bool
    points_here: bool = False
    needs: str = ""  # what the section must say (guidance for gaps, prompts and the outline editor)
    facts_only: bool = False  # written only from the writer's facts (a speech's 成效), else a gap
    style: str = ""  # how its 小标题 read (the model path's outline follows it)


@dataclass(frozen=True)
class Skeleton:
    name: str
    label: str
    sections: tuple[str, ...]  # section keys in order
    occasions: tuple[str, ...] = ()  # occasion classes that choose it
    words: tuple[str, ...] = ()  # words in the topic, occasion or points that choose it
    salutation: str | None = None
    opening: Formula | None = None
    closing: Formula | None = None
    register: tuple[tuple[str, str], ...] = ()  # overrides of the type's register entries
    title: str | None = None
    joins: tuple[str, ...] = ()  # sections added when the writer's facts need them (an 经验型's 问题)


@dataclass(frozen=True)
class DocType:
    name: str
    label: str
    version: int
    title: str  # Jinja2 pattern over the request fields
    subtitle: str
    salutation: str
    opening: Formula
    closing: Formula
    sections: tuple[SectionSpec, ...]
    length_min: int
    length_max: int
    detect: dict[str, float] = field(default_factory=dict)  # body word (regex) -> weight, the flat table
    path: str = ""
    detect_zones: dict[str, dict[str, float]] = field(default_factory=dict)  # zone -> {regex: weight}
    skeletons: tuple[Skeleton, ...] = ()
    all_sections: tuple[SectionSpec, ...] = ()  # every section any skeleton uses
    skeleton: str = ""  # the skeleton ``sections`` follows
    default_occasion: str = ""  # the occasion class when the request names none
    register: tuple[tuple[str, str], ...] = ()  # (speaker|audience|person|direction|tone, pattern)
    type_register: tuple[tuple[str, str], ...] = ()  # the type's own, before a skeleton's overrides
    connectives: tuple[str, ...] = ()  # patterns of the type's generic language (exempt from topicality)
    others_voice: tuple[
        str, ...
    ] = ()  # patterns of sentences in another's voice (a report upward gives no orders)

    def in_others_voice(self, sentence: str) -> bool:
        """The sentence speaks in another's voice for this type (要…… in a 述职报告): the composer's guard and
        the voice check ask the same question."""
        return any(re.search(p, sentence) for p in self.others_voice)

    def section(self, key: str) -> SectionSpec:
        for spec in self.all_sections or self.sections:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def get_skeleton(self, name: str) -> Skeleton:
        for skeleton in self.skeletons:
            if skeleton.name == name:
                return skeleton
        names = "、".join(f"{k.name}（{k.label}）" for k in self.skeletons)
        raise InputError(f"{self.label}没有名为“{name}”的结构。可选：{names}")

    def with_skeleton(self, name: str) -> DocType:
        """The type as skeleton ``name`` shapes it: its sections in its order, its formulas."""
        if not self.skeletons or not name:
            return self
        skeleton = self.get_skeleton(name)
        return replace(
            self,
            sections=tuple(self.section(key) for key in skeleton.sections),
            salutation=self.salutation if skeleton.salutation is None else skeleton.salutation,
            opening=skeleton.opening or self.opening,
            closing=skeleton.closing or self.closing,
            title=skeleton.title or self.title,
            skeleton=skeleton.name,
            register=tuple((dict(self.type_register) | dict(skeleton.register)).items()),
        )

    def joined(self, roles: set[str]) -> DocType:
        """The type widened by its skeleton's ``joins`` sections whose role is in ``roles`` (the parts the
        writer's points or facts ask for), in the type's order: a 部署会 speech given a “存在的问题：…”
        point gets its 存在的不足 part, an 经验型 调研报告 given a shortcoming its 存在的问题 part, instead
        of the problem becoming an 意见 or the fact being dropped."""
        if not self.skeleton or not roles:
            return self
        have = [s.key for s in self.sections]
        joins = self.get_skeleton(self.skeleton).joins
        add = [k for k in joins if k not in have and self.section(k).role in roles]
        if not add:
            return self
        order = [s.key for s in self.all_sections or self.sections]
        keys = list(have)
        for key in add:  # after the skeleton's last part that comes before it in the type's order
            before = [i for i, k in enumerate(keys) if order.index(k) < order.index(key)]
            keys.insert(before[-1] + 1 if before else 0, key)
        return replace(self, sections=tuple(self.section(k) for k in keys))

    def choose_skeleton(self, occasion_class: str, text: str) -> str:
        """The skeleton for a request: the first whose words occur in ``text`` (topic, occasion, points),
        else the first listing ``occasion_class``, else the first (the default)."""
        if not self.skeletons:
            return ""
        for skeleton in self.skeletons:
            if skeleton.words and any(w in text for w in skeleton.words):
                return skeleton.name
        for skeleton in self.skeletons:
            if occasion_class and occasion_class in skeleton.occasions:
                return skeleton.name
        return self.skeletons[0].name

    @property
    def required_roles(self) -> list[str]:
        return [s.role for s in self.sections if s.required]


def types_dir(prompts_dir: Path) -> Path:
    return Path(prompts_dir) / "types"


def _bad(path: Path, what: str) -> InputError:
    return InputError(f"文种定义文件 {path} 有误：{what}")


def _formula(path: Path, data: object, name: str) -> Formula:
    if not isinstance(data, dict) or "pattern" not in data:
        raise _bad(path, f"缺少 {name}.pattern")
    try:
        re.compile(data["pattern"])
    except re.error as exc:
        raise _bad(path, f"{name}.pattern 不是有效的正则表达式：{exc}") from exc
    return Formula(
        required=bool(data.get("required", True)),
        pattern=str(data["pattern"]),
        fixed=bool(data.get("fixed", False)),
        guide=str(data.get("guide") or ""),
    )


REGISTER_KEYS = ("speaker", "audience", "person", "direction", "tone")


def _register(path: Path, data: object, where: str) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise _bad(path, f"{where} 应为映射（{'、'.join(REGISTER_KEYS)}）")
    unknown = [str(k) for k in data if k not in REGISTER_KEYS]
    if unknown:
        raise _bad(path, f"{where} 中有未知的项：{'、'.join(unknown)}；可用：{'、'.join(REGISTER_KEYS)}")
    return tuple((str(k), str(v or "")) for k, v in data.items())


def _weights(path: Path, where: str, table: object) -> dict[str, float]:
    if not isinstance(table, dict):
        raise _bad(path, f"{where} 应为“正则表达式: 权重”的映射")
    out: dict[str, float] = {}
    for pattern, weight in table.items():
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise _bad(path, f"{where} 中的“{pattern}”不是有效的正则表达式：{exc}") from exc
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise _bad(path, f"{where} 中“{pattern}”的权重应为数字")
        out[str(pattern)] = float(weight)
    return out


def _detect(path: Path, data: object) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(flat body words, zone tables) of a schema's ``detect`` entry (either format, or both mixed)."""
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise _bad(path, "detect 应为映射")
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    zones = {str(k): _weights(path, f"detect.{k}", v) for k, v in data.items() if isinstance(v, dict)}
    return _weights(path, "detect", flat), zones


def load_doctype(path: Path) -> DocType:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise _bad(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise _bad(path, "内容应为映射")
    for key in ("name", "label", "title", "opening", "closing", "sections", "length"):
        if key not in data:
            raise _bad(path, f"缺少字段 {key}")
    sections = []
    for i, raw in enumerate(data["sections"] or []):
        spec = SectionSpec(
            key=str(raw.get("key", "")),
            role=str(raw.get("role", "")),
            heading=str(raw.get("heading", "")),
            form=str(raw.get("form", "heading")),
            numbering=str(raw.get("numbering", "none")),
            required=bool(raw.get("required", True)),
            points_here=bool(raw.get("points_here", False)),
            needs=str(raw.get("needs") or ""),
            facts_only=bool(raw.get("facts_only", False)),
            style=str(raw.get("style") or ""),
        )
        if not spec.key:
            raise _bad(path, f"第 {i + 1} 个章节缺少 key")
        if spec.role not in ROLES:
            raise _bad(path, f"章节 {spec.key} 的 role “{spec.role}”无效，可选：{'、'.join(ROLES)}")
        if spec.form not in FORMS:
            raise _bad(path, f"章节 {spec.key} 的 form “{spec.form}”无效，可选：{'、'.join(FORMS)}")
        if spec.numbering not in NUMBERINGS:
            raise _bad(
                path, f"章节 {spec.key} 的 numbering “{spec.numbering}”无效，可选：{'、'.join(NUMBERINGS)}"
            )
        sections.append(spec)
    if not sections:
        raise _bad(path, "至少需要一个章节")
    keys = [spec.key for spec in sections]
    if len(set(keys)) != len(keys):
        raise _bad(path, "章节 key 重复")
    skeletons = _skeletons(path, data.get("skeletons"), keys)
    length = data["length"]
    detect, zones = _detect(path, data.get("detect"))
    doctype = DocType(
        name=str(data["name"]),
        label=str(data["label"]),
        version=int(data.get("version", 1)),
        title=str(data["title"]),
        subtitle=str(data.get("subtitle") or ""),
        salutation=str(data.get("salutation") or ""),
        opening=_formula(path, data["opening"], "opening"),
        closing=_formula(path, data["closing"], "closing"),
        sections=tuple(sections),
        length_min=int(length["min"]),
        length_max=int(length["max"]),
        detect=detect,
        path=str(path),
        detect_zones=zones,
        skeletons=skeletons,
        all_sections=tuple(sections),
        default_occasion=str(data.get("default_occasion") or ""),
        register=_register(path, data.get("register"), "register"),
        type_register=_register(path, data.get("register"), "register"),
        connectives=_patterns(path, data.get("connectives"), "connectives"),
        others_voice=_patterns(path, data.get("others_voice"), "others_voice"),
    )
    return doctype.with_skeleton(skeletons[0].name) if skeletons else doctype


def _patterns(path: Path, raw: object, name: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad(path, f"{name} 应为正则表达式列表")
    for pattern in raw:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise _bad(path, f"{name} 中的“{pattern}”不是有效的正则表达式：{exc}") from exc
    return tuple(str(p) for p in raw)


def _skeletons(path: Path, raw: object, keys: list[str]) -> tuple[Skeleton, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise _bad(path, "skeletons 应为非空列表")
    out = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not item.get("name") or not item.get("sections"):
            raise _bad(path, f"第 {i} 个结构（skeletons）缺少 name 或 sections")
        unknown = [k for k in [*item["sections"], *(item.get("joins") or ())] if k not in keys]
        if unknown:
            raise _bad(path, f"结构 {item['name']} 引用了未定义的章节：{'、'.join(map(str, unknown))}")
        out.append(
            Skeleton(
                name=str(item["name"]),
                label=str(item.get("label") or item["name"]),
                sections=tuple(str(k) for k in item["sections"]),
                occasions=tuple(str(o) for o in item.get("occasions") or ()),
                words=tuple(str(w) for w in item.get("words") or ()),
                salutation=None if item.get("salutation") is None else str(item["salutation"]),
                opening=_formula(path, item["opening"], "opening") if item.get("opening") else None,
                closing=_formula(path, item["closing"], "closing") if item.get("closing") else None,
                register=_register(path, item.get("register"), f"结构 {item['name']} 的 register"),
                title=str(item["title"]) if item.get("title") else None,
                joins=tuple(str(k) for k in item.get("joins") or ()),
            )
        )
    return tuple(out)


@lru_cache(maxsize=16)
def _load_all(folder: str, stamp: tuple) -> dict[str, DocType]:
    out: dict[str, DocType] = {}
    for schema in sorted(Path(folder).glob("*/schema.yaml")):
        doctype = load_doctype(schema)
        if doctype.name != schema.parent.name:
            raise _bad(schema, f"name “{doctype.name}”应与所在文件夹名“{schema.parent.name}”一致")
        out[doctype.name] = doctype
    return out


def load_doctypes(prompts_dir: Path) -> dict[str, DocType]:
    """All types under ``prompts_dir/types``, keyed by name (cached until a schema file changes)."""
    folder = types_dir(prompts_dir)
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(folder.glob("*/schema.yaml")))
    types = _load_all(str(folder), stamp)
    if not types:
        raise InputError(f"在 {folder} 下没有找到任何文种定义（*/schema.yaml）。")
    return types


def type_names(prompts_dir: Path) -> tuple[str, ...]:
    """The names of the types under ``prompts_dir`` (the schemas, not a list in code, say which exist)."""
    return tuple(load_doctypes(prompts_dir))


def get_doctype(name: str, prompts_dir: Path) -> DocType:
    """The type called ``name``; an unknown name raises an error that lists the valid ones."""
    types = load_doctypes(prompts_dir)
    if name not in types:
        valid = "、".join(f"{t.name}（{t.label}）" for t in types.values())
        shown = name if name else "（未填写）"
        raise InputError(f"未知的文种：{shown}。可选文种：{valid}")
    return types[name]
