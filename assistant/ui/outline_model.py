"""Edits of an outline as the structured editor makes them, on ``Outline.to_dict()`` dicts, with no Gradio.

Each function returns a new dict (the old one is untouched) or raises ``InputError`` with what to do. A
section keeps its schema key and role (the writer sees the role's Chinese name, never the key); a removed
section can be added back from the type's schema. Text is cleaned of markup and held to the form's limits.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import InputError
from ..request_fields import MAX_LINE_FIELD_CHARS, strip_markup

Outline = dict[str, Any]


def _copy(outline: Outline) -> Outline:
    return copy.deepcopy(outline)


def _clean(text: str, what: str) -> str:
    text = strip_markup(text or "").strip()
    if len(text) > MAX_LINE_FIELD_CHARS:
        raise InputError(f"{what}过长（{len(text)} 字），请控制在 {MAX_LINE_FIELD_CHARS} 字以内。")
    return text


def move_section(outline: Outline, index: int, delta: int) -> Outline:
    out = _copy(outline)
    items = out["items"]
    target = index + delta
    if 0 <= index < len(items) and 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    return out


def remove_section(outline: Outline, index: int) -> Outline:
    out = _copy(outline)
    if len(out["items"]) <= 1:
        raise InputError("提纲至少要保留一个部分。")
    removed = out["items"].pop(index)
    if removed.get("points"):  # a point is never lost with its section: it moves to the next one
        out["items"][min(index, len(out["items"]) - 1)]["points"].extend(removed["points"])
    return out


def missing_sections(outline: Outline, schema_sections: list[dict[str, str]]) -> list[dict[str, str]]:
    """The type's sections (``key``, ``role``, ``heading``…) the outline no longer has."""
    present = {item["key"] for item in outline["items"]}
    return [s for s in schema_sections if s["key"] not in present]


def add_section(outline: Outline, section: dict[str, Any]) -> Outline:
    """Add a schema section (as ``missing_sections`` lists it) back at the end."""
    out = _copy(outline)
    if any(item["key"] == section["key"] for item in out["items"]):
        raise InputError(f"提纲中已有“{section['heading']}”这一部分。")
    out["items"].append(
        {
            "key": section["key"],
            "role": section["role"],
            "heading": section["heading"],
            "points": [],
            "numbering": section.get("numbering", "headings"),
            "facts": [],
            "pairs": {},
            "note": "",
            "form": section.get("form", ""),
        }
    )
    return out


def set_title(outline: Outline, title: str) -> Outline:
    out = _copy(outline)
    out["title"] = _clean(title, "标题") or out["title"]
    return out


def set_heading(outline: Outline, index: int, heading: str) -> Outline:
    out = _copy(outline)
    heading = _clean(heading, "部分标题")
    if not heading:
        raise InputError("部分标题不能为空：请填写标题，或删除这一部分。")
    out["items"][index]["heading"] = heading
    return out


def set_point(outline: Outline, index: int, point: int, text: str) -> Outline:
    """Change a point's words; emptied, the point is removed."""
    out = _copy(outline)
    text = _clean(text, "要点")
    points = out["items"][index]["points"]
    if 0 <= point < len(points):
        if text:
            points[point] = text
        else:
            points.pop(point)
    return out


def add_point(outline: Outline, index: int, text: str) -> Outline:
    out = _copy(outline)
    text = _clean(text, "要点")
    if not text:
        raise InputError("要点为空：请先输入要点的内容。")
    out["items"][index]["points"].append(text)
    return out


def remove_point(outline: Outline, index: int, point: int) -> Outline:
    out = _copy(outline)
    points = out["items"][index]["points"]
    if 0 <= point < len(points):
        points.pop(point)
    return out


def move_point(outline: Outline, index: int, point: int, to_key: str) -> Outline:
    """Move a point to the end of the section with key ``to_key``."""
    out = _copy(outline)
    target = next((item for item in out["items"] if item["key"] == to_key), None)
    points = out["items"][index]["points"]
    if target is None or not 0 <= point < len(points) or target is out["items"][index]:
        return out
    target["points"].append(points.pop(point))
    return out


def point_up(outline: Outline, index: int, point: int) -> Outline:
    out = _copy(outline)
    points = out["items"][index]["points"]
    if 0 < point < len(points):
        points[point - 1], points[point] = points[point], points[point - 1]
    return out
