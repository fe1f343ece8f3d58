"""Presentation helpers for the web UI that need no Gradio: form parsing, the editable outline text,
source labels, the checklist table, upload names, and the app-wide live settings.

Kept apart from ``ui.py`` so they can be unit-tested without starting a server, and so ``ui*.py`` modules
hold only wiring. The trade-off: the outline is edited as plain text (one ``## heading [标记]`` line per
section, the tag naming its role in Chinese, ``- point`` lines under it) rather than in a grid; plain text is quicker to edit and to drive from
a browser test, at the cost of a tag the writer must leave in place.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InputError
from ..records import (
    Draft,
    DraftRequest,
    Outline,
    OutlineItem,
)
from ..request_fields import (  # noqa: F401  (re-exported: the form's limits are drafting's)
    MAX_LINE_FIELD_CHARS,
    MAX_POINTS_CHARS,
    MAX_TOPIC_CHARS,
    check_field,
    strip_markup,
)
from ..settings import Settings

UPLOAD_SUFFIXES = (".txt", ".md", ".docx")
MATERIAL_SUFFIXES = (".txt", ".md", ".docx")

ROLE_LABELS = {
    "opening": "开头",
    "background": "基本情况",
    "achievements": "成效做法",
    "problems": "问题",
    "causes": "原因",
    "measures": "措施打算",
    "requirements": "要求意见",
    "closing": "结尾",
    "other": "其他",
}

_TAG = re.compile(r"\s*[\[［]\s*([^\[\]［］]{1,20}?)\s*[\]］]\s*$")
_KEY = re.compile(r"[A-Za-z][\w-]*")
_BULLET = re.compile(r"^\s*(?:[-*·•]|\d+[.、]|[（(]\d+[)）])\s*")


class LiveSettings:
    """The running app's settings, changeable from the settings tab (in memory only, shared by sessions)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    def get(self) -> Settings:
        with self._lock:
            return self._settings

    def update(self, **values: Any) -> Settings:
        with self._lock:
            self._settings = replace(self._settings, **values)
            return self._settings


# ---- request form ------------------------------------------------------------------------------------


def split_points(text: str | None) -> list[str]:
    """Key points, one a line; bullets and numbering the writer typed, and HTML/Markdown markup, are
    dropped."""
    points = []
    for line in strip_markup(text).splitlines():
        line = _BULLET.sub("", line).strip()
        if line:
            points.append(line)
    return points


def missing_fields(doc_type: str | None, topic: str | None) -> list[str]:
    """The required request fields that are empty, named as on the form."""
    missing = []
    if not (doc_type or "").strip():
        missing.append("文种")
    if not (topic or "").strip():
        missing.append("主题")
    return missing


def build_request(
    doc_type: str,
    topic: str,
    unit: str = "",
    occasion: str = "",
    points: str = "",
    materials: list[str] | None = None,
    length: float | int | None = None,
) -> DraftRequest:
    missing = missing_fields(doc_type, topic)
    if missing:
        raise InputError(f"请先填写：{'、'.join(missing)}。")
    topic = check_field("主题", topic, MAX_TOPIC_CHARS)
    if not topic:
        raise InputError("主题中只有网页或 Markdown 标记，没有文字：请填写主题。")
    unit = check_field("单位", unit, MAX_LINE_FIELD_CHARS)
    occasion = check_field("场合", occasion, MAX_LINE_FIELD_CHARS)
    points = check_field("要点", points, MAX_POINTS_CHARS)
    target = int(length) if length else None
    if target is not None and target <= 0:
        raise InputError("目标字数应为正整数，或留空使用该文种的常规篇幅。")
    return DraftRequest(
        doc_type=doc_type.strip(),
        topic=topic,
        unit=unit,
        occasion=occasion,
        points=split_points(points),
        materials=list(materials or []),
        length=target,
    )


