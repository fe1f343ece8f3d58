"""The writer's request, checked and cleaned, and the values formulas are rendered with.

Every way in (CLI, web UI, evals) builds a ``DraftRequest``; this module is where it is checked (type known,
topic given, fields within the form's limits) and where the topic is read as a formula needs it
(``content.occasions.topic_forms``): a topic typed as a whole title or ending in 工作 must not make a
template read "做好防汛工作工作" or "总结在全县…会议上的讲话工作".
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..content import occasions
from ..doctypes import DocType, get_doctype
from ..errors import InputError
from ..records import DraftRequest, Outline
from ..request_fields import MAX_LINE_FIELD_CHARS, MAX_TOPIC_CHARS, check_field, check_points
from ..settings import Settings


def clean_request(request: DraftRequest) -> DraftRequest:
    """``request`` with HTML and Markdown markup stripped from its text fields (key points left empty are
    dropped), or a Chinese ``InputError`` when a field is longer than the form allows
    (``request_fields``: topic, unit, occasion 200 characters each, key points 5,000 together)."""
    topic = check_field("主题", request.topic, MAX_TOPIC_CHARS)
    if not topic:
        if request.topic and request.topic.strip():
            raise InputError("主题中只有网页或 Markdown 标记，没有文字：请填写主题（--topic）。")
        raise InputError("请填写主题（--topic），例如“机关党支部标准化规范化建设”。")
    return replace(
        request,
        topic=topic,
        unit=check_field("单位", request.unit, MAX_LINE_FIELD_CHARS),
        occasion=check_field("场合", request.occasion, MAX_LINE_FIELD_CHARS),
        audience=check_field("对象", request.audience, MAX_LINE_FIELD_CHARS),
        speaker=check_field("讲话人/述职人", request.speaker, MAX_LINE_FIELD_CHARS),
        points=check_points(list(request.points)),
    )


def check_request(request: DraftRequest, settings: Settings) -> DocType:
    """The request's type, or a Chinese error about what is missing or too long."""
    doctype = get_doctype(request.doc_type, settings.prompts_dir)
    clean_request(request)
    if request.length is not None and request.length <= 0:
        raise InputError("目标字数（--length）应为正整数。")
    return doctype


def occasion_of(request: DraftRequest, doctype: DocType, settings: Settings) -> str:
    """The occasion text: as given, else the one a title-shaped topic names (在全县…会议上的讲话)."""
    return request.occasion or occasions.topic_forms(request.topic).occasion


def occasion_class_of(request: DraftRequest, doctype: DocType, settings: Settings) -> str:
    path = settings.prompts_dir / "occasions.yaml"
    return (
        request.occasion_class
        or occasions.classify(occasion_of(request, doctype, settings), request.topic, path)
        or doctype.default_occasion
    )


_POST_END = re.compile(
    r"(?:书记|局长|主任|部长|县长|市长|区长|镇长|乡长|村长|校长|院长|所长|处长|科长|股长|经理|董事长|主席|"
    r"委员|组长|队长|站长|馆长|厅长|秘书长|负责人)(?:\s*[\u4e00-\u9fff×＊*]{2,4})?$"
)


def signer(request: DraftRequest) -> str:
    """Who speaks or signs: the speaker field, else the unit field when it names a post (局党组书记)."""
    if request.speaker.strip():
        return request.speaker.strip()
    unit = request.unit.strip()
    return unit if _POST_END.search(unit) else ""


def template_values(request: DraftRequest, outline: Outline | None = None) -> dict[str, Any]:
    """What formulas and titles are rendered with: the request's fields, the topic's forms, the occasion
    class and skeleton of the outline."""
    forms = occasions.topic_forms(request.topic)
    return {
        "topic": forms.core,
        "topic_work": forms.work,
        "topic_as_typed": request.topic,
        "unit": request.unit,
        "occasion": request.occasion or forms.occasion,
        "audience": request.audience,
        "speaker": request.speaker,
        "signer": signer(request),
        "occasion_class": outline.occasion_class if outline else request.occasion_class,
        "skeleton": outline.skeleton if outline else request.skeleton,
        "year": request.year or "",
    }
