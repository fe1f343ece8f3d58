"""Content checks: is each part about its point (topicality), does the draft claim another unit's context
(foreign), are the writer's facts used and placed in a part of the right role (facts).

These read the draft the way a writer reads it (see issue: "the heading is the writer's point; the body
under it is about something else"): a key point counts as covered only when the body under it — heading
sentence excluded — is about it; a sentence carrying another corpus document's own unit, brand, office or
sector words is a false claim about the writer's unit; a fact left out or filed under the wrong part is a
fact lost. The judgments themselves live in ``content`` (``topicality``, ``lexicon``, ``facts``), so the
composer uses exactly these definitions.
"""

from __future__ import annotations

import re

from ...content import facts as facts_mod
from ...content.lexicon import Lexicon, unit_kind
from ...content.topicality import Judge, title_topic
from ...records import DraftRequest
from .body import Body
from .result import MetricResult, _result

OFF_SHARE = 0.5  # a part fails when at least this share of its judged sentences is off its point
TOPIC_OFF_SHARE = 0.5  # the whole body fails when at least this share is off the topic
FACTS_USED = 0.8  # under this share of material facts used in a part of the right role fails


def _shown(sentences: list[str], n: int = 3) -> str:
    return "；".join(f"“{s[:30]}…”" if len(s) > 30 else f"“{s}”" for s in sentences[:n])


def check_topicality(
    body: Body,
    judge: Judge,
    topic: str,
    must_use: dict[str, list[str]] | None = None,
) -> MetricResult:
    """Each key point's part: its body (heading sentence, facts, gaps and formulas excluded) about the
    point (a sentence with neither the point's words nor its meaning is off); and the whole body about the
    topic (a sentence is off when it has none of the topic's words and its meaning is nearer another
    sector's — without an embedder the whole-body test has no evidence and passes)."""
    judged = [s for s in body.sentences if not s.exempt]
    if not judged:
        return _result("topicality", None, None, "正文没有需要判断切题的句子（只有材料事实、待补和套语）")
    topic = title_topic(topic)
    off_by_point: dict[str, list[str]] = {}
    failed_points: list[str] = []
    on_count = 0
    by_point = body.by_point()
    for point, sentences in by_point.items():
        mine = [s.text for s in sentences if not s.exempt]
        if not mine:
            continue
        siblings = " ".join(p for p in by_point if p != point)
        extra = tuple((must_use or {}).get(point, ()))
        verdicts = judge.judge(mine, point, topic, extra, point_only=True, siblings=siblings)
        off = [v.sentence for v in verdicts if not v.on_topic]
        on_count += len(mine) - len(off)
        if off:
            off_by_point[point] = off
        if len(off) / len(mine) >= OFF_SHARE:
            failed_points.append(point)
    # a part the schema writes from the writer's facts only (a speech's 成效/问题/原因): any other sentence in
    # it is a claim the writer did not make
    claims = [s.text for s in judged if s.facts_only and not s.point]
    judged_rest = [s for s in judged if not (s.facts_only and not s.point)]
    rest = [s for s in judged_rest if not s.point]
    rest_off: list[str] = list(claims)
    # outside key points a sentence counts as off only on evidence that it is about another sector: none of
    # the topic's words, and nearer another sector's probe than its own heading and the topic
    by_heading: dict[str, list[str]] = {}
    for s in rest:
        by_heading.setdefault(s.heading, []).append(s.text)
    for heading, texts in by_heading.items():
        verdicts = judge.judge(texts, f"{heading} {topic}".strip() if heading else topic, topic)
        off = [v.sentence for v in verdicts if v.elsewhere]
        rest_off += off
        on_count += len(texts) - len(off)
    off_all = [s for ss in off_by_point.values() for s in ss] + rest_off
    value = on_count / len(judged)
    topic_failed = len(off_all) / len(judged) >= TOPIC_OFF_SHARE
    passed = not failed_points and not topic_failed
    reason = f"{on_count}/{len(judged)} 句切合要点或主题"
    if failed_points:
        reason += "；以下要点下的正文多数跑题：" + "、".join(failed_points)
    elif topic_failed:
        reason += f"；全文跑题句占 {len(off_all) / len(judged):.0%}"
    if off_all:
        reason += "。如：" + _shown(off_all)
    return _result(
        "topicality",
        value,
        passed,
        reason,
        off_topic={p: ss for p, ss in off_by_point.items()},
        off_topic_general=rest_off,
        failed_points=failed_points,
    )


def allowed_text(request: DraftRequest | None) -> str:
    if request is None:
        return ""
    return "\n".join(
        [request.topic, request.unit, request.occasion, request.audience, request.speaker, *request.points]
        + list(request.materials)
    )