def request_form_values(request: dict[str, Any] | None) -> dict[str, Any]:
    """The form fields for a saved request dict (as kept in the browser)."""
    request = request or {}
    return {
        "doc_type": request.get("doc_type") or None,
        "topic": request.get("topic") or "",
        "unit": request.get("unit") or "",
        "occasion": request.get("occasion") or "",
        "points": "\n".join(request.get("points") or []),
        "length": request.get("length"),
    }


# ---- the editable outline ----------------------------------------------------------------------------


def _tags(outline: Outline) -> dict[str, str]:
    """The tag shown after each section's heading, by section key: the Chinese label of its role (``[问题]``)
    where that label names one key of the outline only, else the key itself."""
    roles: dict[str, str] = {}
    for item in outline.items:
        roles.setdefault(item.key, item.role)
    keys_by_label: dict[str, list[str]] = {}
    for key, role in roles.items():
        keys_by_label.setdefault(ROLE_LABELS.get(role, key), []).append(key)
    return {key: label if len(keys) == 1 else key for label, keys in keys_by_label.items() for key in keys}


def outline_to_text(outline: Outline) -> str:
    tags = _tags(outline)
    lines = [f"# {outline.title}"]
    for item in outline.items:
        lines.append(f"## {item.heading} [{tags[item.key]}]")
        lines.extend(f"- {point}" for point in item.points)
    return "\n".join(lines)


def text_to_outline(text: str, original: Outline) -> Outline:
    """Parse the writer's edited outline text back into an ``Outline`` based on ``original``.

    Each ``## heading [标记]`` line starts a section; the tag (the role's Chinese label, or the schema key,
    which older texts show) ties it to the type's schema section (its role and numbering come from the
    original outline). A heading without a tag is matched to the original by its text; a bracketed ending
    that is no tag (``［试行］``) stays part of the heading. Sections the writer deleted are left out; new
    sections need a tag of the original outline.
    """
    by_key: dict[str, OutlineItem] = {}
    by_heading: dict[str, OutlineItem] = {}
    for item in original.items:
        by_key.setdefault(item.key, item)
        by_heading.setdefault(item.heading, item)
    by_tag = {tag: by_key[key] for key, tag in _tags(original).items()}
    title = original.title
    items: list[OutlineItem] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("## ") or line == "##":
            heading = line[2:].strip()
            tag = _TAG.search(heading)
            name = tag.group(1).strip() if tag else ""
            if tag and not (name in by_tag or name in by_key or _KEY.fullmatch(name)):
                tag = None  # a bracketed ending of the heading itself, not a tag
            if tag:
                heading = heading[: tag.start()].strip()
                base = by_tag.get(name) or by_key.get(name)
                if base is None:
                    valid = "、".join(f"[{t}]" for t in dict.fromkeys(by_tag))
                    raise InputError(f"提纲第 {number} 行的章节标记 [{name}] 无效，可用的标记：{valid}。")
            else:
                base = by_heading.get(heading)
                if base is None:
                    raise InputError(
                        f"提纲第 {number} 行“{heading}”缺少章节标记（如 [{original.items[0].key}]），"
                        "请保留每个“## ”标题行末尾的 [标记]。"
                    )
            if not heading:
                raise InputError(f"提纲第 {number} 行的章节标题为空，请填写标题或删除该行。")
            items.append(replace(base, heading=heading, points=[]))
        elif line.startswith("# "):
            title = line[2:].strip() or title
        else:
            if not items:
                raise InputError(f"提纲第 {number} 行“{line}”不在任何章节下，请放到某个“## ”标题行之后。")
            point = _BULLET.sub("", line).strip()
            if point:
                items[-1].points.append(point)
    if not items:
        raise InputError("提纲中没有章节。请至少保留一个“## 标题 [标记]”行，或重新生成提纲。")
    return Outline(doc_type=original.doc_type, title=title, items=items)


def outline_from_dict(data: dict[str, Any]) -> Outline:
    return Outline.from_dict(data)


