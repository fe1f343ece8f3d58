"""提纲 first: the model proposes the outline's 小标题, places the writer's facts and pairs each problem with
the measure that answers it, starting from the offline outline (``outline.make_outline``).

The skeleton is fixed before the call (the offline outline chose it from the occasion and the words); the
model proposes, per part, headings in the type's style (``SectionSpec.style``: 对仗 ``要…`` headings for a
speech's 意见, topic sentences for a 汇报), which facts each part uses, and the problem→measure pairs, as
JSON. The reply is validated part by part against the offline outline: a part the model leaves out, a
writer's key point it drops or turns into something else, a fact put in a part of the wrong role, an
unknown fact id or a pair naming headings that do not exist are replaced by the offline outline's choice
(and said so); a reply with no usable JSON is sent back once with the error, then the offline outline is
used whole. The writer then edits the outline (web UI, ``draft --outline-only --json`` → ``--outline``) and
drafting follows it exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from ..content import facts as facts_mod
from ..content import words
from ..doctypes import DocType, get_doctype
from ..errors import BackendError, BackendStalledError
from ..prompts import get_prompt, render
from ..records import DraftRequest, Fact, Outline, OutlineItem
from ..settings import Settings
from . import llm_brief as brief
from .context import EventFn, noop
from .llm_reply import similar, strip_end, strip_think
from .outline import clean_point, pair_problems
from .request import template_values
from .verify import Verifier

MAX_POINTS = 6
# the fact roles a part of each role holds (the first is the reading a moved fact takes)
_FACT_ROLE_OF = {
    "background": ("background", "achievement"),
    "achievements": ("achievement", "background"),
    "problems": ("problem", "cause"),
    "causes": ("cause",),
    "measures": ("plan",),
    "requirements": ("plan",),
    "opening": ("background",),
}


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a reply (reasoning, code fences and commentary around it removed; trailing
    commas forgiven), or None."""
    text, _ = strip_think(text or "")
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    body = text[start : end + 1]
    for candidate in (body, re.sub(r",\s*([}\]])", r"\1", body)):
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        return data if isinstance(data, dict) else None
    return None


def _keeps_point(point: str, proposed: str) -> bool:
    """A proposed heading still carries the writer's point: its distinctive words, or most of its text."""
    own = words.distinctive(point, at_least=1)
    return bool(words.shared(own, proposed)) or similar(point, proposed)


def _point_named(said: str, points: list[str]) -> str:
    """The part's sub-point the model named for a fact: as written, or the one nearly so ("" for none)."""
    said = _heading(said)
    if not said:
        return ""
    exact = [p for p in points if strip_end(p) == said]
    close = [p for p in points if similar(p, said)]
    return exact[0] if exact else close[0] if len(close) == 1 else ""


def _heading(text: Any) -> str:
    return strip_end(clean_point(str(text or "")))[:40]


