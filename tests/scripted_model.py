"""A scripted stand-in for a real chat model, for ``tests/fake_openai.FakeOpenAI.responder``.

No model endpoint can be reached from the test machines, so this reads the pipeline's own prompts the way
a competent model follows them — the outline call's sections, key points and facts; a section call's
heading, sub-points, facts, target length and output format; a formula call's guide — and answers with
text built from the writer's own words (points, topic, unit) and facts, never from the style exemplars.
It then wraps the answer the way real models do (``wrap``): reasoning blocks (``<think>…</think>``, or a
bare ``</think>`` after the reasoning as some servers send it), Markdown, commentary before and after the
text, a JSON outline inside a code fence. ``ScriptedModel(deviate=True)`` rotates those wrappings by the
prompt's hash, so an eval run in LLM mode exercises the pipeline's cleaning on every case.

Every payload is kept in ``prompts`` as (system, user) for tests to assert on.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

_FACT_RE = re.compile(r"<<<材料(\d+)\n(.*?)\n材料\1>>>", re.S)
_POINT_RE = re.compile(
    r"^(\d+)\. (.+?)(?:（用材料([\d、材料]+)）)?(?:（对应的对策：.*?）|（针对的问题：.*?）)?$", re.M
)


def _field(text: str, label: str) -> str:
    m = re.search(rf"^{label}[：:](.*)$", text, re.M)
    return m.group(1).strip() if m else ""


def _core(text: str) -> str:
    """A point or topic as a noun phrase to build sentences on (要压实安全生产责任 → 压实安全生产责任)."""
    text = re.sub(r"^\d{4}年度?", "", text.strip())
    text = re.sub(r"^(?:要|希望|坚持|着力|进一步|抓)", "", text).rstrip("。；，")
    text = text.split("，")[0]
    return re.sub(r"(?:的)?工作$", "", text) or text


def _topic(user: str) -> str:
    if _field(user, "主题"):
        return _core(_field(user, "主题"))
    title = _field(user, "标题")
    for pattern in (r"^关于(.+?)的调研报告$", r"在(.+?)上的(?:讲话|汇报发言)$", r"^(.+?)述职报告$"):
        m = re.search(pattern, title)
        if m:
            return _core(
                re.sub(r"^(?:全[市县区省])|(?:工作)?(?:会议|推进会|大会|开班式|培训班)$", "", m.group(1))
            )
    return _core(title) or "本项工作"


# sentence templates by the part's role; {p} the point, {t} the topic, {u} the unit ("我们" when none)
_DIRECTIVE = [
    "抓好{p}，是做好{t}的关键一环，必须摆在更加突出的位置。",
    "要围绕{p}细化任务清单，明确责任主体和完成时限，确保{t}的各项部署落地落实。",
    "要把{p}同{t}的日常工作结合起来，既抓当前又谋长远，防止{p}停留在口头上。",
    "要建立健全{p}的长效机制，定期调度、跟踪问效，在{t}中发现问题及时解决。",
    "主要领导要亲自过问{p}，分管领导要具体抓，把{t}的压力层层传导下去。",
    "要加强对{p}的督促检查，对推进不力的及时提醒，推动{t}取得实实在在的成效。",
    "各单位要结合自身实际，找准{p}的切入点和着力点，拿出管用的办法措施。",
    "要注重总结推广{p}中的好经验好做法，以点带面，带动{t}整体水平提升。",
    "要把{p}的成效作为检验{t}的重要标准，纳入年度考核，考准考实。",
    # a real model asked for more writes more: enough sentences for a point's share of a long section
    "要坚持问题导向，聚焦{p}中的短板弱项，逐项研究解决办法，以{p}的突破带动{t}全面提升。",
    "要压实各级各部门在{p}上的责任，一级抓一级、层层抓落实，确保{t}不留死角。",
    "要加强对{p}的统筹协调，相关部门要密切配合、形成合力，共同推动{t}各项任务落到实处。",
    "要强化{p}的保障措施，在人员、经费、制度等方面给予支持，为{t}提供有力支撑。",
    "要加强{p}的宣传引导，及时回应社会关切，营造关心支持{t}的良好氛围。",
]
# a report upward (行文方向：对上) states what the writer will do; it gives no orders
_PLANS = [
    "{u}将坚持问题导向，聚焦{p}中的短板弱项，逐项研究解决办法。",
    "围绕{p}，{u}将细化任务清单，明确责任主体和完成时限，推动{t}各项部署落地落实。",
    "{u}将把{p}同日常工作结合起来，既抓当前又谋长远，建立定期调度、跟踪问效的长效机制。",
    "在{p}上，{u}将加强统筹协调，主动对接相关部门，形成推进{t}的合力。",
    "{u}将注重总结推广{p}中的好经验好做法，以点带面带动{t}整体水平提升。",
    "{u}将把{p}的成效纳入年度考核，考准考实，确保{t}取得实实在在的成效。",
    "{u}将强化{p}的人员、经费和制度保障，为{t}提供有力支撑。",
    "{u}将主动接受上级指导和群众监督，及时改进{p}中的薄弱环节。",
    "{u}将持续深化{p}，推动{t}再上新台阶。",
    "{u}将加强{p}的宣传引导，营造关心支持{t}的良好氛围。",
]
_DONE = [
    "{u}坚持把{p}与{t}的中心工作同谋划、同部署、同推进，推动工作落地见效。",
    "在{p}上，{u}注重抓基层、打基础，{t}的薄弱环节得到补强。",
    "{u}健全{p}的工作台账，逐项对账销号，{t}的工作更加规范。",
    "围绕{p}，{u}把{t}摆在重要位置，班子带头研究部署，推动{p}有序开展。",
    "在{p}方面，{u}坚持问题导向，逐项明确措施，{t}的基础进一步夯实。",
    "{u}注重把{p}融入{t}全过程，边实践边总结，形成了一些行之有效的做法。",
    "通过抓{p}，{t}的责任链条更加清晰，干部职工推进{p}的主动性明显增强。",
    "{u}把{p}列入年度重点任务，定期听取进展情况，及时研究解决{t}中遇到的困难。",
    "在推进{p}的过程中，{u}注重上下联动、部门协同，{t}的合力不断增强。",
    "{p}的做法得到了干部群众的认可，为下一步深化{t}积累了经验。",
]
_SHORT = [
    "在{t}的一些环节，{p}还存在上热中温下冷的现象。",
    "{p}的成效还不够明显，{t}的群众获得感有待进一步增强。",
    "对{p}中的新情况新问题研究不够，{t}的前瞻性还不强。",
    "{p}的工作力量还比较分散，{t}的合力尚未完全形成。",
    "对照{t}的要求，{p}方面还有差距，有的工作停留在一般性部署上。",
    "{p}的推进还不够平衡，个别环节抓得不紧不实，影响了{t}的整体成效。",
    "围绕{p}的制度机制还不够健全，在{t}中跟踪问效的办法不多。",
    "有的同志对{p}研究不深，在{t}中习惯于按部就班，主动作为不够。",
    "{p}的基础工作还比较薄弱，与{t}高质量发展的要求还不相适应。",
]
_CAUSE = [
    "{p}的工作机制还不够健全，{t}中职责边界不够清晰。",
    "干部队伍推进{p}的能力与{t}的新要求还不完全适应。",
    "对{p}的宣传引导还不够有力，{t}的社会参与度不高。",
    "{p}的激励约束还不够有效，{t}中干事创业的氛围有待加强。",
    "对{p}的重要性认识还不够到位，把{t}当作软任务的现象仍然存在。",
    "推进{p}的方法手段还不够多，在{t}中创新办法、破解难题的能力有待提升。",
    "{p}的督促考核还不够严，{t}中压力传导存在层层递减的情况。",
    "保障{p}的人员和条件还不够充足，客观上制约了{t}的深入推进。",
]
_BASIC = [
    "围绕{p}，{u}摸清了底数，{t}的工作对象和重点更加明确。",
    "{t}涉及面广，{p}需要多方协同、持续用力。",
    "总体来看，{p}的条件基本具备，{t}具备进一步深化的基础。",
    "{u}高度重视{t}，把{p}作为一项基础性工作来抓。",
    "从掌握的情况看，{t}总体进展平稳，{p}的工作基础逐步夯实。",
    "在推进{t}的过程中，{p}方面的情况各有不同，需要分类施策。",
    "{p}与{t}的关系日益紧密，已成为衡量工作成效的重要方面。",
    "近年来，围绕{p}陆续出台了一些措施，{t}的制度框架初步形成。",
]
# a 致意 as a model writes one: welcome, thanks, good wishes; no report of work
_GREETING = [
    "在此，我代表{u}，向大家表示热烈的欢迎和衷心的感谢！",
    "新的起点孕育新的希望，{t}承载着大家共同的期待。",
    "让我们以{t}为契机，携手同行、再创佳绩。",
    "向一直以来关心支持我们的各位来宾和朋友们致以诚挚的问候！",
    "希望大家在新的起点上珍惜时光、砥砺前行。",
]
_TEMPLATES = {
    "requirements": _DIRECTIVE,
    "measures": _DIRECTIVE,
    "achievements": _DONE,
    "background": _BASIC,
    "opening": _GREETING,
    "problems": _SHORT,
    "causes": _CAUSE,
}
_LEADS = {
    "achievements": "一年来，我们在{t}方面取得了明显成效，主要有以下几个方面：",
    "background": "当前，{t}面临新的形势和任务。",
    "problems": "在看到成效的同时，也要清醒看到{t}中存在的不足：",
    "causes": "分析{t}中存在问题的原因，主要有以下几个方面：",
    "measures": "下一步，我们将围绕{t}，重点抓好以下几个方面的工作：",
    "opening": "值此{t}之际，我向大家致以诚挚的问候和良好的祝愿！",
}
_ROLE_OF = {
    "介绍基本情况和背景": "background",
    "总结主要做法和成效": "achievements",
    "查摆存在的问题": "problems",
    "分析问题产生的原因": "causes",
    "提出下一步措施或对策建议": "measures",
    "对下一步工作提出要求": "requirements",
    "开头致意": "opening",
}


def _sentences(
    role: str, point: str, topic: str, unit: str, chars: int, salt: int, upward: bool = False
) -> str:
    bank = _TEMPLATES.get(role, _DIRECTIVE)
    if upward and bank is _DIRECTIVE:  # as the register line says: a report upward gives no orders
        bank = _PLANS
    out, n = "", salt
    while len(out) < chars and n < salt + len(bank):
        out += bank[n % len(bank)].format(p=_core(point), t=topic, u=unit or "我们")
        n += 1
    return out


@dataclass
class Section:
    heading: str
    role: str
    form: str  # points | topics | subheadings | items | body
    points: list[str]
    facts: list[str]
    chars: int
    topic: str
    unit: str
    lead: bool = False  # the prompt asks for a 【导语】 naming the part
    needs: str = ""
    by_point: dict[str, list[str]] = field(default_factory=dict)  # the facts the prompt puts under a point
    facts_only: bool = False  # the prompt says the part holds the writer's facts only
    upward: bool = False  # the system prompt's register line: 行文方向：对上
    lead_example: str = ""  # the 【导语】 the prompt gives as its example, when it is the type's own


def read_section(user: str) -> Section:
    heading = re.search(r"中的“(.+?)”部分", user).group(1)
    role = _ROLE_OF.get(_field(user, "作用"), "requirements")
    if "【标题】第一条的标题" in user:
        form = "points"
    elif "【主题句】一句概括" in user:
        form = "topics"
    elif "【小标题】第一个小标题" in user:
        form = "subheadings"
    elif "【分项】第一项" in user:
        form = "items"
    else:
        form = "body"
    block = user.split("提纲要点", 1)[1].split("\n【", 1)[0] if "提纲要点" in user else ""
    matches = list(_POINT_RE.finditer(block))
    points = [m.group(2).strip() for m in matches]
    uses = {m.group(2).strip(): [int(x) for x in re.findall(r"\d+", m.group(3) or "")] for m in matches}
    facts_block = (
        user.split("【本部分使用的事实材料】", 1)[1].split("【文风参考】", 1)[0].split("【输出格式】", 1)[0]
    )
    found = [(int(m.group(1)), m.group(2).strip()) for m in _FACT_RE.finditer(facts_block)]
    facts = [text for _, text in found]
    by_point = {p: [t for i, t in found if i in ids] for p, ids in uses.items()}
    chars = int(re.search(r"篇幅：约 (\d+) 字", user).group(1))
    unit = _field(user, "署名")
    lead = "【导语】一句引出本段" in user or "【导语】一句引出本部分，点明" in user
    example = re.search(r"【导语】一句过渡，引出下面.{1,3}条（如“([^”…]+)”）", user)
    facts_only = "本部分只写上面的事实材料" in user or "本部分只能写写作者给的事实" in user
    return Section(
        heading,
        role,
        form,
        points,
        facts,
        chars,
        _topic(user),
        unit,
        lead,
        _field(user, "要写清"),
        by_point,
        facts_only,
        lead_example=example.group(1) if example else "",
    )


def write_section(s: Section, salt: int = 0) -> str:
    if s.facts_only:  # as told: a lead, the writer's facts, and a gap where they say nothing
        lines = ["【导语】" + _LEADS.get(s.role, "{t}方面的情况如下。").format(t=s.topic)] if s.lead else []
        gap = f"【待补：{s.needs or s.heading}】"
        if s.form == "topics" and s.points:  # one paragraph a sub-point, opened on it, its facts after
            left = list(s.facts)
            for n, point in enumerate(s.points):
                own = [f for f in s.by_point.get(point, []) if f in left] or left[:1]
                own = left if n == len(s.points) - 1 else own
                left = [f for f in left if f not in own]
                lines += [f"【主题句】{_core(point)}。", f"【正文】{''.join(own) or gap}"]
            return "\n".join(lines)
        if s.form == "topics":  # each paragraph opens on its topic sentence
            for text in s.facts or [gap]:
                head = (_fact_heading(text) if text != gap else "") or s.heading
                lines += [f"【主题句】{head}。", f"【正文】{text}"]
            return "\n".join(lines)
        if s.points and s.form in ("subheadings", "items", "points"):
            # the outline's sub-points, in order, each holding the facts the prompt puts under it
            left = list(s.facts)
            own = {p: [f for f in s.by_point.get(p, []) if f in left] for p in s.points}
            for facts in own.values():
                left = [f for f in left if f not in facts]
            for point in s.points:  # a fact the prompt placed nowhere goes to the first empty point
                if not own[point] and left:
                    own[point] = [left.pop(0)]
            own[s.points[-1]] += left
            for point in s.points:
                text = "".join(own[point]) or f"【待补：围绕“{_core(point)}”{s.needs or '写明具体情况'}】"
                if s.form == "subheadings":
                    lines += [f"【小标题】{point}", f"【正文】{text}"]
                elif s.form == "points":
                    lines += [f"【标题】{point}", f"【正文】{text}"]
                else:
                    lines.append(f"【分项】{point.rstrip('。；')}。{text}")
            return "\n".join(lines)
        mark = "【分项】" if s.form == "items" else "【正文】"
        lines += [mark + f for f in s.facts] or [f"【正文】{gap}"]
        return "\n".join(lines)
    # without sub-points a model writes one item per fact placed here, each opened on the topic
    points = s.points or [s.topic] * max(1, min(3, len(s.facts)))
    per = max(80, (s.chars - sum(len(f) for f in s.facts)) // max(1, len(points)))
    facts = list(s.facts)
    lines: list[str] = []
    if s.form == "points":  # the lead the prompt gives as its example (在此，我提四点希望： at a 典礼)
        count = "两" if len(points) == 2 else "一二三四五六七八九"[len(points) - 1]
        lines.append("【导语】" + (s.lead_example or f"下面，我就做好{s.topic}讲{count}点意见。"))
    elif s.lead:
        lines.append("【导语】" + _LEADS.get(s.role, "{t}方面的情况如下。").format(t=s.topic))
    for i, point in enumerate(points):
        body = _sentences(s.role, point, s.topic, s.unit, per, salt + i, s.upward)
        own = [f for f in s.by_point.get(point, []) if f in facts]
        unplaced = [f for f in facts if not any(f in v for v in s.by_point.values())]
        if not own and unplaced:
            own = unplaced[:1]
        for f in own:
            facts.remove(f)
        fact = "".join(own)
        text = (fact + body) if s.role in ("achievements", "background", "problems") else (body + fact)
        if s.form == "points":
            lines += [f"【标题】{point}", f"【正文】{text}"]
        elif s.form == "topics":
            lines += [f"【主题句】{_core(point)}。", f"【正文】{text}"]
        elif s.form == "subheadings":
            lines += [f"【小标题】{point}", f"【正文】{text}"]
        elif s.form == "items":
            lines.append(f"【分项】{_core(point) if s.points else ''}{'。' if s.points else ''}{text}")
        else:
            lines.append(f"【正文】{text}")
    if facts:  # every fact the outline placed here is used
        lines.append(("【分项】" if s.form == "items" else "【正文】") + "".join(facts))
    return "\n".join(lines)


def write_formula(user: str) -> str:
    part = "opening" if "的开头" in user.split("\n", 1)[0] else "closing"
    guide = re.search(r"【要求】(.*)", user).group(1)
    topic = _topic(user)
    occasion = _field(user, "场合")
    if part == "opening":
        if "现将本人" in guide:
            return (
                f"【正文】根据{occasion or '述职评议工作'}安排，现将本人一年来抓{topic}的履职情况报告如下："
            )
        if "调研情况报告如下" in guide:
            return f"【正文】为深入了解{topic}的实际情况，我们围绕这一专题开展了调研，听取意见建议。现将调研情况报告如下："
        if "汇报如下" in guide:
            return f"【正文】近年来，我们认真落实上级部署，扎实推进{topic}。现将有关情况汇报如下："
        if "致以欢迎" in guide:
            return f"【正文】今天，我们在这里隆重举行{occasion or topic}，我谨代表主办单位，向大家表示热烈的欢迎！"
        if "总结如下" in guide:
            return f"【正文】今年以来，我们认真落实上级部署，扎实推进{topic}，各项工作取得新进展。现将有关工作总结如下："
        if "培训班" in guide:
            return f"【正文】今天，{occasion or topic + '培训班'}正式开班。举办这次培训，目的是进一步提升{topic}的能力和水平。"
        return f"【正文】今天，我们召开{occasion or topic + '工作会议'}，主要任务是研究部署{topic}，推动各项任务落地见效。"
    if "总之" in guide:
        return f"【正文】总之，做好{topic}是一项长期任务，必须坚持问题导向，把对策建议落到实处，推动{topic}不断取得新成效。"
    if "特此报告" in guide:
        return "【正文】特此报告。"
    if "祝" in guide:
        return f"【正文】最后，祝大家在{topic}中收获满满，谢谢大家！"
    if "新的一年" in guide:
        return f"【正文】新的一年，我们将认真总结经验、查找不足，推动{topic}再上新台阶。"
    if "表态" in guide:
        return f"【正文】我们将坚决落实{topic}的各项部署，请各位领导放心。不当之处，请批评指正。"
    return f"【正文】同志们，做好{topic}责任重大。让我们进一步统一思想、真抓实干，奋力开创{topic}新局面！"


_SECTION_LINE = re.compile(r"^- key=(\S+?)：(.+?)（(.+?)）。", re.M)
_FACT_LINE = re.compile(r"^(\d+)\.（(.+?)(?:；关于“(.+?)”)?）(.+)$", re.M)
_FACT_ROLE = {"问题不足": "problems", "原因": "causes", "打算措施": "measures", "成效做法": "achievements"}


_PROBLEM_WORD = re.compile(r"不足|偏少|偏低|短缺|不到|不够|不强|缺乏|滞后|薄弱|不及时|不到位|老化")


def _fact_heading(text: str) -> str:
    """A problem's sub-heading drawn from a fact, as a model words it: the clause that names the
    shortfall, without its figures (部分服务站护理人员不足，… → 服务站护理人员不足)."""
    clause = next((c for c in re.split(r"[，。；]", text) if _PROBLEM_WORD.search(c)), "")
    clause = re.sub(r"^(?:部分|有的|个别|问卷调查显示|调查发现|\d+(?:\.\d+)?%的?)+", "", clause)
    clause = re.sub(r"\d+(?:\.\d+)?%?", "", clause)
    return clause if 4 <= len(clause) <= 16 else ""


def write_outline(user: str) -> str:
    """The outline as a careful model proposes it: the writer's points kept (a speech's 意见 given
    their 要…), two sub-headings drafted from the facts where the part may have them, facts by role."""
    chunks = re.split(r"(?=^- key=)", user.split("【结构】", 1)[1].split("【事实材料】", 1)[0], flags=re.M)
    sections, roles = [], {}
    for chunk in chunks:
        m = _SECTION_LINE.match(chunk)
        if not m:
            continue
        key, heading, role = m.groups()
        points = re.findall(r"「(.+?)」", chunk)
        if points and "以“要”开头" in chunk:
            points = [p if p.startswith(("要", "希望")) else "要" + p for p in points]
        raw = re.findall(r"「(.+?)」", chunk)
        sections.append(
            {"key": key, "points": points, "facts": [], "_subs": "可依据事实材料" in chunk, "_raw": raw}
        )
        roles[key] = _ROLE_OF.get(role, "")
    facts = [(int(i), r, p, t) for i, r, p, t in _FACT_LINE.findall(user.split("【事实材料】", 1)[-1])]
    for fid, role_label, point, _text in facts:
        want = _FACT_ROLE.get(role_label, "")
        target = next((s for s in sections if roles[s["key"]] == want), None)
        # context goes where the document opens on it: 基本情况, 成效, or a ceremony's 致意 (迎来新生826名)
        homes = (
            ("background", "achievements", "opening")
            if role_label == "基本情况"
            else ("background", "achievements")
        )
        target = target or next((s for s in sections if roles[s["key"]] in homes), None)
        target = target or next((s for s in sections if point and point in s["points"] + s["_raw"]), None)
        if target is not None:  # with the point the fact is about, when it is one of the part's
            named = next((q for q in target["points"] if point and q in (point, "要" + point)), "")
            target["facts"].append({"id": fid, "point": named})
    texts = {fid: text for fid, _, _, text in facts}
    for s in sections:
        s.pop("_raw")
        if s.pop("_subs") and not s["points"] and len(s["facts"]) >= 2:
            heads = [_fact_heading(texts[f["id"]]) for f in s["facts"][:3]]
            if all(heads):
                s["points"] = heads
                for fact, head in zip(s["facts"], heads, strict=False):
                    fact["point"] = head  # each heading drawn from its fact is that fact's point
    problems = next((s for s in sections if roles[s["key"]] == "problems" and s["points"]), None)
    measures = next(
        (s for s in sections if roles[s["key"]] in ("measures", "requirements") and s["points"]), None
    )
    pairs = []
    if problems and measures:
        pairs = [
            {"problem": p, "measure": m} for p, m in zip(problems["points"], measures["points"], strict=False)
        ]
    return json.dumps({"sections": sections, "pairs": pairs}, ensure_ascii=False)


def wrap(text: str, how: str) -> str:
    """``text`` as a real model might send it."""
    if how == "think":
        return f"<think>\n用户要我按提纲写这一部分。我先理一理思路：要点要逐条写到，事实照抄。\n</think>\n\n{text}"
    if how == "bare-close":
        return f"好，先分析要求：只写本部分，用规定的标记。\n</think>\n{text}"
    if how == "markdown":
        return re.sub(r"^(【.+?】)", r"**\1**", text, flags=re.M).replace("\n", "\n\n")
    if how == "commentary":
        return f"好的，以下是按您的要求起草的内容：\n\n{text}\n\n以上内容仅供参考，可根据实际情况调整。"
    if how == "fence":
        return f"```json\n{text}\n```"
    return text


@dataclass
class ScriptedModel:
    """``FakeOpenAI.responder``: answers outline, section, formula and review calls (see the module doc)."""

    deviate: bool = False
    prompts: list[tuple[str, str]] = field(default_factory=list)
    review_edits: list[dict[str, str]] = field(default_factory=list)
    # scripted replies for one call kind, used in order before the model's own: "outline", "opening",
    # "closing", "review" or a section's heading; a reply may be a FakeOpenAI behaviour (("drop", text)…)
    overrides: dict[str, list[Any]] = field(default_factory=dict)

    def kind(self, user: str) -> str:
        if user.startswith("【任务】为一篇"):
            return "outline"
        if user.startswith("【任务】起草"):
            return read_section(user).heading
        if user.startswith("【任务】写"):
            return "opening" if "的开头" in user.split("\n", 1)[0] else "closing"
        if user.startswith("【任务】审读"):
            return "review"
        return "other"

    def calls(self, kind: str) -> list[tuple[str, str]]:
        """The (system, user) prompts of every call of ``kind``."""
        return [(s, u) for s, u in self.prompts if self.kind(u) == kind]

    def __call__(self, payload: dict[str, Any]) -> Any:
        messages = payload.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        self.prompts.append((system, user))
        queued = self.overrides.get(self.kind(user))
        if queued:
            return queued.pop(0)
        salt = int(hashlib.sha1(user.encode()).hexdigest()[:6], 16)
        if user.startswith("【任务】为一篇"):
            text, ways = write_outline(user), ["plain", "fence", "think"]
        elif user.startswith("【任务】起草"):
            section = read_section(user)
            direction = re.search(r"行文方向：([^\n]*)", system)  # a report upward, not a 调研报告's 建议
            section.upward = (
                bool(direction) and direction.group(1).startswith("对上") and "建议" not in direction.group(1)
            )
            text = write_section(section, salt % 3)
            ways = ["plain", "think", "bare-close", "markdown", "commentary"]
        elif user.startswith("【任务】写"):
            text, ways = write_formula(user), ["plain", "think", "commentary"]
        elif user.startswith("【任务】审读"):
            return json.dumps({"edits": self.review_edits}, ensure_ascii=False)
        else:
            return "【正文】好。"
        return wrap(text, ways[salt % len(ways)] if self.deviate else "plain")
