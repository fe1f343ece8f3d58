"""Each metric against a known-good and a known-bad text: the bad one fails for the stated reason."""

from __future__ import annotations

import pytest

from assistant.evals import metrics
from assistant.records import Draft, DraftParagraph, DraftRequest, DraftSection, Source
from assistant.settings import PROJECT_ROOT

PROMPTS = PROJECT_ROOT / "prompts"

DUTY_GOOD = """2024年度抓基层党建工作述职报告
根据机关党委安排，现将本人2024年履行党支部书记抓基层党建工作职责情况报告如下：
一、履职情况
（一）强化理论武装，筑牢思想根基。支部坚持“三会一课”制度，全年组织集中学习18次，树牢“四个意识”。一是领导班子带头学。二是党员干部跟进学。
（二）夯实基层基础，提升组织力。严格落实一岗双责，推进支部标准化规范化建设，党员队伍凝聚力不断增强。
二、存在的问题
一是理论学习还不够深入，学用结合不够紧密。
二是党建与业务融合还不够紧密，存在“两张皮”现象。
三、下一步工作打算
一是深化理论学习，推动学习成果转化为工作成效。
二是抓实队伍建设，充分发挥党员先锋模范作用。
以上报告，请予评议。"""

DUTY_REQUEST = DraftRequest(
    doc_type="duty-report",
    topic="2024年度抓基层党建工作",
    unit="市医保局机关党支部书记",
    points=["理论学习", "党建与业务融合", "队伍建设"],
    materials=["2024年支部组织集中学习18次。"],
)


def score(text: str, doc_type: str = "duty-report", **kwargs) -> metrics.Scorecard:
    return metrics.score_draft(text, doc_type, prompts_dir=PROMPTS, **kwargs)


def test_good_duty_report_passes_structure_and_coverage() -> None:
    card = score(DUTY_GOOD, request=DUTY_REQUEST)
    for name in (
        "sections",
        "order",
        "numbering",
        "numbering_style",
        "formulas",
        "leftovers",
        "numbers",
        "points",
    ):
        assert card.get(name).passed is True, card.get(name).reason


# ------------------------------------------------------------------------------------------- structure
def test_missing_problems_section_fails_sections() -> None:
    text = DUTY_GOOD.replace(
        "二、存在的问题\n一是理论学习还不够深入，学用结合不够紧密。\n二是党建与业务融合还不够紧密，存在“两张皮”现象。\n",
        "",
    )
    text = text.replace("三、下一步工作打算", "二、下一步工作打算")
    result = score(text).get("sections")
    assert result.passed is False
    assert "存在的问题" in result.reason
    assert result.details["missing"] == ["存在的问题"]


def test_sections_out_of_order_fails_order() -> None:
    problems = "二、存在的问题\n一是理论学习还不够深入，学用结合不够紧密。\n二是党建与业务融合还不够紧密，存在“两张皮”现象。\n"
    body = DUTY_GOOD.replace(problems, "")
    head, rest = body.split("一、履职情况\n", 1)
    performance, plans = rest.split("三、下一步工作打算\n", 1)
    text = (
        head
        + problems.replace("二、", "一、")
        + "二、履职情况\n"
        + performance
        + "三、下一步工作打算\n"
        + plans
    )
    result = score(text).get("order")
    assert result.passed is False
    assert "顺序不对" in result.reason
    assert result.details["actual"][0] == "存在的问题"


def test_level2_numbering_jump_fails() -> None:
    text = DUTY_GOOD.replace("（二）夯实基层基础", "（三）夯实基层基础")
    result = score(text).get("numbering")
    assert result.passed is False
    assert "序号不连续" in result.reason and "（三）" in result.reason
    assert "（三）" in result.details["marks"]


def test_a_lone_yishi_without_an_ershi_fails_numbering() -> None:
    """一是 promises a 二是: a part left with one item (the rest a gap) must not keep its marker."""
    text = DUTY_GOOD.replace("\n二是党建与业务融合还不够紧密，存在“两张皮”现象。", "")
    assert "一是理论学习" in text and "二是党建与业务" not in text
    result = score(text).get("numbering")
    assert result.passed is False and "只有“一是”没有“二是”" in result.reason
    assert score(DUTY_GOOD).get("numbering").passed is True