def check_foreign(
    body: Body,
    lexicon: Lexicon | None,
    request: DraftRequest | None,
    skip_docs: set[str] | None = None,
    own_doc: str | None = None,
) -> MetricResult:
    """Sentences carrying another corpus document's own terms that the request and materials do not.
    ``own_doc``: the corpus document the text is (its own unit kind is the writer's)."""
    if lexicon is None:
        return _result("foreign", None, None, "没有范文库索引，不检查他单位内容")
    allowed = allowed_text(request)
    kind = unit_kind(request.unit) if request else ""
    if own_doc and (terms := lexicon.terms_of(own_doc)) is not None:
        kind = kind or terms.kind
        allowed += "\n" + terms.title
    skip = skip_docs or set()
    found = []
    for sentence in body.sentences:
        if sentence.exempt in ("fact", "gap"):
            continue
        hits = [f for f in lexicon.foreign_terms(sentence.text, allowed, kind) if f.doc_id not in skip]
        if hits:
            found.append(
                {
                    "sentence": sentence.text,
                    "terms": [f.label() for f in hits],
                    "words": [f.term for f in hits],
                }
            )
    total = max(1, len([s for s in body.sentences if s.exempt not in ("fact", "gap")]))
    if not found:
        return _result("foreign", 1.0, True, "没有发现其他单位、其他行业的专有内容", found=[])
    example = found[0]
    reason = f"{len(found)} 句带有其他单位或行业的专有内容，如“{example['sentence'][:30]}…”含" + "、".join(
        example["terms"][:2]
    )
    return _result("foreign", 1 - len(found) / total, False, reason, found=found)


def check_facts(body: Body, request: DraftRequest | None, labels: list[dict] | None = None) -> MetricResult:
    """The share of the writer's material facts the draft states in a part of the matching role.
    ``labels``: the role a writer gave each material sentence (eval cases); else roles are read by rule."""
    if request is None or not request.materials:
        return _result("facts", None, None, "没有材料，不检查事实使用")
    facts = facts_mod.read_facts(request.materials, list(request.points))
    by_text = {re.sub(r"\s", "", x.get("text", "")): x for x in labels or []}
    for fact in facts:
        label = by_text.get(re.sub(r"\s", "", fact.text)) or {}
        fact.role = label.get("role") or fact.role
        if label:
            fact.point = label.get("point") or ""
    if not facts:
        return _result("facts", None, None, "材料中没有可用的事实句")
    roles_present = {s.section_role for s in body.sentences}
    point_roles: dict[str, set[str]] = {}
    for s in body.sentences:
        if s.point:
            point_roles.setdefault(s.point, set()).add(s.section_role)
    placed: dict[int, tuple[str, str]] = {}
    for s in body.sentences:
        if s.fact is not None and s.fact not in placed:
            placed[s.fact] = (s.section_role, s.point)

    used, right, missing, misplaced = 0, 0, [], []
    for fact in facts:
        where = placed.get(fact.id)
        if where is None:
            missing.append(fact.text)
            continue
        used += 1
        role, point = where
        allowed_roles = facts_mod.SECTION_ROLES.get(fact.role, ())
        wanted = [r for r in facts_mod.SECTION_ROLES.get(fact.role, ()) if r in roles_present]
        if (
            fact.point
            and point == fact.point
            and (role in wanted or fact.role in ("achievement", "background"))
        ):
            # what was done, under its own point, grounds that point's requirements (排查隐患136处 under a
            # speech's 隐患排查整治); a plan or a problem under a 履职 point is still in the wrong part
            right += 1
        elif wanted and role not in wanted:
            misplaced.append({"fact": fact.text, "role": fact.role, "in": role, "want": wanted[0]})
        elif (
            fact.point
            and point != fact.point
            and fact.point in point_roles
            and (not wanted or point_roles[fact.point] & set(allowed_roles))
        ):
            # the draft writes the fact's point in a part the fact may go in (or has no part of the fact's
            # kind at all): the fact belongs under its point
            misplaced.append({"fact": fact.text, "role": fact.role, "in": point or role, "point": fact.point})
        else:
            right += 1
    value = right / len(facts)
    passed = value >= FACTS_USED
    reason = f"材料事实 {len(facts)} 条：用到 {used} 条，放在对应部分 {right} 条（{value:.0%}）"
    if missing:
        reason += "；未用：" + _shown(missing, 2)
    if misplaced:
        m = misplaced[0]
        where = (
            f"“{m['point']}”之下"
            if m.get("point")
            else f"{facts_mod.ROLE_LABELS.get(m['role'], m['role'])}部分"
        )
        reason += f"；放错：“{m['fact'][:24]}…”应放在{where}"
    return _result(
        "facts",
        value,
        passed,
        reason,
        total=len(facts),
        used=used,
        placed_right=right,
        missing=missing,
        misplaced=misplaced,
    )
