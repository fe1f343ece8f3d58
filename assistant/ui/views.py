"""Presentation helpers for the web UI that need no Gradio: form parsing, labels for the generator and the
checklist, upload names, and the app-wide live settings. Kept apart so they are unit-tested without a
server, and so the tab modules hold only wiring."""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InputError
from ..index.loaders import SUPPORTED_SUFFIXES
from ..records import (
    Draft,
    DraftRequest,
)
from ..request_fields import (  # noqa: F401  (re-exported: the form's limits are drafting's)
    MAX_LINE_FIELD_CHARS,
    MAX_POINTS_CHARS,
    MAX_TOPIC_CHARS,
    check_field,
    strip_markup,
)
from ..settings import Settings

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES  # what the loaders read decides what may be uploaded
MATERIAL_SUFFIXES = SUPPORTED_SUFFIXES

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
    length: float | int | str | None = None,
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
    target = _count(length)
    return DraftRequest(
        doc_type=doc_type.strip(),
        topic=topic,
        unit=unit,
        occasion=occasion,
        points=split_points(points),
        materials=list(materials or []),
        length=target,
    )


def _count(length: Any) -> int | None:
    """The target length from the form: empty is None, else a positive whole number."""
    text = str(length if length is not None else "").strip()
    if not text:
        return None
    try:
        target = int(float(text))
    except ValueError:
        target = -1
    if target < 0:
        raise InputError("目标字数应为正整数，或留空使用该文种的常规篇幅。")
    return target or None


def request_form_values(request: dict[str, Any] | None) -> dict[str, Any]:
    """The form fields for a saved request dict (as kept in the browser)."""
    request = request or {}
    return {
        "doc_type": request.get("doc_type") or None,
        "topic": request.get("topic") or "",
        "unit": request.get("unit") or "",
        "occasion": request.get("occasion") or "",
        "points": "\n".join(request.get("points") or []),
        "length": str(request.get("length") or ""),
    }


def generator_label(draft: Draft) -> str:
    """Which generator made the draft (``Draft.generator``) and the last change, in words (no schema keys,
    no template versions: the draft records those for the evals, the writer needs none of them)."""
    gen = draft.generator or {}
    backend = str(gen.get("backend", "") or "composer")
    if backend == "composer":
        text = "离线组稿（依据范文库检索结果组织文字，未调用大模型）"
    else:
        model = gen.get("model") or ""
        text = f"大模型 {model}（{gen.get('base_url') or backend}）"
        if gen.get("fallback_from") or gen.get("fallback_sections"):
            count = len(gen.get("fallback_sections") or []) or 1
            text += f"；其中 {count} 个部分因大模型出错改用离线组稿"
    revised = gen.get("revised")
    if isinstance(revised, dict) and revised.get("part"):
        text += f"；最近修改：{revised.get('action', '')}“{revised['part']}”"
    return f"**起草方式**：{text}"


def warnings_markdown(warnings: list[str]) -> str:
    if not warnings:
        return ""
    return "**注意**\n\n" + "\n".join(f"- {w}" for w in warnings)


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
    """Rows of the corpus table: title, file (with the part, for a document split out of a 合集), type
    (label), sections, chunks."""
    rows = []
    for doc in documents:
        doc_type = doc.get("doc_type") or ""
        label = labels.get(doc_type, doc_type or "未识别")
        confidence = doc.get("type_confidence")
        if not doc_type:
            label = "未识别（请在下方更正文种）"
        elif isinstance(confidence, int | float) and confidence < 1:
            label = f"{label}（自动识别 {min(confidence, 0.99):.0%}）"  # a detection is never certain
        rows.append(
            [
                doc.get("title") or "",
                Path(str(doc.get("path") or "")).name
                + (f" 第 {doc['part']}/{doc.get('parts', '?')} 篇" if doc.get("part") else ""),
                label,
                doc.get("sections", ""),
                doc.get("chunks", ""),
            ]
        )
    return rows


def checklist_markdown(scorecard: Any) -> str:
    """The structure checklist (a ``metrics.Scorecard``) as a list that fits the narrow side column: one line
    per check (mark, name, 必查/参考, why), hard requirements first, then the count of 【待补：…】 places the
    writer still has to fill."""
    results = sorted(scorecard.results, key=lambda r: not r.gate)
    rows = []
    placeholders = 0
    for result in results:
        mark = {None: "—", True: "✔"}.get(result.passed, "✘" if result.gate else "△")
        kind = "必查" if result.gate else "参考"
        reason = str(result.reason).replace("\n", " ")
        rows.append(f"- {mark} **{result.label or result.name}**（{kind}）：{reason}")
        if result.name == "leftovers":
            placeholders = len(result.details.get("placeholders", []))
    rows.append(f"- {'△' if placeholders else '✔'} **【待补】**（参考）：{placeholders} 处需要补充事实或数字")
    verdict = "✔ 必查项全部通过" if scorecard.passed else "✘ 有必查项未通过，请对照修改"
    return f"**{verdict}**\n\n" + "\n".join(rows) + "\n"
