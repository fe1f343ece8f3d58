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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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

    def section(self, key: str) -> SectionSpec:
        for spec in self.sections:
            if spec.key == key:
                return spec
        raise KeyError(key)

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
    return Formula(required=bool(data.get("required", True)), pattern=str(data["pattern"]))


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
    length = data["length"]
    detect, zones = _detect(path, data.get("detect"))
    return DocType(
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
    )


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