def test_level2_restarts_under_each_level1_heading() -> None:
    text = DUTY_GOOD.replace(
        "二、存在的问题\n一是理论学习还不够深入，学用结合不够紧密。\n二是党建与业务融合还不够紧密，存在“两张皮”现象。",
        "二、存在的问题\n（一）理论学习还不够深入。学用结合不够紧密。\n（二）党建与业务融合不够紧密。存在“两张皮”现象。",
    )
    assert score(text).get("numbering").passed is True
    wrong = text.replace("（一）理论学习还不够深入", "（三）理论学习还不够深入")
    assert score(wrong).get("numbering").passed is False


def test_item_sequence_must_start_at_yishi_and_be_consecutive() -> None:
    skipped = DUTY_GOOD.replace("二是抓实队伍建设", "三是抓实队伍建设")
    result = score(skipped).get("numbering")
    assert result.passed is False and "不连续" in result.reason
    not_started = DUTY_GOOD.replace("一是深化理论学习", "二是深化理论学习").replace(
        "二是抓实队伍建设", "三是抓实队伍建设"
    )
    assert score(not_started).get("numbering").passed is False


def test_skipped_level_fails() -> None:
    text = "根据安排，现将本人履职情况报告如下：\n（一）强化理论武装。全年坚持学习。\n"
    result = score(text).get("numbering")
    assert result.passed is False and "跳级" in result.reason


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("（一）强化理论武装", "（一）、强化理论武装", "多余顿号"),
        ("（一）强化理论武装", "(一)强化理论武装", "半角括号"),
        ("二是党员干部跟进学。", "二是党员干部跟进学。\n1、领导带头学。", "阿拉伯数字后用顿号"),
    ],
)
def test_nonstandard_numbering_forms_fail_style(old: str, new: str, why: str) -> None:
    result = score(DUTY_GOOD.replace(old, new)).get("numbering_style")
    assert result.passed is False and why in result.reason
    assert score(DUTY_GOOD).get("numbering_style").passed is True


def test_closing_and_salutation_formulas() -> None:
    good = (
        "尊敬的各位领导，同志们：\n根据会议安排，现将有关工作情况汇报如下：\n"
        "对标政治强统领。局党组坚持把政治建设摆在首位。\n汇报完毕，不当之处，请各位领导批评指正，谢谢。"
    )
    assert score(good, "work-report").get("formulas").passed is True
    no_closing = good.replace("汇报完毕，不当之处，请各位领导批评指正，谢谢。", "谢谢大家。")
    result = score(no_closing, "work-report").get("formulas")
    assert result.passed is False and "结束语" in result.reason
    no_salutation = good.replace("尊敬的各位领导，同志们：\n", "")
    result = score(no_salutation, "work-report").get("formulas")
    assert result.passed is False and "称谓" in result.reason


