"""The offline composer: every sentence is about its point for this unit, or the writer's own fact, or a
marked gap that says what to write — on the real seed index, for topics the seeds cover and topics they
do not."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant.content.lexicon import unit_kind
from assistant.draft.guard import Guard
from assistant.draft.pipeline import write_draft
from assistant.index.corpus_view import open_view
from assistant.records import SPAN_KINDS, DraftRequest
from assistant.settings import PROJECT_ROOT, Settings, load_settings

PROMPTS = PROJECT_ROOT / "prompts"


@pytest.fixture
def hs(_hash_index: Path, tmp_path: Path) -> Settings:
    """A private copy of the seed index built with the hashing embedder."""
    dest = tmp_path / "index"
    shutil.copytree(_hash_index, dest)
    return load_settings(index_dir=dest, embedder="hashing")


SAFETY = DraftRequest(
    "speech",
    "安全生产工作",
    unit="青山镇党委",
    speaker="青山镇党委书记",
    occasion="全镇安全生产工作会议",
    points=["压实安全生产责任", "隐患排查整治", "党建引领安全生产"],
    materials=["今年以来全镇共排查整治安全隐患126处，约谈企业负责人14人。", "全镇有规模以上企业38家。"],
)
ELDERLY = DraftRequest(
    "research-report",
    "居家养老服务",
    unit="县民政局",
    points=["助餐服务", "专业护理人才"],
    materials=[
        "全县60岁以上老年人口12.3万人，占总人口的21.5%。",
        "问卷调查显示，63.5%的受访老人认为上门服务项目偏少。",
        "农村地区养老护理员仅有213人，专业护理人员严重短缺。",
        "由于运营补贴标准偏低，部分站点运营困难。",
    ],
)


def spans(draft):
    return [s for section in draft.sections for p in section.paragraphs for s in p.spans]


def section_text(draft, key: str) -> str:
    return next(s.text for s in draft.sections if s.key == key)


def test_every_paragraph_is_its_spans_and_every_span_says_where_it_came_from(hs: Settings) -> None:
    draft = write_draft(SAFETY, hs)
    for section in draft.sections:
        for paragraph in section.paragraphs:
            assert paragraph.text == "".join(s.text for s in paragraph.spans)
    assert {s.kind for s in spans(draft)} <= set(SPAN_KINDS)
    for span in spans(draft):
        if span.kind in ("corpus", "public"):
            assert span.sources, span.text
        if span.kind == "fact":
            assert span.fact is not None


def test_out_of_sector_speech_has_no_other_units_content_and_uses_the_writers_facts(hs: Settings) -> None:
    draft = write_draft(SAFETY, hs)
    lexicon = open_view(hs).lexicon
    allowed = "\n".join([SAFETY.topic, SAFETY.unit, SAFETY.occasion, *SAFETY.points, *SAFETY.materials])
    for span in spans(draft):
        if span.kind in ("corpus", "public"):
            assert not lexicon.foreign_terms(span.text, allowed, unit_kind(SAFETY.unit)), span.text
    for banned in ("局班子", "股室", "参保", "五强创示范", "红旗党支部", "六室一堂", "局中心工作"):
        assert banned not in draft.text
    # the writer's two facts are there, each once, and the 14 is only in its own sentence
    assert draft.text.count("排查整治安全隐患126处") == 1 and "规模以上企业38家" in draft.text
    with_14 = [x for x in re.split(r"(?<=[。：])|\n", draft.text) if "14" in x]
    assert [re.sub(r"^[一二三四五六七八九十]+是", "", x) for x in with_14] == [
        "今年以来全镇共排查整治安全隐患126处，约谈企业负责人14人。"
    ]
    assert all(f.section for f in draft.facts)


def test_policy_language_is_on_the_point_said_once_and_leaves_the_local_tasks_to_the_writer(
    hs: Settings,
) -> None:
    """A 安全生产 point the writer's corpus says nothing about takes the 政府工作报告's directives on it: a
    directive on 安全生产责任 counts for 压实安全生产责任 though 压实 is not in it; a report's own result
    (事故总量……持续下降) is never one; a clause said once is not said again; and policy language alone
    leaves the gap that asks for the local tasks."""
    draft = write_draft(SAFETY, hs)
    text = section_text(draft, "requirements")
    first = text.split("一、压实安全生产责任", 1)[1].split("二、", 1)[0]
    public = [s.text for s in spans(draft) if s.kind == "public"]
    assert any("安全生产责任" in x for x in public) and any("安全生产责任" in x for x in public if x in first)
    assert "【待补：围绕“压实安全生产责任”写明" in first
    for sentence in public:
        assert not re.search(r"(?:下降|增长|减少)[。；]$", sentence), sentence
    clauses = [c for x in public for c in re.split(r"[，；。]", x) if len(c) >= 6]
    assert len(clauses) == len(set(clauses)), clauses


def test_the_guard_refuses_a_reports_own_results_as_policy_language(hs: Settings) -> None:
    from assistant.draft.guard import Guard

    guard = Guard(SAFETY, hs.prompts_dir)
    assert "成效表述" in guard.reason("加强安全生产监管，事故总量和重特大事故数量继续下降。", public=True)
    for directive in ("严格落实安全生产责任，坚决遏制重特大事故。", "推动城乡居民收入持续增长。"):
        assert guard.ok(directive, public=True), directive


def test_a_point_the_corpus_says_nothing_about_gets_a_gap_that_says_what_to_write(hs: Settings) -> None:
    draft = write_draft(SAFETY, hs)
    text = section_text(draft, "requirements")
    assert "二、隐患排查整治" in text
    body = text.split("二、隐患排查整治", 1)[1].split("三、", 1)[0]
    assert "【待补：围绕“隐患排查整治”写明" in body or "隐患" in body.replace("【待补", "")


def test_survey_findings_go_to_their_sections(hs: Settings) -> None:
    draft = write_draft(ELDERLY, hs)
    placed = {f.text[:8]: f.section for f in draft.facts}
    assert placed["全县60岁以上老"] == "basic"
    assert placed["问卷调查显示，6"] == "problems"
    assert placed["农村地区养老护理"] == "problems"
    assert placed["由于运营补贴标准"] == "causes"
    assert "63.5%的受访老人认为上门服务项目偏少" in section_text(draft, "problems")
    assert "63.5%" not in section_text(draft, "basic")


def test_problem_and_next_step_points_are_routed_out_of_achievements(hs: Settings) -> None:
    request = DraftRequest(
        "duty-report",
        "2024年度抓基层党建工作",
        unit="某村党支部",
        speaker="某村党支部书记 张××",
        points=["组织建设", "（五）存在的问题：党员老龄化严重", "下一步：发展年轻党员"],
        materials=["全年召开支委会12次。"],
    )
    draft = write_draft(request, hs)
    performance = section_text(draft, "performance")
    assert "党员老龄化严重" not in performance and "发展年轻党员" not in performance
    assert "党员老龄化严重" in section_text(draft, "problems")
    assert "发展年轻党员" in section_text(draft, "plans")
    assert "（五）" not in draft.text and "问题：" not in draft.text
    assert draft.subtitle == "某村党支部书记 张××"


def test_the_writers_unit_name_is_never_rewritten(hs: Settings) -> None:
    request = DraftRequest(
        "duty-report", "2024年度抓基层党建工作", unit="市财政局机关党支部", points=["三会一课落实"]
    )
    draft = write_draft(request, hs)
    assert "市财政机关党支部" not in draft.text
    assert "我们党委" not in draft.text and "我们、我们" not in draft.text


def test_a_seed_topic_still_draws_on_the_corpus(hs: Settings) -> None:
    request = DraftRequest(
        "research-report",
        "发挥基层党支部战斗堡垒作用",
        unit="市人力资源和社会保障局",
        points=["三会一课落实", "党员教育管理"],
    )
    draft = write_draft(request, hs)
    corpus = [s for s in spans(draft) if s.kind == "corpus"]
    assert len(corpus) >= 3
    assert not any(re.search(r"[Xx*＊]|某某", s.text) for s in corpus)


@pytest.mark.parametrize(
    ("occasion", "fits", "misfit"),
    [
        ("全县防汛工作部署会议", "部署", "刚才，几位同志作了很好的发言"),
        ("2024年全县卫生健康系统干部培训班开班式", "开班", "刚才"),
        ("七年级家长会", "尊敬的各位家长", "分析存在的问题"),
    ],
)
def test_formulas_fit_the_occasion(hs: Settings, occasion: str, fits: str, misfit: str) -> None:
    request = DraftRequest(
        "speech", "防汛" if "防汛" in occasion else "教育", unit="县人民政府", occasion=occasion
    )
    draft = write_draft(request, hs)
    head = "\n".join(draft.text.splitlines()[:5])
    assert fits in head and misfit not in head
    assert "工作工作" not in draft.text and "的讲话工作" not in draft.text


def test_a_title_typed_as_the_topic_is_read_as_its_topic(hs: Settings) -> None:
    request = DraftRequest("speech", "在全县防汛工作部署会议上的讲话", unit="县人民政府")
    draft = write_draft(request, hs)
    assert draft.title == "在全县防汛工作部署会议上的讲话"
    assert "讲话工作" not in draft.text and "会议上的讲话会议" not in draft.text


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        ("去年3月15日，局党组召开专题会议。", "其他时间"),
        ("×校长作为全省唯一代表作交流发言。", "脱敏"),
        ("张××同志带头讲党课。", "脱敏"),
        ("工委组成14个指导组开展督导。", "数字"),
        ("抽调党员干部12人分赴各乡镇宣讲政策。", "数字"),  # the writer's 12 is about 活动, not 干部
        ("中共××市第一中学委员会召开会议。", "脱敏"),
        ("与派出所、市教育局党委等部门联动。", "其他单位"),
        ("下面，请王书记讲话。", "会议程序"),
        ("坚持以习近平中国特色社会主义思想为指导。", "提法"),
        ("部分党员重业务轻的思想还不同程度地存在。", "错字"),
        ("主要有以下几个方面：", "列举"),
        ("对照《市直机关党支部标准化规范化建设清单》逐项整改。", "文件"),
    ],
)
def test_the_guard_refuses_what_is_not_the_writers_and_says_why(sentence: str, why: str) -> None:
    guard = Guard(
        DraftRequest("speech", "教育工作", unit="某中学", materials=["今年开展活动12次。"]), PROMPTS
    )
    reason = guard.reason(sentence)
    assert reason is not None and why in reason, reason


@pytest.mark.parametrize(
    "sentence",
    [
        "要坚持人民至上、生命至上，压紧压实各方责任。",
        "严格落实“三会一课”制度，认真开展主题党日活动。",
        "今年开展活动12次。",
        "在思想上政治上行动上同以习近平同志为核心的党中央保持高度一致。",
    ],
)
def test_the_guard_lets_the_writers_own_and_generic_language_through(sentence: str) -> None:
    guard = Guard(
        DraftRequest("speech", "教育工作", unit="某中学", materials=["今年开展活动12次。"]), PROMPTS
    )
    assert guard.reason(sentence) is None


def test_a_deployment_speech_gives_a_problem_point_its_own_part(hs: Settings) -> None:
    request = DraftRequest(
        "speech",
        "防汛工作",
        unit="某县人民政府",
        occasion="全县防汛工作部署会议",
        points=["压实防汛责任", "抢险救援准备", "存在的问题：病险水库除险加固滞后"],
        materials=["部分乡镇抢险队员年龄偏大、缺乏专业训练。", "全县组建乡镇防汛抢险队伍14支。"],
    )
    draft = write_draft(request, hs)
    keys = [s.key for s in draft.sections]
    assert draft.outline.skeleton == "deployment" and keys.index("problems") < keys.index("requirements")
    problems, requirements = section_text(draft, "problems"), section_text(draft, "requirements")
    assert "病险水库除险加固滞后" in problems and "缺乏专业训练" in problems
    assert "病险水库" not in requirements and "三、" not in requirements  # two 意见, not three


def test_an_experience_report_gives_a_shortcoming_its_own_part(hs: Settings) -> None:
    request = DraftRequest(
        "research-report",
        "乡村旅游助推乡村振兴的做法与启示",
        unit="市文化和旅游局",
        points=["农文旅融合业态", "经验启示"],
        materials=["全县发展精品民宿126家。", "旅游旺季停车位、公厕等配套设施不足。"],
    )
    draft = write_draft(request, hs)
    assert draft.outline.skeleton == "experience-led"
    assert "停车位、公厕等配套设施不足" in section_text(draft, "problems")
    assert not [f for f in draft.facts if not f.section]


def test_a_ceremony_keeps_the_writers_figures_under_their_own_points(hs: Settings) -> None:
    request = DraftRequest(
        "speech",
        "秋季开学典礼",
        unit="某县第一中学",
        occasion="某县第一中学秋季开学典礼",
        points=["回顾学校发展成绩", "对同学们的希望"],
        materials=["2024年高考我校本科上线612人。", "上学年学生在省级以上竞赛中获奖47人次。"],
    )
    draft = write_draft(request, hs)
    assert draft.outline.skeleton == "ceremony"
    assert "取得的成效" not in draft.text and "存在的不足" not in draft.text
    hopes = section_text(draft, "hopes")
    review, wishes = hopes.split("对同学们的希望", 1)
    assert "回顾学校发展成绩" in review and "本科上线612人" in review
    # a figure the words do not tie to the review point is kept aside for the writer, never put under a
    # point whose claim it is not (对同学们的希望)
    assert not re.search(r"\d", wishes)
    aside = [f.text for f in draft.facts if not f.section]
    assert "获奖47人次" in review or any("获奖47人次" in t for t in aside)


def test_a_training_speech_says_what_its_purpose_part_still_needs(hs: Settings) -> None:
    request = DraftRequest(
        "speech",
        "基层党组织建设",
        unit="某街道党工委",
        occasion="社区党组织书记培训班开班式",
        points=["党员教育管理", "为群众办实事"],
        materials=["街道辖12个社区，共有党员1480名。"],
    )
    draft = write_draft(request, hs)
    purpose = section_text(draft, "purpose")
    assert "街道辖12个社区" in purpose
    assert purpose.startswith("举办这次培训班")
    section = next(s for s in draft.sections if s.key == "purpose")
    kinds = {s.kind for p in section.paragraphs for s in p.spans}
    # the fact is context; the part's purpose comes from the corpus or is left to the writer, never unsaid
    assert kinds & {"corpus", "public"} or re.search(r"【待补：[^】]*目的和意义", purpose), purpose