# ---- drafts ------------------------------------------------------------------------------------------


def draft_from_dict(data: dict[str, Any]) -> Draft:
    """Rebuild a ``Draft`` from ``Draft.to_dict()`` output (as stored in the browser)."""
    return Draft.from_dict(data)


def used_chunk_ids(draft: Draft) -> set[str]:
    """Chunks the draft's text actually drew on (by section source ids and paragraph source marks)."""
    used: set[str] = set()
    by_number = {s.number: s.chunk_id for s in draft.sources}
    for section in draft.sections:
        used.update(section.source_ids)
        for paragraph in section.paragraphs:
            used.update(by_number[n] for n in paragraph.sources if n in by_number)
    return used


def source_choices(
    draft: Draft, retrieved: dict[str, list[dict[str, Any]]] | list[dict[str, Any]] | None = None
) -> list[tuple[str, str]]:
    """(label, chunk_id) per source for a clickable list: the draft's numbered sources first, the cited
    ones marked ✔, then every other passage retrieved for the draft (``retrieved``: per section key, or a
    flat list, of ``Passage.to_dict()``-like dicts) marked ○ 未引用; one entry per chunk."""
    used = used_chunk_ids(draft)
    out = []
    seen: set[str] = set()
    for source in draft.sources:
        mark = "✔ 已引用" if source.chunk_id in used else "○ 未引用"
        role = ROLE_LABELS.get(source.role, source.role)
        path = source.heading_path or "（正文）"
        out.append((f"[{source.number}] {mark}｜{source.title}｜{path}｜{role}", source.chunk_id))
        seen.add(source.chunk_id)
    groups = list(retrieved.values()) if isinstance(retrieved, dict) else [retrieved or []]
    for passages in groups:
        for passage in passages or []:
            chunk_id = str(passage.get("chunk_id") or "")
            if not chunk_id or chunk_id in seen:
                continue
            seen.add(chunk_id)
            mark = "✔ 已引用" if chunk_id in used else "○ 未引用"
            role = ROLE_LABELS.get(str(passage.get("role") or ""), str(passage.get("role") or ""))
            path = passage.get("heading_path") or "（正文）"
            out.append((f"{mark}｜{passage.get('title') or ''}｜{path}｜{role}", chunk_id))
    return out


def generator_label(draft: Draft) -> str:
    """Which generator made the draft (``Draft.generator``), in words, with prompt versions in small type."""
    gen = draft.generator or {}
    backend = str(gen.get("backend", "") or "composer")
    if backend == "composer":
        text = "离线组稿（依据范文库检索结果组织文字，未调用大模型）"
    else:
        model = gen.get("model") or ""
        text = f"大模型 {model}（{gen.get('base_url') or backend}）"
        if gen.get("fallback_from"):
            text += f"；自“{gen['fallback_from']}”部分起改用离线组稿"
    if gen.get("regenerated"):
        text += f"；最近重写：{gen['regenerated']}"
    prompts = gen.get("prompts") or []
    names = [f"{p.get('name')} v{p.get('version')}" for p in prompts if isinstance(p, dict) and p.get("name")]
    extra = f"  \n<small>模板：{'、'.join(names[:6])}</small>" if names else ""
    return f"**起草方式**：{text}{extra}"


def warnings_markdown(warnings: list[str]) -> str:
    if not warnings:
        return ""
    return "**注意**\n\n" + "\n".join(f"- {w}" for w in warnings)


def context_markdown(context: dict[str, Any]) -> str:
    """The passage in its document: title, heading path, then the text around it with the passage in bold."""
    title = context.get("title") or context.get("doc_title") or ""
    path = context.get("heading_path") or ""
    before = str(context.get("before") or "").strip()
    text = str(context.get("text") or context.get("passage") or "").strip()
    after = str(context.get("after") or "").strip()
    parts = [f"**{title}**" + (f"  \n{path}" if path else "")]
    if before:
        parts.append(before)
    if text:
        parts.append("\n\n".join(f"**{p}**" for p in text.splitlines() if p.strip()))
    if after:
        parts.append(after)
    return "\n\n".join(parts)


