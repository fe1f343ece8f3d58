"""The workbench's parts that need no server: outline edits, the draft's HTML (escaped, a source per
sentence, facts marked, unused facts beside their section, the Word-like layout), before/after, counts."""

from __future__ import annotations

import pytest

from assistant.errors import InputError
from assistant.records import (
    Draft,
    DraftParagraph,
    DraftRequest,
    DraftSection,
    Outline,
    OutlineItem,
    Source,
    Span,
)
from assistant.ui import outline_model as model
from assistant.ui.render import diff_html, draft_html, sources_html, unused_facts
from assistant.ui.style import CSS
from assistant.ui.views import build_request, generator_label
from assistant.ui.workbench import parse_count


def _outline() -> dict:
    return Outline(
        "duty-report",
        "2024年度述职报告",
        [
            OutlineItem("performance", "achievements", "履职情况", ["理论学习", "支部建设"], "headings"),
            OutlineItem("problems", "problems", "存在的问题", [], "items"),
            OutlineItem("plans", "measures", "下一步工作打算", ["抓好学习"], "headings"),
        ],
    ).to_dict()


def test_sections_move_and_points_change_section_without_touching_the_original() -> None:
    outline = _outline()
    moved = model.move_section(outline, 0, 1)
    assert [i["key"] for i in moved["items"]] == ["problems", "performance", "plans"]
    assert [i["key"] for i in outline["items"]] == ["performance", "problems", "plans"]
    assert model.move_section(outline, 0, -1) == outline  # nothing above the first
    point = model.move_point(outline, 0, 1, "problems")
    assert point["items"][0]["points"] == ["理论学习"] and point["items"][1]["points"] == ["支部建设"]
    raised = model.point_up(outline, 0, 1)
    assert raised["items"][0]["points"] == ["支部建设", "理论学习"]


def test_removing_a_section_keeps_its_points_and_it_can_be_added_back() -> None:
    outline = _outline()
    removed = model.remove_section(outline, 0)
    assert [i["key"] for i in removed["items"]] == ["problems", "plans"]
    assert removed["items"][0]["points"] == ["理论学习", "支部建设"]  # moved, never lost
    schema = [{"key": "performance", "role": "achievements", "heading": "履职情况"}]
    missing = model.missing_sections(removed, schema)
    assert [s["key"] for s in missing] == ["performance"]
    again = model.add_section(removed, missing[0])
    assert again["items"][-1]["heading"] == "履职情况"
    with pytest.raises(InputError, match="已有"):
        model.add_section(again, missing[0])
    with pytest.raises(InputError, match="至少要保留一个部分"):
        model.remove_section(model.remove_section(removed, 0), 0)


def test_edited_words_are_cleaned_and_an_empty_point_is_removed() -> None:
    outline = _outline()
    assert model.set_heading(outline, 0, "**一年来的履职情况**")["items"][0]["heading"] == "一年来的履职情况"
    assert model.set_point(outline, 0, 0, "  ")["items"][0]["points"] == ["支部建设"]
    assert model.add_point(outline, 1, "<b>组织生活不够规范</b>")["items"][1]["points"] == [
        "组织生活不够规范"
    ]
    with pytest.raises(InputError, match="不能为空"):
        model.set_heading(outline, 0, "")
    with pytest.raises(InputError, match="过长"):
        model.add_point(outline, 0, "长" * 500)


def _draft() -> Draft:
    spans = [
        Span("全年开展主题党日活动12次。", "fact", [], fact=1),
        Span("严格落实<三会一课>制度。", "corpus", [1]),
        Span("【待补：本人履职的具体做法】", "gap", []),
    ]
    request = DraftRequest(
        "duty-report",
        "党建",
        materials=["全年开展主题党日活动12次。医保基金追回资金356万元，约谈定点医药机构9家。"],
    )
    return Draft(
        doc_type="duty-report",
        title="述职报告",
        sections=[
            DraftSection(
                "opening",
                "opening",
                "",
                "根据安排，现报告如下：",
                [],
                0,
                [DraftParagraph("根据安排，现报告如下：")],
            ),
            DraftSection(
                "performance",
                "achievements",
                "一、履职情况",
                "",
                [],
                1,
                [
                    DraftParagraph("一、履职情况", "heading", 1),
                    DraftParagraph("".join(s.text for s in spans), "body", 0, [1], spans),
                    DraftParagraph("（一）抓好学习。坚持学习制度，推进医保基金监管。", "heading", 2, [2]),
                ],
            ),
        ],
        text="",
        sources=[
            Source(1, "c1", "d1", "甲文", "一、履职情况", "achievements", "原文"),
            Source(2, "c2", "d2", "乙文", "", "achievements", "原文"),
        ],
        request=request,
    )