class Proposal:
    """The model's outline read against the offline one (see the module docstring)."""

    def __init__(self, base: Outline, doctype: DocType, verifier: Verifier) -> None:
        self.base = base
        self.doctype = doctype
        self.verifier = verifier
        self.notes: list[str] = []

    def read(self, text: str) -> tuple[Outline | None, list[str]]:
        data = _json_object(text)
        if data is None:
            return None, ["没有输出可解析的 JSON 对象"]
        sections = data.get("sections")
        if not isinstance(sections, list) or not sections:
            return None, ["JSON 中缺少 sections 列表"]
        by_key = {str(s.get("key")): s for s in sections if isinstance(s, dict) and s.get("key")}
        keys = [i.key for i in self.base.items]
        if not set(by_key) & set(keys):
            return None, [f"sections 中的 key 应为：{'、'.join(keys)}"]
        items = [self.item(base_item, by_key.get(base_item.key)) for base_item in self.base.items]
        facts = self.place(items, by_key)
        self.pair(items, data.get("pairs"))
        return replace(self.base, items=items, facts=facts), []

    def item(self, base: OutlineItem, proposed: dict[str, Any] | None) -> OutlineItem:
        item = replace(base, points=list(base.points), facts=[], pairs={})
        if proposed is None:
            self.notes.append(f"大模型提纲漏了“{base.heading}”，该部分沿用原提纲")
            return replace(item, facts=list(base.facts), pairs=dict(base.pairs))
        raw = proposed.get("points")
        points = [_heading(p) for p in raw if _heading(p)] if isinstance(raw, list) else []
        points = list(dict.fromkeys(points))
        if base.points:  # the writer's key points: kept, in order, reworded at most
            if len(points) != len(base.points):
                self.notes.append(f"大模型提纲改变了“{base.heading}”的要点条数，沿用原要点")
                return item
            pairs = list(zip(base.points, points, strict=True))
            item.points = [new if _keeps_point(old, new) else old for old, new in pairs]
            drifted = [old for old, new in pairs if not _keeps_point(old, new)]
            if drifted:
                self.notes.append(f"“{'；'.join(drifted)}”被大模型改写得偏离原意，已沿用原要点")
            return item
        spec = self._spec(base.key)
        headed = spec is None or spec.numbering != "none" or spec.form in ("points", "topics")
        invented = [p for p in points if self.verifier.numbers(p, self.verifier.fixed)]
        if invented:  # a heading with a figure nobody gave (or one cut in half) is no heading
            self.notes.append(f"“{'；'.join(invented)}”含有材料中没有的数字，未采用")
            points = [p for p in points if p not in invented]
        if headed and 2 <= len(points) <= MAX_POINTS:
            item.points = points
        return item

    def _spec(self, key: str):
        try:
            return self.doctype.section(key)
        except KeyError:
            return None

    def place(self, items: list[OutlineItem], by_key: dict[str, dict[str, Any]]) -> list[Fact]:
        """Facts where the model put them when the part's role fits the fact's; else where the offline
        outline put them."""
        facts = {f.id: f for f in self.base.facts}
        where: dict[int, str] = {}
        point_of: dict[int, str] = {}  # the sub-point the model says a fact is about
        for item in items:
            raw = (by_key.get(item.key) or {}).get("facts")
            for value in raw if isinstance(raw, list) else []:
                said = ""
                if isinstance(value, dict):  # {"id": 3, "point": "小标题"}
                    value, said = value.get("id"), str(value.get("point") or "")
                try:
                    fid = int(value)
                except (TypeError, ValueError):
                    continue
                fact = facts.get(fid)
                if fact is None or fid in where:
                    continue
                # the rules' default reading (background) is no reading: the model's placement stands; a
                # fact whose role has no part in this skeleton may go under the point it is about
                fits = item.role in facts_mod.SECTION_ROLES.get(fact.role, ())
                homeless = not any(i.role in facts_mod.SECTION_ROLES.get(fact.role, ()) for i in items)
                if fact.role == "background" or fits or homeless and _about_a_point(fact, item):
                    where[fid] = item.key
                    if named := _point_named(said, item.points):
                        point_of[fid] = named
                else:
                    self.notes.append(f"材料{fid}不宜放在“{item.heading}”，沿用原提纲的位置")
        out = []
        by_item = {i.key: i for i in items}
        for fact in self.base.facts:
            key = where.get(fact.id, fact.section)
            if key and key in by_item:
                by_item[key].facts.append(fact.id)
                role = fact.role
                if role not in _FACT_ROLE_OF.get(by_item[key].role, (role,)):
                    role = _FACT_ROLE_OF[by_item[key].role][0]  # read as the part the model put it in
                point = point_of.get(fact.id, fact.point)  # the model reads what a fact is about better
                out.append(replace(fact, section=key, fits=key, role=role, point=point))
            else:
                out.append(replace(fact, section="", fits=fact.fits))
        return out

    def pair(self, items: list[OutlineItem], raw: Any) -> None:
        problems = next((i for i in items if i.role == "problems"), None)
        measures = next((i for i in items if i.role in ("measures", "requirements")), None)
        if problems is None or measures is None:
            return
        for entry in raw if isinstance(raw, list) else []:
            if not isinstance(entry, dict):
                continue
            problem = _match(_heading(entry.get("problem")), problems.points)
            measure = _match(_heading(entry.get("measure")), measures.points)
            if problem and measure:
                problems.pairs[problem] = measure
        if not problems.pairs:
            pair_problems(items)


