"""Reading a model's reply: reasoning, Markdown and commentary removed, markers read, the shape checked
against the outline (``draft/llm_reply.py``), and the streamed preview (``llm_writer.Preview``)."""

from __future__ import annotations

import pytest

from assistant.draft.llm_reply import Shape, check, normalise, parse, strip_think
from assistant.draft.llm_writer import Preview, renumber_items


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<think>想想</think>正文。", "正文。"),
        ("<THINK>\n多行\n思考\n</THINK>\n\n正文。", "正文。"),
        ("先分析一下。\n</think>\n正文。", "正文。"),
        ("正文。<think>没写完的思考", "正文。"),
        ("<think>只有思考", ""),
        ("<thinking>a</thinking>正文。", "正文。"),
    ],
)
def test_reasoning_blocks_are_removed_in_every_shape(raw: str, text: str):
    cleaned, found = strip_think(raw)
    assert cleaned.strip() == text and found


def test_markers_markdown_and_commentary():
    reply = parse(
        "好的，以下是本部分：\n\n## 存在的问题\n\n**【小标题】** 服务供给不足\n- **【正文】**：上门服务偏少。\n"
        "[小标题]（二）人员短缺\n【正文】\n护理人员不足。[1]\n\n以上内容仅供参考。"
    )
    assert [(b.kind, b.text) for b in reply.blocks] == [
        ("subheading", "服务供给不足"),
        ("body", "上门服务偏少。"),
        ("subheading", "人员短缺"),
        ("body", "护理人员不足。"),
    ]
    assert reply.cleaned.markdown and reply.cleaned.markers
    assert reply.cleaned.commentary == ["好的，以下是本部分：", "存在的问题", "以上内容仅供参考。"]


def test_a_lone_sub_heading_never_becomes_a_level_one_heading():
    text = "（一）加强领导\n各级要高度重视。\n（二）完善制度\n要健全机制。"
    for shape, kinds in [
        (
            Shape("heading", "subheadings", subs=["加强领导", "完善制度"]),
            ["subheading", "body", "subheading", "body"],
        ),
        (Shape("heading", "none"), ["body", "body"]),
        (
            Shape("points", "subheadings", headings=["要加强领导"]),
            ["subheading", "body", "subheading", "body"],
        ),
    ]:
        blocks = normalise(parse(text), shape)
        assert [b.kind for b in blocks] == kinds
        assert "heading" not in [b.kind for b in blocks]
    blocks = normalise(parse(text), Shape("heading", "none"))
    assert blocks[0].text == "加强领导。各级要高度重视。"
    # a 【标题】 in a section that has no level-1 headings of its own is read as its sub-heading
    blocks = normalise(parse("【标题】甲\n【正文】甲。"), Shape("heading", "subheadings"))
    assert [b.kind for b in blocks] == ["subheading", "body"]


def test_numbered_level_one_lines_are_the_points_of_a_points_section():
    text = "一、要压实责任\n要明确分工。\n二、要排查隐患\n要全面排查。"
    shape = Shape("points", "subheadings", headings=["要压实责任", "要排查隐患"])
    blocks = normalise(parse(text), shape)
    assert [b.kind for b in blocks] == ["heading", "body", "heading", "body"]
    assert check(blocks, shape, markers=False) == []  # unmarked, but it fits the outline exactly


@pytest.mark.parametrize(
    ("reply", "shape", "problem"),
    [
        ("", Shape("heading", "none"), "没有可用的正文"),
        ("<think>只有思考</think>", Shape("heading", "none"), "没有可用的正文"),
        ("【标题】要甲\n【正文】甲。", Shape("points", "none", headings=["要甲", "要乙"]), "写 2 条【标题】"),
        (
            "【标题】要丙\n【正文】丙。\n【标题】要乙\n【正文】乙。",
            Shape("points", "none", headings=["要甲", "要乙"]),
            "与提纲中的“要甲”不符",
        ),
        (
            "【小标题】甲\n【正文】甲。",
            Shape("heading", "subheadings", subs=["甲", "乙"]),
            "有 2 个【小标题】",
        ),
        ("【分项】甲。\n【分项】乙。\n【分项】丙。", Shape("heading", "items", subs=["甲", "乙"]), "有 2 项"),
        ("【分项】甲。", Shape("paragraph", "items"), "须以【导语】开头"),
        (
            "随便写的一段话，没有任何标记，也没有小标题。",
            Shape("heading", "subheadings", subs=["甲", "乙"]),
            "没有使用规定的标记",
        ),
    ],
)
def test_shape_problems_are_named_for_the_retry(reply: str, shape: Shape, problem: str):
    parsed = parse(reply)
    problems = check(normalise(parsed, shape), shape, parsed.cleaned.markers)
    assert any(problem in p for p in problems), problems


def test_item_markers_stay_and_are_renumbered_in_order():
    assert renumber_items("一是甲。三是乙。五是丙。") == "一是甲。二是乙。三是丙。"
    assert renumber_items("总的看，一是甲；二是乙。") == "总的看，一是甲；二是乙。"


def test_the_preview_shows_no_reasoning_markers_or_commentary():
    preview = Preview()
    shown = ""
    for piece in [
        "<thi",
        "nk>想",
        "一想</th",
        "ink>好的，以下",
        "是：\n【小",
        "标题】甲\n【正",
        "文】正文甲。\n",
    ]:
        shown += preview.feed(piece)
    assert shown == "甲\n正文甲。\n"