def test_the_draft_html_escapes_text_and_carries_a_source_per_sentence() -> None:
    html = draft_html(_draft())
    assert "<三会一课>" not in html and "&lt;三会一课&gt;" in html
    assert 'data-src="1" data-kind="corpus" data-scope="sentence"' in html
    assert 'class="gw-s k-fact" data-src="" data-kind="fact" data-scope="sentence" data-fact="1"' in html
    assert 'data-kind="gap"' in html
    # a paragraph without spans: each sentence carries the paragraph's sources and says so
    assert 'data-src="2" data-kind="corpus" data-scope="paragraph"' in html
    assert '<p class="gw-h1">' in html and 'class="gw-s gw-runin' in html  # laid out like the Word file


def test_a_sentence_to_verify_is_highlighted_not_only_explained_on_hover() -> None:
    draft = _draft()
    flagged = Span(
        "市应急管理局要加强监管。【核实：市应急管理局】", "model", [], note="材料中没有：市应急管理局"
    )
    draft.sections[-1].paragraphs.append(DraftParagraph(flagged.text, "body", 0, [], [flagged]))
    html = draft_html(draft)
    assert 'class="gw-s k-model gw-flag"' in html and 'title="材料中没有：市应急管理局"' in html
    assert html.count("gw-flag") == 1  # the writer's fact, the corpus sentence and the gap are not flagged
    assert ".gw-s.gw-flag" in CSS


def test_unused_facts_are_listed_in_full_beside_the_section_they_fit() -> None:
    draft = _draft()
    assert unused_facts(draft) == {"performance": ["医保基金追回资金356万元，约谈定点医药机构9家。"]}
    html = draft_html(draft)
    assert "医保基金追回资金356万元，约谈定点医药机构9家。</li>" in html


def test_a_sentences_sources_say_where_they_came_from() -> None:
    draft = _draft()
    context = {"c1": {"before": "前文", "text": "严格落实三会一课制度", "after": "后文"}}
    html = sources_html(draft, [1], "corpus", "sentence", "严格落实三会一课制度。", context)
    assert "[1] 《甲文》 一、履职情况" in html and "<mark>严格落实三会一课制度</mark>" in html
    assert "来自您提供的材料" in sources_html(draft, [], "fact", "sentence", "全年…", {})
    assert "本段整体" in sources_html(draft, [2], "corpus", "paragraph", "坚持学习制度。", {})


def test_before_and_after_marks_removed_and_added_sentences() -> None:
    html = diff_html("二、存在的问题", "缩写", "甲句。乙句。丙句。", "甲句。丙句。")
    assert "<del>乙句。</del>" in html and "<del>甲句" not in html and "9 字 → 6 字" in html


@pytest.mark.parametrize(("text", "value"), [("", None), (" 300 ", 300), ("1,200", 1200)])
def test_counts_typed_as_text(text: str, value: int | None) -> None:
    assert parse_count(text, "缩写字数") == value


@pytest.mark.parametrize("text", ["三百", "-5", "0", "3.5"])
def test_bad_counts_say_what_to_type(text: str) -> None:
    with pytest.raises(InputError, match="正整数"):
        parse_count(text, "缩写字数")


def test_target_length_from_the_form() -> None:
    assert build_request("speech", "党建", length="").length is None
    assert build_request("speech", "党建", length="2500").length == 2500
    with pytest.raises(InputError, match="正整数"):
        build_request("speech", "党建", length="两千")


def test_the_generator_line_has_no_keys_or_template_versions() -> None:
    draft = _draft()
    draft.generator = {
        "backend": "composer",
        "prompts": [{"name": "speech.opening", "version": 1}],
        "revised": {"part": "二、存在的问题", "action": "重写"},
        "regenerated": "problems",
    }
    line = generator_label(draft)
    assert "离线组稿" in line and "重写“二、存在的问题”" in line
    assert "模板" not in line and "problems" not in line and "v1" not in line


def test_the_document_view_names_every_ingest_warning_in_chinese_with_its_correction() -> None:
    from assistant.ui.library_view import document_html

    warnings = [
        {
            "kind": "dated",
            "label": "过时表述：“贫困户”应为“脱贫户、监测对象”",
            "text": "贫困户",
            "context": "开展结对帮扶贫困户活动",
        },
        {"kind": "tifa", "label": "提法有误：“四个意识”写法有误", "text": "4个意识", "context": ""},
        {"kind": "gap", "text": "提出项", "context": "提出项任务清单"},  # an older index: no label
        {"kind": "something-new", "text": "某处"},
    ]
    doc = {"title": "测试文档", "doc_type": "duty-report", "type_source": "detected", "warnings": warnings}
    html = document_html(doc, [], {"duty-report": "述职报告"})
    assert "入库时发现的问题（4 处）" in html
    assert "<b>过时表述</b>：“贫困户”应为“脱贫户、监测对象”" in html and "开展结对帮扶贫困户活动" in html
    assert "<b>提法有误</b>" in html and "<b>疑似抓取残缺</b>：提出项" in html and "<b>问题</b>：某处" in html
    assert not any(kind in html for kind in ("dated", "tifa", "something-new", ">gap<"))