def _about_a_point(fact: Fact, item: OutlineItem) -> bool:
    """The fact is about one of the part's points (its own point, or a distinctive word shared)."""
    if fact.point and fact.point in item.points:
        return True
    return any(words.shared(words.distinctive(p, at_least=1), fact.text) for p in item.points)


def _match(text: str, options: list[str]) -> str:
    return next((o for o in options if o == text), "") or next((o for o in options if similar(o, text)), "")


def request_lines(
    request: DraftRequest, outline: Outline, values: dict[str, Any], register: list[str]
) -> list[str]:
    lines = [f"主题：{request.topic}"]
    for label, value in (  # speaker and audience are in the register lines
        ("单位", request.unit),
        ("场合", request.occasion or values.get("occasion")),
        ("标题", outline.title),
    ):
        if value:
            lines.append(f"{label}：{value}")
    return lines + register


def outline_prompt(
    request: DraftRequest, settings: Settings, base: Outline, doctype: DocType, retry: str
) -> str:
    values = template_values(request, base)
    register = brief.register_lines(doctype, values)
    skeleton = next(
        (k.label for k in doctype.skeletons if k.name == base.skeleton), base.skeleton or doctype.label
    )
    sections = []
    for item in base.items:
        try:
            spec = doctype.section(item.key)
        except KeyError:
            spec = None
        headed = spec is None or spec.numbering != "none" or spec.form in ("points", "topics")
        sections.append(
            {
                "key": item.key,
                "heading": item.heading,
                "role": brief.ROLE_LABELS.get(item.role, item.role),
                "needs": item.note or (spec.needs if spec else ""),
                "style": spec.style if spec else "",
                "points": list(item.points),
                "subs": headed,
            }
        )
    facts = [
        {
            "id": f.id,
            "role": facts_mod.ROLE_LABELS.get(f.role, f.role),
            "point": f.point,
            "text": brief.fence_safe(f.text),
        }
        for f in base.facts
    ]
    return render(
        get_prompt(settings.prompts_dir, "outline"),
        doc_label=doctype.label,
        skeleton=skeleton,
        request_lines=request_lines(request, base, values, register),
        sections=sections,
        facts=facts,
        retry=retry,
    )


def planner_system(settings: Settings, doc_label: str) -> str:
    """The system prompt of the JSON calls (the outline, the review pass)."""
    return render(get_prompt(settings.prompts_dir, "planner"), doc_label=doc_label)


def propose(request: DraftRequest, settings: Settings, base: Outline, emit: EventFn = noop) -> Outline:
    """The model's outline, validated against ``base`` (the offline outline), or ``base`` when the model
    fails twice or cannot be reached (a ``warning`` event says so)."""
    from ..llm import LLMClient

    doctype = get_doctype(request.doc_type, settings.prompts_dir).with_skeleton(base.skeleton)
    client = LLMClient(settings)
    proposal = Proposal(base, doctype, Verifier(request, settings.prompts_dir, base))
    retry = ""
    budget = 600 + 80 * (len(base.facts) + sum(len(i.points) for i in base.items))
    for attempt in (1, 2):
        try:
            text = "".join(
                client.stream(
                    planner_system(settings, doctype.label),
                    outline_prompt(request, settings, base, doctype, retry),
                    max_tokens=budget + 1024,
                )
            )
        except BackendError as exc:
            if attempt == 2 or "中途断开" not in str(exc):
                warning = {"text": f"{exc}；提纲改用离线规则生成，请审核后再起草。"}
                if isinstance(exc, BackendStalledError):  # the draft's later calls would wait as long
                    warning["stalled"] = str(exc)
                emit("warning", warning)
                return base
            retry = "上次的输出没有完整收到，请完整输出"
            continue
        outline, problems = proposal.read(text)
        if outline is not None:
            for note in dict.fromkeys(proposal.notes):
                emit("warning", {"text": f"提纲：{note}。"})
            return outline
        retry = "；".join(problems)
    emit(
        "warning",
        {"text": f"大模型两次返回的提纲都无法使用（{retry}）；提纲改用离线规则生成，请审核后再起草。"},
    )
    return base