def safe_filename(title: str, suffix: str, fallback: str = "公文草稿") -> str:
    """A download name from a draft title: Chinese kept, path and reserved characters replaced."""
    name = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', "_", unicodedata.normalize("NFC", title or "")).strip(" ._")
    return f"{(name or fallback)[:80]}{suffix}"


# ---- uploads -----------------------------------------------------------------------------------------


def safe_upload_name(name: str) -> str:
    """The file name an upload is stored under: directories (``../``, absolute paths, ``C:\\``) stripped,
    control and reserved characters replaced, Chinese kept; raises ``InputError`` when nothing usable is
    left or the type is not supported."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = unicodedata.normalize("NFC", base)
    base = re.sub(r'[\x00-\x1f<>:"/\\|?*]+', "_", base).strip(" .")
    suffix = Path(base).suffix.lower()
    stem = base[: -len(suffix)] if suffix else base
    stem = stem.strip(" ._")
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"文件“{name}”的类型不受支持：只能上传 {'、'.join(UPLOAD_SUFFIXES)} 文件。")
    if not stem:
        raise InputError(f"文件名“{name}”无效，请改用包含文字的文件名后重新上传。")
    return f"{stem[:100]}{suffix}"


def unique_destination(folder: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where to store an upload called ``name`` in ``folder``: the same name when free or identical
    (second value True: already there), else ``name-2``, ``name-3`` …"""
    candidate = folder / name
    stem, suffix = candidate.stem, candidate.suffix
    n = 1
    while candidate.exists():
        if candidate.read_bytes() == data:
            return candidate, True
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate, False


# ---- corpus and checklist tables ---------------------------------------------------------------------


def document_rows(documents: list[dict[str, Any]], labels: dict[str, str]) -> list[list[Any]]:
    """Rows of the corpus table: title, file, type (label), sections, chunks."""
    rows = []
    for doc in documents:
        doc_type = doc.get("doc_type") or ""
        label = labels.get(doc_type, doc_type or "未识别")
        confidence = doc.get("type_confidence")
        if not doc_type:
            label = "未识别（请在下方更正文种）"
        elif isinstance(confidence, int | float) and confidence < 1:
            label = f"{label}（自动识别 {confidence:.0%}）"
        rows.append(
            [
                doc.get("title") or "",
                Path(str(doc.get("path") or "")).name,
                label,
                doc.get("sections", ""),
                doc.get("chunks", ""),
            ]
        )
    return rows


def checklist_markdown(scorecard: Any) -> str:
    """The structure checklist (a ``metrics.Scorecard``) as a table: one row per check, hard requirements
    first, then the count of 【待补：…】 places the writer still has to fill."""
    results = sorted(scorecard.results, key=lambda r: not r.gate)
    rows = []
    placeholders = 0
    for result in results:
        if result.passed is None:
            mark = "—"
        else:
            mark = "✔ 通过" if result.passed else ("✘ 未通过" if result.gate else "△ 偏低")
        kind = "必查" if result.gate else "参考"
        reason = str(result.reason).replace("|", "｜").replace("\n", " ")
        rows.append(f"| {mark} | {result.label or result.name} | {kind} | {reason} |")
        if result.name == "leftovers":
            placeholders = len(result.details.get("placeholders", []))
    rows.append(
        f"| {'△ 待填' if placeholders else '✔ 无'} | 【待补】 | 参考 | {placeholders} 处需要补充事实或数字 |"
    )
    verdict = "✔ 必查项全部通过" if scorecard.passed else "✘ 有必查项未通过，请对照修改"
    return f"**{verdict}**\n\n| 结果 | 检查项 | 类别 | 说明 |\n|---|---|---|---|\n" + "\n".join(rows)
