"""The outline (提纲): the skeleton a request calls for, with the writer's key points and facts in place.

A type is a family of skeletons (``doctypes``): the request names one, or its occasion class (开班式,
部署会, 家长会…) and words (经验, 述廉, 表态…) choose it. Key points go to the section their own words
say: a point about problems (“存在的问题：…”) or next steps (“下一步：…”) goes to those sections, never
under achievements; the rest to the skeleton's points section. The writer's materials are read as facts
(``content.facts``): each goes to the section of its role (a survey's shortcoming to 问题, a figure of
work done to 成效/履职), under the key point it is about; a fact with no section of its role in this
skeleton is kept unplaced, with the section it fits best, so the draft can list it for the writer.
Every section carries what it must say (``needs``), which becomes its guidance gap when nothing fills it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..content import facts as facts_mod
from ..content import words
from ..doctypes import DocType
from ..prompts import render_string
from ..records import DraftRequest, Fact, Outline, OutlineItem
from ..request_fields import strip_markup
from ..settings import Settings
from .request import check_request, clean_request, occasion_class_of, template_values

_NUMBERING = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十\d]+[）)][、．.]?|\d+[.．、](?!\d)|[一二三四五六七八九十]+是)\s*"
)
_END = "。；;，,：:！!？?、 "
# a key point's own words naming the part it belongs to (the label is dropped when it leads the point)
_POINT_ROLES = (
    ("causes", re.compile(r"^(?:原因(?:分析)?[：:]|.{0,6}原因)")),
    (
        "problems",
        re.compile(
            r"^(?:问题|不足|短板|差距|存在的问题|存在问题|主要问题)[：:]|问题和不足|存在的?问题|短板弱项"
        ),
    ),
    ("measures", re.compile(r"^(?:下一步|今后|打算|计划|明年|对策|建议)[：:]?|下一步|工作打算|对策建议")),
)
_LABEL = re.compile(
    r"^(?:原因(?:分析)?|问题|不足|存在的问题|存在问题|主要问题|下一步(?:工作)?(?:打算)?|今后|打算|计划|对策|建议)[：:]"
)
# a key point that is itself a review of what was done (its facts may stand under it in any skeleton)
_REVIEW_POINT = re.compile(r"成效|成绩|成果|做法|回顾|履职|工作情况|主要工作|进展|基本情况")
# which section roles take a point of each kind, best first
_POINT_TARGETS = {
    "problems": ("problems",),
    "causes": ("causes", "problems"),
    "measures": ("measures", "requirements"),
}
NUMBERINGS = {"subheadings": "headings", "items": "items", "none": "plain"}


def clean_point(point: str) -> str:
    text = _NUMBERING.sub("", strip_markup(point).strip())
    return text.strip().rstrip(_END)


def point_role(point: str) -> str:
    """ "problems", "causes", "measures" when a point names that part; "" for a main point."""
    for role, pattern in _POINT_ROLES:
        if pattern.search(point):
            return role
    return ""


def _target(doctype: DocType, roles: tuple[str, ...]) -> str | None:
    for role in roles:
        for spec in doctype.sections:
            if spec.role == role:
                return spec.key
    return None


def _main_target(doctype: DocType) -> str:
    return next(
        (s.key for s in doctype.sections if s.points_here),
        next((s.key for s in doctype.sections if s.form == "points"), doctype.sections[0].key),
    )


def route_points(doctype: DocType, points: list[str]) -> dict[str, list[str]]:
    """Section key -> the key points it carries, each cleaned of numbering (and of a leading label)."""
    routed: dict[str, list[str]] = {}
    main = _main_target(doctype)
    for raw in points:
        text = clean_point(raw)
        if not text:
            continue
        role = point_role(text)
        key = _target(doctype, _POINT_TARGETS[role]) if role else None
        label_free = _LABEL.sub("", text).strip() or text
        key = key or main
        if label_free not in routed.setdefault(key, []):
            routed[key].append(label_free)
    return routed


def place_facts(doctype: DocType, items: list[OutlineItem], facts: list[Fact]) -> list[Fact]:
    """Put each fact in the section of its role (the section carrying its point first; with no section of
    its role, an achievement or background fact goes under its point when that point reviews what was done); record unplaced facts' best fit. Returns the facts with ``section`` / ``fits`` set; items' ``facts`` are filled."""
    by_key = {item.key: item for item in items}
    placed = []
    for fact in facts:
        roles = facts_mod.SECTION_ROLES.get(fact.role, ())
        # the first role that has a section in this skeleton; within it, the section carrying the point
        candidates = next(
            ([i for i in items if i.role == r] for r in roles if any(i.role == r for i in items)), []
        )
        with_point = [i for i in candidates if fact.point and fact.point in i.points]
        if not candidates and fact.role in ("achievement", "background"):
            # no part of its role in this skeleton (an 开学典礼 has no 成效): what was done goes under the
            # writer's own point when that point is a review of it (回顾学校发展成绩); under any other point
            # (a 表态发言's 压实责任) it would be a claim the point does not make, so it stays aside
            with_point = [
                i for i in items if fact.point and fact.point in i.points and _REVIEW_POINT.search(fact.point)
            ]
        if not candidates and fact.role in ("problem", "cause"):
            # no part for problems (an 开班式): a shortcoming is the situation that makes the work
            # necessary, so it goes to the background part (办班目的和意义) rather than being dropped
            candidates = [i for i in items if i.role == "background"]
        chosen = (with_point or candidates or [None])[0]
        if chosen is None:
            fits = next((i.key for i in items if i.role in ("background", "achievements")), items[0].key)
            placed.append(replace(fact, section="", fits=fits))
            continue
        by_key[chosen.key].facts.append(fact.id)
        placed.append(replace(fact, section=chosen.key, fits=chosen.key))
    return placed


def _item(spec, points: list[str]) -> OutlineItem:
    return OutlineItem(
        key=spec.key,
        role=spec.role,
        heading=spec.heading,
        points=list(points),
        numbering="topics" if spec.form == "topics" else NUMBERINGS[spec.numbering],
        note=spec.needs,
        form=spec.form,
    )


def pair_problems(items: list[OutlineItem]) -> None:
    """For the problems section: each problem point paired with the measure point that answers it (the one
    sharing most distinctive words), so both generators can answer problem by problem."""
    problems = next((i for i in items if i.role == "problems"), None)
    measures = next((i for i in items if i.role in ("measures", "requirements")), None)
    if problems is None or measures is None or not measures.points:
        return
    for point in problems.points:
        own = words.distinctive(point, at_least=1)
        best = max(measures.points, key=lambda m: len(words.shared(own, m)))
        if words.shared(own, best):
            problems.pairs[point] = best


def _embedder(settings: Settings) -> object | None:
    """The index's embedder, to tell which key point a fact is about when no word says it (None when it
    cannot be loaded: words alone then)."""
    from ..errors import UserError
    from ..index.embedding import get_embedder

    try:
        return get_embedder(settings)
    except (UserError, OSError, ImportError):
        return None


def make_outline(request: DraftRequest, settings: Settings) -> Outline:
    """The outline for ``request``: skeleton chosen, points routed, facts placed (see the module doc)."""
    base = check_request(request, settings)
    request = clean_request(request)
    occasion_class = occasion_class_of(request, base, settings)
    skeleton = request.skeleton if request.skeleton in {k.name for k in base.skeletons} else ""
    if not skeleton:
        text = " ".join([request.topic, request.occasion, *request.points])
        skeleton = base.choose_skeleton(occasion_class, text)
    doctype = base.with_skeleton(skeleton)
    kinds = {}
    for raw in request.points:
        text = clean_point(raw)
        kinds[_LABEL.sub("", text).strip() or text] = point_role(text)
    doctype = doctype.joined({_POINT_TARGETS[k][0] for k in kinds.values() if k})
    routed = route_points(doctype, request.points)
    items = [_item(spec, routed.get(spec.key, [])) for spec in doctype.sections]
    facts = facts_mod.read_facts(
        request.materials,
        [p for i in items for p in i.points],
        path=settings.prompts_dir / "fact_roles.yaml",
        kinds=kinds,
        embedder=_embedder(settings),
        topic=request.topic,
    )
    # a fact whose role has no part here asks for the part the skeleton joins (before any fallback place)
    homeless = {
        facts_mod.SECTION_ROLES[f.role][0]
        for f in facts
        if f.role in facts_mod.SECTION_ROLES
        and not any(i.role in facts_mod.SECTION_ROLES[f.role] for i in items)
    }
    widened = doctype.joined(homeless)
    if widened is not doctype:
        doctype = widened
        routed = route_points(doctype, request.points)
        items = [_item(spec, routed.get(spec.key, [])) for spec in doctype.sections]
    facts = place_facts(doctype, items, facts)
    pair_problems(items)
    outline = Outline(
        doc_type=doctype.name,
        title="",
        items=items,
        skeleton=skeleton,
        occasion_class=occasion_class,
        facts=facts,
    )
    values = template_values(request, outline)
    outline.title = render_string(doctype.title, **values)
    outline.subtitle = render_string(doctype.subtitle, **values) if doctype.subtitle else ""
    return outline


def clean_outline(outline: Outline) -> Outline:
    """An edited outline with markup stripped from its title, headings and sub-points (the writer edits it
    as text, so pasted ``**`` or tags would otherwise reach the draft); empty sub-points are dropped."""
    items = []
    for item in outline.items:
        points = [p for p in (clean_point(p) for p in item.points) if p]
        items.append(replace(item, heading=strip_markup(item.heading).strip() or item.heading, points=points))
    return replace(outline, title=strip_markup(outline.title).strip() or outline.title, items=items)
