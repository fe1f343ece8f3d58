"""The structure parser on the five seeds (type from text, level-1 headings, roles, formulas) and on
drafts with Markdown markers, bold headings and source marks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.index import loaders, structure
from assistant.records import ROLES
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"
DRAFT = Path(__file__).parent / "data" / "draft.md"

# file -> (type, [(kind, level-1 heading as written, role)], opening formula, closing formula start)
SEED_SHAPES = {
    "000_6bfbaef6554af9b3.txt": (
        "work-report",
        [
            ("topic", "对标政治强统领", "achievements"),
            ("topic", "找准切口强载体", "achievements"),
            ("topic", "搭建桥梁强传导", "achievements"),
            ("topic", "夯实底部强基础", "achievements"),
            ("topic", "双轮驱动强提升", "achievements"),
        ],
        "根据会议安排，现将有关工作进展情况汇报如下：",
        "汇报完毕，不当之处，请各位领导批评指正，谢谢。",
    ),
    "001_6e9dedf2a6c80475.txt": (
        "speech",
        [
            ("item", "一是党建工作责任体系比较健全", "achievements"),
            ("item", "二是“五强创示范”推进比较有力", "achievements"),
            ("item", "三是抓党建促人社事业发展成效明显", "achievements"),
            ("body", "", "problems"),
            ("body", "", "causes"),
            ("body", "", "requirements"),
            ("heading", "一、要坚持政治导向，进一步强化思想引领", "requirements"),
            ("heading", "二、要坚持问题导向，进一步破解工作难点", "requirements"),
            ("heading", "三、要坚持从严导向，进一步推动责任落实", "requirements"),
            (
                "heading",
                "四、坚定不移推进人社系统党风廉政建设 大力营造风清气正的良好政治生态",
                "requirements",
            ),
        ],
        "刚才，局系统X个党支部对参评“红旗党支部”进行了逐一展示，局属X个单位“一把手”就抓党建工作进行了专项述职。",
        "同志们，抓基层、打基础",
    ),
    "002_fbcf8ade7eff2f0f.txt": (
        "duty-report",
        [
            ("heading", "一、履职情况", "achievements"),
            ("heading", "二、存在的问题", "problems"),
            ("heading", "三、下一步工作打算", "measures"),
        ],
        "根据机关党工委支部书记抓基层党建工作述职安排，现将本人2023年履行党支部书记工作情况报告如下：",
        "",
    ),
    "003_93c6ebaee80d2d0d.txt": (
        "work-report",
        [
            ("topic", "坚持不懈推进政治机关建设", "achievements"),
            ("topic", "着力强化党的创新理论武装", "achievements"),
            ("topic", "持之以恒打基础、固根本", "achievements"),
            ("topic", "积极主动围绕中心、服务大局", "achievements"),
            ("topic", "深化“我为群众办实事”实践活动", "achievements"),
        ],
        "根据会议安排，现将有关工作进展情况汇报如下：",
        "汇报完毕，不妥之处，请各位领导批评指正，谢谢。",
    ),
    "004_98979e0a19b40566.txt": (
        "research-report",
        [
            ("heading", "一、党组织基本情况", "background"),
            ("heading", "二、党组织建设中存在的问题", "problems"),
            ("heading", "三、对策建议", "measures"),
        ],
        "现将调研情况报告如下:",
        "总之,加强和改进局党组织建设是一项长期而艰巨的任务",
    ),
}


def load(name: str, keep_type: bool = False):
    document = loaders.load_document(CORPUS / name)
    return document if keep_type else replace(document, doc_type=None)


@pytest.mark.parametrize("name", sorted(SEED_SHAPES))
def test_seed_type_detected_from_text(name: str) -> None:
    doc_type, confidence = structure.detect_type(load(name).text)
    assert doc_type == SEED_SHAPES[name][0]
    assert 0.5 < confidence <= 1.0


@pytest.mark.parametrize("name", sorted(SEED_SHAPES))
def test_seed_structure(name: str) -> None:
    doc_type, level1, opening, closing = SEED_SHAPES[name]
    parsed = structure.parse(load(name))
    assert parsed.doc_type == doc_type
    assert parsed.type_confidence < 1.0
    top = [(s.kind, s.heading, s.role) for s in parsed.sections if s.level == 1]
    assert top == level1
    assert parsed.opening == opening
    assert parsed.closing.startswith(closing) if closing else parsed.closing == ""
    kinds = [s.kind for s in parsed.sections]
    assert kinds[-1] == ("closing" if closing else "heading")
    assert "opening" in kinds


@pytest.mark.parametrize("name", sorted(SEED_SHAPES))
def test_seed_tree_is_consistent(name: str) -> None:
    parsed = structure.parse(load(name, keep_type=True))
    text = parsed.document.text
    assert parsed.type_confidence == 1.0
    previous_end = -1
    for top in parsed.sections:
        assert top.start >= previous_end  # top-level sections do not overlap (ends are exclusive)
        previous_end = top.end
    for section in parsed.walk():
        assert section.role in ROLES
        assert 0 <= section.start < section.end <= len(text)
        assert text[section.start] not in " \n\u3000" and text[section.end - 1] not in " \n\u3000"
        if section.heading:
            assert text[section.start : section.end].startswith(section.number)
        for child in section.children:
            assert section.start <= child.start and child.end <= section.end
            assert child.level > section.level


def test_salutations() -> None:
    assert structure.parse(load("000_6bfbaef6554af9b3.txt")).salutation == "尊敬的**书记，各位领导，同志们："
    assert structure.parse(load("001_6e9dedf2a6c80475.txt")).salutation == "同志们："
    assert structure.parse(load("002_fbcf8ade7eff2f0f.txt")).salutation == ""


def test_children_and_items() -> None:
    parsed = structure.parse(load("002_fbcf8ade7eff2f0f.txt"))
    performance, problems, plans = (s for s in parsed.sections if s.level == 1)
    assert [c.number for c in performance.children] == ["（一）", "（二）", "（三）", "（四）"]
    run_in = performance.children[0]
    assert run_in.heading == "（一）强化政治担当，从严从实履行主体责任"
    assert run_in.title == "强化政治担当，从严从实履行主体责任"
    assert run_in.body.startswith("始终坚持政治方向不动摇")
    # run-in 一是/二是/三是 inside the paragraph become items one level down
    assert [(c.kind, c.level, c.number) for c in run_in.children] == [
        ("item", 3, "一是"),
        ("item", 3, "二是"),
        ("item", 3, "三是"),
    ]
    assert [c.heading for c in problems.children] == [
        "一是认识有待增强",
        "二是机制有待完善",
        "三是工作有待创新",
    ]
    assert all(c.role == "problems" for c in problems.children)
    assert all(c.role == "measures" for c in plans.walk())


def test_speech_items_split_within_paragraph() -> None:
    parsed = structure.parse(load("001_6e9dedf2a6c80475.txt"))
    problems = next(s for s in parsed.sections if s.role == "problems")
    assert [c.number for c in problems.children] == ["一是", "二是", "三是", "四是", "五是"]
    text = parsed.document.text
    assert text[problems.children[0].start : problems.children[0].end].startswith("一是管党治党责任压力传导")


def test_half_width_numbers_kept_as_written() -> None:
    parsed = structure.parse(load("004_98979e0a19b40566.txt"))
    problems = [s for s in parsed.sections if s.level == 1][1]
    assert [(c.number, c.heading) for c in problems.children] == [
        ("(一)", "(一)党组织班子作用发挥不够"),
        ("(二)", "(二)政治理论学习抓得不紧,“三会一课”落实不够"),
    ]
    assert "(一)党组织班子作用发挥不够" in parsed.document.text  # stored text keeps its own punctuation


def test_draft_with_markdown_marks() -> None:
    text = DRAFT.read_text(encoding="utf-8")
    parsed = structure.parse_text(text)
    assert parsed.doc_type == "research-report"
    assert parsed.document.title == "关于加强机关党建工作的调研报告"
    assert parsed.opening == "现将调研情况报告如下："
    assert parsed.closing == "总之，要以更高标准推进机关党建工作。"
    top = [s for s in parsed.sections if s.level == 1]
    assert [(s.heading, s.number, s.role) for s in top] == [
        ("一、基本情况", "一、", "background"),
        ("二、存在的问题", "二、", "problems"),
        ("三、对策建议", "三、", "measures"),
    ]
    first, second = top[1].children
    assert (first.number, first.heading, first.level) == ("（一）、", "（一）、组织生活不够规范", 2)
    assert (second.number, second.heading) == ("(二)", "(二)学习教育针对性不强")
    cause = second.children[-1]
    assert (cause.number, cause.level, cause.role) == ("1、", 3, "causes")  # 原因分析 names its own role
    assert [c.number for c in second.children[:2]] == ["一是", "二是"]
    assert [c.number for c in top[2].children] == ["一是", "二是"]
    for section in parsed.walk():  # spans point into the draft as given, markers included
        assert text[section.start : section.end].strip() == text[section.start : section.end]
    assert text[top[0].start : top[0].end].startswith("## 一、基本情况[1]")


def test_markdown_headings_without_numbers() -> None:
    text = "# 标题\n\n## 基本情况\n正文。\n\n## 存在的问题\n### 组织生活不规范\n正文。\n"
    parsed = structure.parse_text(text, "research-report")
    top = [s for s in parsed.sections if s.level == 1]
    assert [(s.heading, s.role) for s in top] == [("基本情况", "background"), ("存在的问题", "problems")]
    assert [(c.heading, c.level, c.role) for c in top[1].children] == [("组织生活不规范", 2, "problems")]


def test_metadata_type_wins_and_is_checked() -> None:
    document = load("000_6bfbaef6554af9b3.txt")
    parsed = structure.parse(replace(document, doc_type="speech"))
    assert (parsed.doc_type, parsed.type_confidence) == ("speech", 1.0)
    with pytest.raises(InputError, match="文种“report”无效"):
        structure.parse(replace(document, doc_type="report"))
    with pytest.raises(InputError):
        structure.parse_text("一、基本情况", "nonsense")


def test_detect_type_without_cues() -> None:
    doc_type, confidence = structure.detect_type("今天天气很好。")
    assert confidence == 0.0
    assert doc_type in {"speech", "duty-report", "research-report", "work-report"}


def test_speech_requirements_after_opinions() -> None:
    text = (
        "同志们：\n刚才，大家作了发言。\n过去一年，我们取得了明显成效。\n但也要看到存在的不足。\n"
        "下面，我讲三点意见。\n一、提高政治站位\n（一）把握问题导向。正文。\n二、要狠抓落实\n正文。\n"
        "同志们，让我们携手奋进！"
    )
    parsed = structure.parse_text(text)
    assert parsed.doc_type == "speech"
    assert [(s.kind, s.role) for s in parsed.sections] == [
        ("salutation", "opening"),
        ("opening", "opening"),
        ("body", "achievements"),
        ("body", "problems"),
        ("body", "requirements"),
        ("heading", "requirements"),
        ("heading", "requirements"),
        ("closing", "closing"),
    ]
    # a sub-heading of a requirement stays a requirement even when it mentions 问题
    assert parsed.sections[5].children[0].role == "requirements"


def test_work_report_next_steps_topic() -> None:
    text = (
        "尊敬的各位领导：\n根据会议安排，现将有关情况汇报如下：\n强化政治引领。我们坚持学习。\n"
        "下一步工作打算。我们将继续努力，持续推进。\n汇报完毕，请批评指正。"
    )
    parsed = structure.parse_text(text)
    assert parsed.doc_type == "work-report"
    assert [(s.heading, s.role) for s in parsed.sections if s.level == 1] == [
        ("强化政治引领", "achievements"),
        ("下一步工作打算", "measures"),
    ]


def test_a_lead_between_topic_paragraphs_opens_the_next_part_and_its_topics_take_its_role() -> None:
    """A 汇报's parts have no headings: 在看到成效的同时……不足： and 下一步，我们将……： open them, and the
    topic paragraphs after a 下一步 lead are plans, though their topic sentences name no role."""
    text = (
        "尊敬的各位领导：\n根据会议安排，现将有关情况汇报如下：\n稳定粮食生产。全县粮食总产量稳定。\n"
        "高标准农田建设。新建高标准农田一批。\n在看到成效的同时，也要清醒看到工作中存在的不足：\n"
        "管护主体不明确。部分灌溉设施老化。\n下一步，我们将重点抓好以下几个方面的工作：\n"
        "加快高标准农田建设。新建高标准农田一批。\n汇报完毕，请批评指正。"
    )
    parsed = structure.parse_text(text, "work-report")
    assert [(s.heading, s.role) for s in parsed.sections if s.level == 1] == [
        ("稳定粮食生产", "achievements"),
        ("高标准农田建设", "achievements"),
        ("", "problems"),
        ("管护主体不明确", "problems"),
        ("", "measures"),
        ("加快高标准农田建设", "measures"),
    ]


def test_an_unnamed_paragraph_before_the_first_heading_is_the_structures_first_unheaded_part() -> None:
    """An 开学典礼 speech (skeleton 致意 + 几点希望): the paragraph after the opening names no part (今年学校迎来
    高一新生826名…), yet it is the 致意, not an unreadable "other"."""
    from assistant.doctypes import get_doctype

    ceremony = get_doctype("speech", PROJECT_ROOT / "prompts").with_skeleton("ceremony")
    text = (
        "在县第一中学秋季开学典礼上的讲话\n亲爱的老师们、同学们：\n今天，我们在这里隆重举行秋季开学典礼。\n"
        "今年学校迎来高一新生826名，新入职教师23名。\n在此，我提两点希望：\n一、希望同学们勤奋学习\n正文。\n"
        "二、希望老师们潜心育人\n正文。\n最后，祝大家新学期顺利！谢谢大家！"
    )
    parsed = structure.parse_text(text, "speech", types={"speech": ceremony})
    roles = [(s.kind, s.role) for s in parsed.sections]
    assert ("body", "opening") in roles and ("body", "other") not in roles, roles


def test_heading_path_helper() -> None:
    parsed = structure.parse(load("004_98979e0a19b40566.txt"))
    leaf = [s for s in parsed.sections if s.level == 1][2].children[0].children[0]
    assert [s.heading for s in structure.heading_path(parsed, leaf)] == [
        "三、对策建议",
        "(一)强化领导班子建设,提高党建工作水平",
        "一是明确职责分工,确保党建工作有人抓、有人管",
    ]


def test_a_type_added_in_a_prompts_copy_is_parsed_and_detected(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "prompts"
    shutil.copytree(PROJECT_ROOT / "prompts", root)
    folder = root / "types" / "notice"
    folder.mkdir()
    (folder / "schema.yaml").write_text(
        'name: notice\nlabel: 工作通知\ntitle: "关于做好{{ topic }}的通知"\n'
        'opening: {pattern: "现将"}\nclosing: {required: false, pattern: "特此通知"}\n'
        "sections:\n  - {key: tasks, role: measures, heading: 主要任务, form: heading}\n"
        "  - {key: duties, role: requirements, heading: 工作要求, form: heading}\n"
        "length: {min: 500, max: 3000}\ndetect: {特此通知: 6, 通知如下: 4}\n",
        encoding="utf-8",
    )
    text = "关于做好机关党建的通知\n现将有关事项通知如下：\n一、主要任务\n规范组织生活。\n二、工作要求\n加强领导。\n特此通知。"
    with pytest.raises(InputError, match="notice"):
        structure.parse_text(text, "notice")  # the default prompts folder does not know it
    parsed = structure.parse_text(text, "notice", prompts_dir=root)
    assert [(s.title, s.role) for s in parsed.sections if s.kind == "heading"] == [
        ("主要任务", "measures"),
        ("工作要求", "requirements"),
    ]
    assert structure.detect_type(text, prompts_dir=root)[0] == "notice"
    assert structure.parse_text(text, prompts_dir=root).doc_type == "notice"


def test_a_paragraphs_lead_up_to_its_colon_names_its_part() -> None:
    """The words of the items after a lead's colon (…影响了整体成效) do not decide the part the lead names."""
    text = (
        "在全市安全生产工作会议上的讲话\n同志们：\n今天，我们召开全市安全生产工作会议。\n"
        "一年来，我们取得了明显成效，主要有以下几个方面：一是隐患排查扎实推进。二是事故起数下降。\n"
        "在看到成效的同时，也要清醒看到存在的不足：一是责任落实不到位，影响了整体成效。二是隐患整改不及时。\n"
        "一、要压实安全生产责任\n要明确分工。\n同志们，让我们共同努力！\n"
    )
    roles = [s.role for s in structure.parse_text(text, "speech").sections]
    assert roles[2:4] == ["achievements", "problems"], roles
