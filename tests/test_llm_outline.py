"""提纲 first: the model's outline read against the offline one, and the writer's edit round trip
(``draft --outline-only --json`` → edit → ``draft --outline FILE``) that drafting follows exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.draft.pipeline import make_outline, propose_outline
from assistant.records import DraftRequest
from assistant.settings import Settings
from tests.fake_openai import FakeOpenAI
from tests.llm_deviations import MEASURES, PROBLEMS, RESEARCH, RESEARCH_OUTLINE, SPEECH
from tests.scripted_model import ScriptedModel


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def propose(server: FakeOpenAI, settings: Settings, request, *replies):
    model = ScriptedModel(overrides={"outline": list(replies)} if replies else {})
    server.responder = model
    warnings: list[str] = []
    s = settings.with_overrides(llm_base_url=server.base_url, llm_model="scripted", llm_timeout=5)
    outline = propose_outline(request, s, lambda k, p: warnings.append(p["text"]) if k == "warning" else None)
    return outline, warnings, model


def test_without_a_model_the_outline_is_the_offline_one(settings: Settings):
    assert propose_outline(RESEARCH, settings) == make_outline(RESEARCH, settings)


def test_the_model_proposes_headings_in_the_types_style_and_places_facts(
    server: FakeOpenAI, settings: Settings
):
    outline, warnings, model = propose(server, settings, SPEECH)
    user = model.calls("outline")[0][1]
    assert "「压实安全生产责任」「深化隐患排查整治」" in user and "以“要”开头的动宾结构" in user
    assert "1.（成效做法" in user and "）今年以来全市共排查整治安全隐患3426处" in user
    requirements = next(i for i in outline.items if i.key == "requirements")
    assert requirements.points == [
        "要压实安全生产责任",
        "要深化隐患排查整治",
        "要强化重点行业监管",
        "要提升应急处置能力",
    ]
    assert not warnings


def test_problems_are_paired_with_the_measures_that_answer_them(server: FakeOpenAI, settings: Settings):
    outline, warnings, _ = propose(server, settings, RESEARCH, RESEARCH_OUTLINE)
    problems = next(i for i in outline.items if i.key == "problems")
    assert problems.points == PROBLEMS and problems.pairs == dict(zip(PROBLEMS, MEASURES, strict=True))
    assert problems.facts == [2, 3]
    placed = {f.id: f.section for f in outline.facts}
    assert placed == {1: "basic", 2: "problems", 3: "problems"}
    assert not warnings


def test_a_proposal_that_strays_keeps_the_offline_choice_and_says_so(server: FakeOpenAI, settings: Settings):
    data = json.loads(RESEARCH_OUTLINE)
    data["sections"] = [s for s in data["sections"] if s["key"] != "causes"]  # a part left out
    measures = next(s for s in data["sections"] if s["key"] == "measures")
    measures["points"] = [
        "推进数字化转型，建设智慧平台",
        "加强专业人才队伍建设，提高持证上岗率",
    ]  # a point swapped
    basic = next(s for s in data["sections"] if s["key"] == "basic")
    basic["facts"] = [1, 99]  # an unknown fact
    offline = make_outline(RESEARCH, settings)
    outline, warnings, _ = propose(server, settings, RESEARCH, json.dumps(data, ensure_ascii=False))
    measures_item = next(i for i in outline.items if i.key == "measures")
    assert measures_item.points == ["服务网络建设", "加强专业人才队伍建设，提高持证上岗率"]
    causes = next(i for i in outline.items if i.key == "causes")
    assert causes == next(i for i in offline.items if i.key == "causes")
    assert any("漏了“原因分析”" in w for w in warnings) and any("服务网络建设" in w for w in warnings)
    assert [i.key for i in outline.items] == [i.key for i in offline.items]  # the skeleton never changes


def test_an_achievement_is_never_moved_into_problems(server: FakeOpenAI, settings: Settings):
    from dataclasses import replace

    request = replace(RESEARCH, materials=["今年完成社区养老服务站改造20个，群众满意度提升到95%。"])
    offline = make_outline(request, settings)
    assert offline.facts[0].role == "achievement"
    data = {"sections": [{"key": "problems", "points": PROBLEMS, "facts": [1]}]}
    outline, warnings, _ = propose(server, settings, request, json.dumps(data, ensure_ascii=False))
    assert outline.facts[0].section == offline.facts[0].section != "problems"
    assert any("材料1不宜放在“存在的问题”" in w for w in warnings)


def test_an_unusable_reply_is_retried_then_the_offline_outline_is_used(
    server: FakeOpenAI, settings: Settings
):
    outline, warnings, model = propose(server, settings, RESEARCH, "一、基本情况", "{不是 JSON")
    assert len(model.calls("outline")) == 2
    assert "【上次输出的问题】没有输出可解析的 JSON 对象" in model.calls("outline")[1][1]
    assert outline == make_outline(RESEARCH, settings)
    assert any("提纲改用离线规则生成" in w for w in warnings)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


REQUEST_ARGS = [
    "draft",
    "--type",
    "research-report",
    "--topic",
    "社区居家养老服务",
    "--unit",
    "市民政局",
    "--occasion",
    "市政府年度重点调研",
    "--point",
    "服务网络建设",
    "--point",
    "专业人才队伍",
]


def test_the_writer_edits_the_outline_and_the_draft_follows_it(
    capsys, server: FakeOpenAI, seed_settings: Settings, tmp_path: Path, monkeypatch
):
    materials = tmp_path / "材料.txt"
    materials.write_text("\n".join(RESEARCH.materials), encoding="utf-8")
    model = ScriptedModel(overrides={"outline": [RESEARCH_OUTLINE]})
    server.responder = model
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "scripted")
    index = ["--index", str(seed_settings.index_dir), "--materials", str(materials)]
    code, out, _ = _cli(capsys, *REQUEST_ARGS, *index, "--outline-only", "--json")
    assert code == 0
    data = json.loads(out)
    problems = next(i for i in data["items"] if i["key"] == "problems")
    assert problems["points"] == PROBLEMS
    # the writer renames a sub-heading, moves fact 3 to 原因分析 and adds a measure
    problems["points"][1] = "护理队伍专业化程度低"
    problems["facts"] = [2]
    problems["pairs"] = {"上门服务供给不足": MEASURES[0]}
    causes = next(i for i in data["items"] if i["key"] == "causes")
    causes["facts"] = [3]
    measures = next(i for i in data["items"] if i["key"] == "measures")
    measures["points"].append("健全考核评价机制，提升服务质量")
    edited = tmp_path / "提纲.json"
    edited.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    code, out, err = _cli(capsys, *REQUEST_ARGS, *index, "--outline", str(edited))
    assert code == 0, err
    assert len(model.calls("outline")) == 1  # the edited outline is not proposed again
    assert "（二）护理队伍专业化程度低。" in out and "专业护理人员短缺" not in out
    assert "（三）健全考核评价机制，提升服务质量。" in out
    causes_prompt = model.calls("原因分析")[0][1]
    assert (
        "部分服务站护理人员不足，持证上岗率不到一半。" in causes_prompt.split("【本部分使用的事实材料】")[1]
    )
    problems_prompt = model.calls("存在的问题")[0][1]
    assert "材料3" not in problems_prompt.split("【本部分使用的事实材料】")[1].split("【文风参考】")[0]


def test_a_bad_outline_file_gets_a_chinese_error(capsys, tmp_path: Path):
    bad = tmp_path / "提纲.json"
    bad.write_text("{不是 JSON", encoding="utf-8")
    code, _, err = _cli(capsys, *REQUEST_ARGS, "--outline", str(bad))
    assert code == 2 and "提纲文件" in err and "JSON" in err and "Traceback" not in err
    other = tmp_path / "讲话提纲.json"
    other.write_text(json.dumps({"doc_type": "speech", "title": "t", "items": []}), encoding="utf-8")
    code, _, err = _cli(capsys, *REQUEST_ARGS, "--outline", str(other))
    assert code == 2 and "与 --type research-report 不一致" in err
    code, _, err = _cli(capsys, *REQUEST_ARGS, "--outline", str(tmp_path / "无.json"))
    assert code == 2 and "找不到提纲文件" in err


def test_a_fact_whose_part_the_skeleton_lacks_goes_under_the_point_it_is_about(
    server: FakeOpenAI, settings: Settings
):
    """A 开学典礼 has no 成效 part: the school's results go under its point 回顾学校发展成绩, and the section
    prompt tells the model which point each fact belongs to."""
    request = DraftRequest(
        "speech",
        "新学期开学",
        unit="县第一中学",
        occasion="2025年秋季开学典礼",
        points=["欢迎新同学", "回顾学校发展成绩", "对同学们的希望"],
        materials=["2024年高考我校本科上线率为78.5%，学校发展成绩显著。"],
    )
    offline = make_outline(request, settings)
    # no part of its role in this skeleton: the offline outline, too, puts it under the review point
    assert offline.facts[0].section == "hopes" and offline.facts[0].point == "回顾学校发展成绩"
    outline, warnings, _ = propose(server, settings, request)
    hopes = next(i for i in outline.items if i.key == "hopes")
    assert outline.facts[0].section == "hopes" and hopes.facts == [1]
    from assistant.draft.llm_brief import facts_by_point

    assert facts_by_point(hopes, outline.facts) == {hopes.points[1]: [1]}


def test_the_model_says_which_point_a_fact_is_about_and_the_draft_follows_it(
    server: FakeOpenAI, settings: Settings
):
    """Which key point a fact is about is where the offline reading is weakest (营业收入 shares no word with
    提质增效). The outline call asks the model for each fact's point; a point it names that is one of the part's
    is kept, and the section prompt puts the fact under it. A point that is none of the part's changes nothing."""
    request = DraftRequest(
        "duty-report",
        "2024年度履职情况",
        unit="市城投集团党委",
        points=["深化国企改革", "提质增效和债务风险防控"],
        materials=["2024年集团完成营业收入42.8亿元、利润总额3.1亿元。"],
    )
    offline = make_outline(request, settings)
    part = next(i for i in offline.items if 1 in i.facts)
    chosen = next(p for p in part.points if p != offline.facts[0].point)  # not what the words suggest
    reply = {
        "sections": [
            {
                "key": i.key,
                "points": list(i.points),
                "facts": [{"id": 1, "point": chosen}] if i is part else [],
            }
            for i in offline.items
        ],
        "pairs": [],
    }
    outline, _, model = propose(server, settings, request, json.dumps(reply, ensure_ascii=False))
    assert '"point"' in model.calls("outline")[0][1] and "按材料的内容判断" in model.calls("outline")[0][1]
    assert outline.facts[0].point == chosen
    from assistant.draft.llm_brief import facts_by_point

    placed = next(i for i in outline.items if 1 in i.facts)
    assert facts_by_point(placed, outline.facts) == {chosen: [1]}
    reply["sections"] = [
        {**s, "facts": [{"id": 1, "point": "安全生产"}] if s["facts"] else []} for s in reply["sections"]
    ]
    outline, _, _ = propose(server, settings, request, json.dumps(reply, ensure_ascii=False))
    assert outline.facts[0].point == offline.facts[0].point  # not one of the part's points: the hint stands