def test_length_band_from_request_or_schema() -> None:
    request = DraftRequest(doc_type="duty-report", topic="抓基层党建工作", length=len(DUTY_GOOD))
    assert score(DUTY_GOOD, request=request).get("length").passed is True
    too_long = DraftRequest(doc_type="duty-report", topic="抓基层党建工作", length=len(DUTY_GOOD) // 3)
    result = score(DUTY_GOOD, request=too_long).get("length")
    assert result.passed is False and "偏长" in result.reason
    result = score(DUTY_GOOD).get("length")  # no length asked: the schema's band (1500–6000)
    assert result.passed is False and "偏短" in result.reason and result.details["min"] == 1500


@pytest.mark.parametrize(
    ("insert", "kind"),
    [
        ("全年开展活动XX次。", "占位符"),
        ("由**同志牵头。", "星号"),
        ("由某某同志牵头。", "某某"),
        ("扎实推进{{ topic }}。", "模板语法"),
        ("【此处填写数据】", "未填的空位"),
    ],
)
def test_leftovers_fail(insert: str, kind: str) -> None:
    text = DUTY_GOOD.replace("二是党员干部跟进学。", "二是党员干部跟进学。" + insert)
    result = score(text).get("leftovers")
    assert result.passed is False and kind in result.reason


def test_markdown_markers_are_leftovers_only_in_plain_text() -> None:
    text = DUTY_GOOD.replace("一、履职情况", "## 一、履职情况")
    assert score(text, markdown=True).get("leftovers").passed is True
    result = score(text, markdown=False).get("leftovers")
    assert result.passed is False and "Markdown" in result.reason


def test_pending_placeholders_are_counted_not_failed() -> None:
    text = DUTY_GOOD.replace("全年组织集中学习18次", "全年组织集中学习【待补：学习次数】次")
    result = score(text).get("leftovers")
    assert result.passed is True
    assert result.details["placeholders"] == ["【待补：学习次数】"]
    assert "1 处【待补" in result.reason


# -------------------------------------------------------------------------------------------- coverage
def test_invented_percentage_fails_numbers() -> None:
    text = DUTY_GOOD.replace("党员队伍凝聚力不断增强。", "党员队伍凝聚力不断增强，群众满意率达到95%。")
    result = score(text, request=DUTY_REQUEST).get("numbers")
    assert result.passed is False
    assert "95%" in result.reason
    assert [u["text"] for u in result.details["unsupported"]] == ["95%"]
    supported = DraftRequest(**{**DUTY_REQUEST.to_dict(), "materials": ["群众满意率95%，集中学习18次。"]})
    assert score(text, request=supported).get("numbers").passed is True


def test_numbers_match_across_chinese_and_arabic_and_ignore_markers_and_fixed_terms() -> None:
    text = DUTY_GOOD.replace("全年组织集中学习18次", "全年组织集中学习十八次[1]")
    result = score(text, request=DUTY_REQUEST).get("numbers")
    # 十八次 is backed by "18次"; 一是/（一）/一、, "三会一课", "四个意识", "一岗双责" and [1] are not figures
    assert result.passed is True, result.details
    invented = text.replace("推进支部标准化规范化建设", "开展三场专题培训，推进支部标准化规范化建设")
    result = score(invented, request=DUTY_REQUEST).get("numbers")
    assert result.passed is False and "三场" in result.reason


def test_year_not_in_request_is_unsupported() -> None:
    text = DUTY_GOOD.replace("党员队伍凝聚力不断增强。", "党员队伍凝聚力不断增强，2019年以来持续推进。")
    result = score(text, request=DUTY_REQUEST).get("numbers")
    assert result.passed is False and "2019" in result.reason


def test_key_point_recall_with_aliases() -> None:
    request = DraftRequest(**{**DUTY_REQUEST.to_dict(), "points": ["理论学习", "网格化管理"]})
    result = score(DUTY_GOOD, request=request).get("points")
    assert result.passed is False and result.value == 0.5
    assert "网格化管理" in result.reason
    result = score(DUTY_GOOD, request=request, aliases={"网格化管理": ["标准化规范化建设"]}).get("points")
    assert result.passed is True and result.value == 1.0


SOURCE_TEXT = (
    "坚持问题导向，瞄准党建任务的靶心，按照细化、量化、具体化的要求，精准制定基层党建工作任务清单，分别从党的政治建设、"
    "思想建设、组织建设、作风建设、党风廉政建设、队伍建设等方面，列出问题清单，提出任务清单，明确落实党建工作任务中完成时限"
    "和责任清单。将抓基层党建述职评议考核结果纳入领导班子和领导干部实绩考核，通过常态化督查、综合性考核的方式，构建起全方位、"
    "立体式的党建督查考核体系，使党建工作由软任务变为硬指标。健全党组织议事决策制度，坚持定期召开民主生活会，对党风廉政建设、"
    "优化营商环境、乡村振兴工作等重大事宜进行专题研究，集中讨论决定，进一步营造上下大抓党建、争先进位的良好氛围，推动各项工作落地见效。"
)


def test_pasted_long_span_fails_copying() -> None:
    pasted = SOURCE_TEXT[:300]
    text = DUTY_GOOD.replace("党员队伍凝聚力不断增强。", "党员队伍凝聚力不断增强。" + pasted)
    result = score(text, passages=[SOURCE_TEXT]).get("copying")
    assert result.passed is False
    assert result.details["longest_span"] >= 300
    assert "照抄过长" in result.reason
    short = DUTY_GOOD.replace("党员队伍凝聚力不断增强。", "党员队伍凝聚力不断增强。" + SOURCE_TEXT[:60])
    result = score(short, passages=[SOURCE_TEXT]).get("copying")
    assert result.passed is True and 50 <= result.details["longest_span"] < 200


def test_longest_common_span_is_exact() -> None:
    assert (
        metrics.longest_common_span("甲乙丙丁戊己庚辛壬癸子丑", "乙丙丁戊己庚辛壬癸", floor=4)
        == "乙丙丁戊己庚辛壬癸"
    )
    assert metrics.longest_common_span("甲乙丙丁", "戊己庚辛", floor=2) == ""


def test_grounding_counts_sentences_found_in_passages() -> None:
    grounded = "根据安排，现将本人履职情况报告如下：\n" + SOURCE_TEXT
    result = score(grounded, passages=[SOURCE_TEXT]).get("grounding")
    assert result.value == 0.75  # the three pasted sentences; the opening formula is the writer's own
    assert result.details["ungrounded"] == ["根据安排，现将本人履职情况报告如下："]
    result = score(DUTY_GOOD, passages=[SOURCE_TEXT]).get("grounding")
    assert result.value < 0.3 and result.passed is False
    assert score(DUTY_GOOD).get("grounding").passed is None  # no passages: not applicable


def _draft(paragraph: str, source_text: str) -> Draft:
    return Draft(
        doc_type="duty-report",
        title="述职报告",
        sections=[
            DraftSection(
                key="performance",
                role="achievements",
                heading="一、履职情况",
                text=paragraph,
                paragraphs=[DraftParagraph(text=paragraph, sources=[1])],
            )
        ],
        text=paragraph,
        sources=[
            Source(
                number=1,
                chunk_id="c1",
                doc_id="d1",
                title="范文",
                heading_path="",
                role="achievements",
                text=source_text,
            )
        ],
    )


def test_citation_precision_checks_the_marked_source() -> None:
    paragraph = SOURCE_TEXT[:120]
    assert (
        metrics.score_draft(_draft(paragraph, SOURCE_TEXT), "duty-report", prompts_dir=PROMPTS)
        .get("citations")
        .passed
    )
    unrelated = (
        "今年以来全市共排查整治安全隐患，约谈企业负责人，督促落实企业安全生产主体责任，确保全年安全形势平稳。"
    )
    result = metrics.score_draft(_draft(paragraph, unrelated), "duty-report", prompts_dir=PROMPTS).get(
        "citations"
    )
    assert result.passed is False and result.value == 0.0
    assert result.details["unsupported"][0]["source"] == 1


def test_repetition_flags_duplicate_sentences() -> None:
    assert score(DUTY_GOOD).get("repetition").passed is True
    text = DUTY_GOOD.replace(
        "二是党员干部跟进学。",
        "二是党员干部跟进学。支部坚持“三会一课”制度，全年组织集中学习18次，树牢“四个意识”。",
    )
    result = score(text).get("repetition")
    assert result.passed is False and "重复句 1 个" in result.reason


def test_scorecard_passed_only_counts_gates() -> None:
    card = score(DUTY_GOOD, request=DUTY_REQUEST)
    gates = {r.name for r in card.results if r.gate}
    assert {"sections", "numbering", "numbers", "leftovers"} <= gates
    assert "points" not in gates
    assert card.passed is False  # too short for the type's length band
    assert [r.name for r in card.failures()] == ["length"]


def test_cn_to_number() -> None:
    assert metrics.cn_to_number("二十四") == 24
    assert metrics.cn_to_number("三百五十") == 350
    assert metrics.cn_to_number("六万") == 60000
    assert metrics.cn_to_number("二〇二三") == 2023
    assert metrics.cn_to_number("一万二千") == 12000
