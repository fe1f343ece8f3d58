"""The model path over real HTTP against tests/fake_openai.py driven by tests/scripted_model.py: the client,
what every prompt carries, how replies become the draft, the formulas, the review pass, the fallback."""

from __future__ import annotations

import json
import re
import socket
from dataclasses import replace

import pytest

from assistant.draft import llm_brief
from assistant.draft.pipeline import write_draft
from assistant.errors import BackendError
from assistant.llm import LLMClient, test_connection
from assistant.records import DraftParagraph, DraftRequest, DraftSection
from assistant.settings import Settings
from tests.fake_openai import FakeOpenAI
from tests.llm_deviations import GOOD_PROBLEMS, RESEARCH, RESEARCH_OUTLINE, SPEECH, SPEECH_OUTLINE
from tests.scripted_model import ScriptedModel
from tests.seed_passages import SeedRetriever

KEY = "sk-test-secret-0042"


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def llm_settings(settings: Settings, fake: FakeOpenAI, timeout: float = 5.0) -> Settings:
    return settings.with_overrides(llm_base_url=fake.base_url, llm_model="fake-model", llm_timeout=timeout)


def draft_with(server: FakeOpenAI, settings: Settings, request: DraftRequest, **overrides):
    model = ScriptedModel(overrides={k: list(v) for k, v in overrides.pop("replies", {}).items()})
    server.responder = model
    events: list[tuple[str, dict]] = []
    s = llm_settings(settings, server).with_overrides(**overrides)
    draft = write_draft(request, s, on_event=lambda k, p: events.append((k, p)), retriever=SeedRetriever())
    return draft, model, events


# ---- the client ---------------------------------------------------------------------------------------
def test_client_streams_and_reports_failures_in_chinese(server: FakeOpenAI, settings: Settings):
    client = LLMClient(llm_settings(settings, server, timeout=1.0))
    server.replies = [
        "第一段文字，第二段文字。",
        ("status", 503),
        ("hang", 3),
        ("drop", "一二三四五六七八九十甲乙丙丁"),
        ("garbage", ""),
    ]
    pieces = list(client.stream("系统", "用户", max_tokens=321))
    assert len(pieces) > 1 and "".join(pieces) == "第一段文字，第二段文字。"
    assert server.requests[0]["stream"] is True and server.requests[0]["model"] == "fake-model"
    assert server.requests[0]["max_tokens"] == 321
    for why in ("HTTP 503", "超过 1 秒未响应", "中途断开", "无法解析"):
        with pytest.raises(BackendError, match=why):
            list(client.stream("系统", "用户"))


def test_refused_connection_is_a_backend_error(settings: Settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = LLMClient(settings.with_overrides(llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m"))
    with pytest.raises(BackendError, match="无法连接大模型服务"):
        list(client.stream("s", "u"))


def test_connection_check_names_the_model_and_never_the_key(server: FakeOpenAI, settings: Settings):
    s = llm_settings(settings, server, timeout=1.0).with_overrides(llm_api_key=KEY)
    server.replies = ["好", ("status", 401), ("hang", 3), f"好，你的密钥是{KEY}"]
    message = test_connection(s)
    assert message.startswith("连接成功") and "fake-model" in message and "好" in message
    assert len(server.requests) == 1 and len(str(server.requests[0]["messages"])) < 200  # one tiny prompt
    with pytest.raises(BackendError, match="HTTP 401") as failed:
        test_connection(s)
    assert KEY not in str(failed.value)
    with pytest.raises(BackendError, match="超过 1 秒未响应"):
        test_connection(s)
    assert KEY not in test_connection(s)  # an endpoint echoing the key does not leak it either
    with pytest.raises(BackendError, match="未配置大模型服务"):
        test_connection(settings)


# ---- what the prompts carry ---------------------------------------------------------------------------
def test_every_section_prompt_has_the_outline_the_text_so_far_and_its_own_facts(
    server: FakeOpenAI, settings: Settings
):
    draft, model, _ = draft_with(server, settings, RESEARCH, replies={"outline": [RESEARCH_OUTLINE]})
    outline_calls = model.calls("outline")
    assert len(outline_calls) == 1 and all(
        key in outline_calls[0][1] for key in ("key=problems", "key=measures")
    )
    system, user = model.calls("存在的问题")[0]
    # the whole outline, the part being written marked, problems paired with measures
    assert "二、存在的问题  ← 本次起草这一部分" in user and "四、对策建议" in user
    assert "（一）上门服务供给不足" in user and "问题“上门服务供给不足”→ 对策“完善服务网络建设" in user
    # the text already written: the opening and 基本情况 as the draft has them
    written = user.split("<<<已写", 1)[1].split("已写>>>", 1)[0]
    assert draft.sections[0].paragraphs[-1].text in written and "一、基本情况" in written
    # this part's facts fenced, another part's not offered here
    assert "<<<材料2\n问卷调查显示，43%的老人认为上门服务项目偏少。\n材料2>>>" in user
    assert "材料1\n全市共有社区养老服务站126个" not in user
    # register, 提法 and conventions in the system prompt; no request to mark borrowed references
    assert "人称：以调研组的口吻" in system and "行文方向：对上" in system
    assert "不写“习近平中国特色社会主义思想”，应写“习近平新时代中国特色社会主义思想”" in system
    assert "不写“疫情防控”" in system  # the banned (dated) phrases of the evals' data file
    assert "GB/T 15835" in system and "个百分点" in system and "“万”“亿”" in system
    assert "层次序数由系统生成" in system  # heading numbers are the pipeline's, never the model's
    assert "【文风参考】" in user and "只体会语气和句式" in user
    assert "借鉴了哪几篇" not in user and not re.search(r"\[\d\]", user)
    measures = model.calls("对策建议")[0][1]
    assert "完善服务网络建设，扩大上门服务供给（针对的问题：上门服务供给不足）" in measures
    assert "（二）专业护理人员短缺" in measures.split("<<<已写", 1)[1]  # the problems as written


def test_the_register_follows_type_skeleton_and_request(server: FakeOpenAI, settings: Settings):
    cases = [
        (
            SPEECH,  # 全市安全生产工作会议: a work meeting reviews and deploys, it is no 表彰会
            [
                "讲话人/行文人：市人民政府副市长",
                "行文方向：对下",
                "听众/读者：各县区政府",
                "场合：工作会议（总结工作、部署任务）",
            ],
        ),
        (
            DraftRequest(
                "duty-report", "2024年度抓基层党建工作", unit="市财政局机关党支部", speaker="支部书记 李华"
            ),
            ["讲话人/行文人：支部书记 李华", "人称：第一人称“本人”", "行文方向：对上"],
        ),
        (
            DraftRequest("duty-report", "领导班子任期述职", unit="市财政局党组"),
            ["人称：用“我们”“班子”，不用“本人”"],
        ),
        (
            DraftRequest("work-report", "机关党建", unit="市税务局", occasion="全市机关党建推进会"),
            ["人称：用“我们”或单位简称", "语气：谦虚务实"],
        ),
        (
            DraftRequest("summary", "2024年医疗保障工作", unit="县医疗保障局"),
            ["人称：用“我局”“全局”“我们”等单位口吻", "行文方向：对上"],
        ),
        (
            DraftRequest("speech", "新学期", unit="市第一中学", occasion="2025年秋季开学典礼"),
            ["行文方向：致辞", "语气：热情亲切"],
        ),
    ]
    for request, lines in cases:
        _, model, _ = draft_with(server, settings, request)
        system = next(s for s, u in model.prompts if u.startswith("【任务】起草"))
        for line in lines:
            assert line in system, (request.topic, line)


def test_style_exemplars_carry_no_figures_names_or_other_units_terms(server: FakeOpenAI, seed_settings):
    """With the real seed index: exemplars are cleaned by the corpus lexicon (a 镇's draft gets none of
    the 社保/人社/医保 documents' own terms, office words or figures)."""
    from assistant.index.corpus_view import open_view

    request = DraftRequest(
        "work-report",
        "党建引领乡村振兴",
        unit="青山镇党委",
        occasion="全县基层党建推进会",
        points=["村级组织建设", "党员先锋作用"],
        materials=["全镇12个村党组织全部完成换届。"],
    )
    model = ScriptedModel()
    server.responder = model
    write_draft(request, llm_settings(seed_settings, server))
    view = open_view(seed_settings)
    allowed = "\n".join([request.topic, request.unit, request.occasion, *request.points, *request.materials])
    blocks = [
        b for _, user in model.prompts for b in re.findall(r"<<<参考\d+\n(.*?)\n参考\d+>>>", user, flags=re.S)
    ]
    assert blocks, "the section prompts carry style exemplars"
    for block in blocks:
        assert not re.search(r"\d", block), block
        assert not view.lexicon.foreign_terms(block, allowed, "镇"), block
        for term in ("参保群众", "社保", "人社", "医保", "局班子", "股室", "全所"):
            assert term not in block, (term, block)


# ---- replies into the draft ---------------------------------------------------------------------------
def test_the_draft_follows_the_outline_and_streams_clean_text(server: FakeOpenAI, settings: Settings):
    reply = "<think>想一想</think>\n" + GOOD_PROBLEMS
    draft, _, events = draft_with(
        server, settings, RESEARCH, replies={"outline": [RESEARCH_OUTLINE], "存在的问题": [reply]}
    )
    assert draft.generator["backend"] == "openai-compatible" and draft.generator["model"] == "fake-model"
    names = {p["name"] for p in draft.generator["prompts"]}
    assert {"llm.system", "llm.section", "llm.formula", "llm.outline"} <= names
    headings = [p.text for s in draft.sections for p in s.paragraphs if p.kind == "heading" and p.level == 1]
    assert headings == ["一、基本情况", "二、存在的问题", "三、原因分析", "四、对策建议"]
    measures = next(s for s in draft.sections if s.key == "measures").text
    assert "（一）完善服务网络建设，扩大上门服务供给。" in measures  # the outline's words, exactly
    shown = "".join(p["text"] for k, p in events if k == "section_delta" and p["key"] == "problems")
    assert (
        "上门服务供给不足" in shown and "<think" not in shown and "【" not in shown and "想一想" not in shown
    )
    problems = next(s for s in draft.sections if s.key == "problems")
    kinds = [sp.kind for p in problems.paragraphs for sp in p.spans]
    assert kinds[0] == "heading" and "fact" in kinds and "model" in kinds
    fact_span = next(sp for p in problems.paragraphs for sp in p.spans if sp.kind == "fact")
    assert fact_span.fact == 2 and "43%" in fact_span.text
    assert all(f.section for f in draft.facts)  # every fact of the materials is in the draft
    failed = [w for w in draft.warnings if "检查未通过" in w and "重复" not in w]  # the script repeats itself
    assert not failed, failed


def test_citations_come_from_matching_the_text_to_passages(server: FakeOpenAI, settings: Settings):
    copied = "要坚持问题导向，查找工作中的薄弱环节，逐项研究解决措施，确保问题整改到位。"
    retriever = SeedRetriever()
    passage, sentence = next(
        (p, s.strip())
        for p in retriever.passages
        if p.chunk.role == "problems"
        for s in re.split(r"(?<=。)", p.chunk.text)
        if 20 < len(s.strip()) < 80 and not re.search(r"[\d*×X局：:\n]", s.strip())
    )
    reply = GOOD_PROBLEMS.replace("助餐、助浴等上门服务覆盖面还不广。", sentence + copied)
    model = ScriptedModel(overrides={"outline": [RESEARCH_OUTLINE], "存在的问题": [reply]})
    server.responder = model
    pool = [passage, *(p for p in retriever.passages if p is not passage)]
    draft = write_draft(RESEARCH, llm_settings(settings, server), retriever=_Fixed(pool))
    spans = [sp for s in draft.sections for p in s.paragraphs for sp in p.spans]
    cited = next(sp for sp in spans if sp.text.startswith(sentence[:10]))
    assert cited.sources, "a sentence found in a retrieved passage cites it"
    number = cited.sources[0]
    assert next(src for src in draft.sources if src.number == number).chunk_id == passage.chunk.chunk_id
    own = next(sp for sp in spans if sp.text == copied)
    assert own.sources == [] and own.kind == "model"


class _Fixed:
    """A retriever that returns the same passages for every query."""

    def __init__(self, passages):
        self.passages = passages

    def search(self, query, doc_type=None, role=None, k=8):
        return self.passages[:k]


def test_a_failing_section_falls_back_to_the_composer_alone(
    server: FakeOpenAI, settings: Settings, monkeypatch
):
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", KEY)
    draft, model, _ = draft_with(
        server,
        settings,
        RESEARCH,
        replies={"outline": [RESEARCH_OUTLINE], "存在的问题": [("status", 500)]},
        llm_api_key=KEY,
    )
    assert len(model.calls("存在的问题")) == 1  # an HTTP error is not retried
    assert len(model.calls("对策建议")) == 1  # the sections after it still go to the model
    warning = next(w for w in draft.warnings if "离线拼写" in w)
    assert "HTTP 500" in warning and "“存在的问题”已改用离线拼写" in warning
    assert draft.generator["fallback_sections"] == ["problems"]
    assert "（一）上门服务供给不足。" in draft.text  # the outline still shapes the fallback section
    dumped = json.dumps(draft.to_dict(), ensure_ascii=False)
    assert KEY not in dumped and KEY not in " ".join(draft.warnings)
    assert KEY in json.dumps(
        [{k.lower(): v for k, v in h.items()}.get("authorization") for h in server.headers]
    )


def test_max_tokens_follow_the_section_budget(server: FakeOpenAI, settings: Settings):
    draft_with(server, settings, replace(RESEARCH, length=1600))
    small = [r["max_tokens"] for r in server.requests]
    server.requests.clear()
    draft_with(server, settings, replace(RESEARCH, length=6000))
    large = [r["max_tokens"] for r in server.requests]
    assert all(isinstance(n, int) and n > 0 for n in small + large)
    assert sum(large) > sum(small)


# ---- opening and closing ------------------------------------------------------------------------------
def test_free_formulas_are_written_for_the_occasion_and_fixed_ones_kept(
    server: FakeOpenAI, settings: Settings
):
    draft, model, _ = draft_with(server, settings, replace(SPEECH, occasion="全市安全生产培训班开班式"))
    assert draft.sections[0].paragraphs[0].text == "同志们："
    opening = draft.sections[0].paragraphs[1].text
    assert opening.startswith("今天") and "刚才" not in opening
    assert draft.sections[-1].text.startswith("同志们，")
    assert len(model.calls("opening")) == 1 and len(model.calls("closing")) == 1
    closing_prompt = model.calls("closing")[0][1]
    assert "一、要压实安全生产责任" in closing_prompt.split("<<<已写", 1)[1]  # the whole text in view

    report = DraftRequest("work-report", "机关党建", unit="市税务局", occasion="全市机关党建推进会")
    draft, model, _ = draft_with(server, settings, report)
    assert draft.sections[-1].text == "汇报完毕，不当之处，请各位领导批评指正，谢谢。"
    assert model.calls("closing") == []  # fixed: never asked of the model
    assert "现将有关情况汇报如下" in draft.sections[0].text


def test_an_opening_that_misfits_the_occasion_is_retried_then_replaced(
    server: FakeOpenAI, settings: Settings
):
    misfit = "【正文】刚才，几位同志作了很好的发言，我都同意。今天召开这次培训班。"
    fit = "【正文】今天，全市安全生产培训班正式开班。"
    request = replace(SPEECH, occasion="全市安全生产培训班开班式")
    draft, model, _ = draft_with(server, settings, request, replies={"opening": [misfit, fit]})
    assert "与这次的场合不符" in model.calls("opening")[1][1]
    assert draft.sections[0].paragraphs[1].text == "今天，全市安全生产培训班正式开班。"
    draft, model, _ = draft_with(server, settings, request, replies={"opening": [misfit, misfit]})
    assert "我都同意。今天召开这次培训班" not in draft.sections[0].text  # the type's own formula instead
    assert "开头已改用固定格式" in " ".join(draft.warnings)
    assert "opening" in draft.generator["fallback_sections"]


# ---- the review pass ----------------------------------------------------------------------------------
def test_the_review_pass_applies_targeted_edits_and_shows_them(server: FakeOpenAI, settings: Settings):
    model = ScriptedModel(overrides={"outline": [RESEARCH_OUTLINE], "存在的问题": [GOOD_PROBLEMS]})
    model.review_edits = [
        {
            "old": "助餐、助浴等上门服务覆盖面还不广。",
            "new": "助餐、助浴等上门服务的覆盖面还不够广。",
            "why": "语句不通顺",
        },
        {"old": "专业化服务能力与老人需求还有差距。", "new": "全市有300名护理员未持证。", "why": "补充事实"},
        {"old": "草稿中没有的一句话。", "new": "随便。", "why": "测试"},
    ]
    server.responder = model
    s = llm_settings(settings, server).with_overrides(llm_revise=True)
    draft = write_draft(RESEARCH, s, retriever=SeedRetriever())
    review_prompt = model.calls("review")[0][1]
    assert "<<<初稿" in review_prompt and "一、基本情况" in review_prompt and "材料1" in review_prompt
    assert "助餐、助浴等上门服务的覆盖面还不够广。" in draft.text
    assert "全市有300名护理员未持证【核实：300名】。" in draft.text  # a new figure is flagged
    notes = [w for w in draft.warnings if w.startswith("审读")]
    assert any("语句不通顺" in w for w in notes) and any("未采用" in w for w in notes)
    spans = [sp for s in draft.sections for p in s.paragraphs for sp in p.spans]
    assert any("审读修改：语句不通顺" in sp.note for sp in spans)
    assert {p["name"] for p in draft.generator["prompts"]} >= {"llm.review"}


def test_the_review_pass_is_off_by_default(server: FakeOpenAI, settings: Settings):
    _, model, _ = draft_with(server, settings, RESEARCH)
    assert model.calls("review") == []


# ---- the text already written ---------------------------------------------------------------------------
def test_long_text_so_far_is_given_as_a_faithful_extract():
    long = "这是一个很长的句子，用来占据足够多的篇幅，说明已经写了很多内容。" * 20
    sections = [
        DraftSection(
            "basic",
            "background",
            "一、基本情况",
            "",
            paragraphs=[
                DraftParagraph("一、基本情况", "heading", 1),
                DraftParagraph("全市共有社区养老服务站126个。" + long),
                DraftParagraph("一是网络逐步健全。" + long + "二是服务不断丰富。" + long),
            ],
        )
    ]
    text, summarised = llm_brief.written_text(sections, limit=1000)
    assert summarised and "一、基本情况" in text and "全市共有社区养老服务站126个。" in text
    assert "一是网络逐步健全。" in text and "二是服务不断丰富。" in text and len(text) <= 1002
    whole, summarised = llm_brief.written_text(
        sections[:0] or [DraftSection("a", "b", "", "短。", paragraphs=[DraftParagraph("短。")])]
    )
    assert whole == "短。" and not summarised


def test_a_speech_draft_keeps_its_structure_and_points(server: FakeOpenAI, settings: Settings):
    draft, _, _ = draft_with(server, settings, SPEECH, replies={"outline": [SPEECH_OUTLINE]})
    text = draft.text
    for heading in (
        "一、要压实安全生产责任",
        "二、要深化隐患排查整治",
        "三、要强化重点行业监管",
        "四、要提升应急处置能力",
    ):
        assert heading in text
    assert "讲四点意见" in text
    assert "今年以来全市共排查整治安全隐患3426处" in text and "【核实" not in text
    assert not draft.generator.get("fallback_sections")


def test_a_missing_lead_is_the_types_own_and_a_lone_sub_heading_is_a_lead_sentence(
    server: FakeOpenAI, settings: Settings
):
    from tests.llm_deviations import SPEECH_HEADINGS

    no_lead = "\n".join(f"【标题】{h}\n【正文】要把{h[1:]}抓实抓细。" for h in SPEECH_HEADINGS)
    no_lead = no_lead.replace("【正文】要把压实", "【小标题】明确责任清单\n【正文】要把压实", 1)
    draft, _, _ = draft_with(
        server, settings, SPEECH, replies={"outline": [SPEECH_OUTLINE], "几点意见": [no_lead]}
    )
    text = next(s for s in draft.sections if s.key == "requirements").text
    assert text.startswith("下面，我就") and "讲四点意见" in text.split("\n")[0]
    assert "（一）" not in text and "明确责任清单。要把压实安全生产责任抓实抓细。" in text
    lead = next(s for s in draft.sections if s.key == "requirements").paragraphs[0]
    assert lead.spans[0].kind == "formula"


def test_a_single_item_keeps_no_yishi(server: FakeOpenAI, settings: Settings):
    """一是 promises 二是: a model that writes one 【分项】 for a 述职's 存在的问题 gets a plain sentence."""
    duty = DraftRequest("duty-report", "2024年度抓基层党建工作", unit="市财政局机关党支部")
    one = "【导语】对照上级要求，本人履职还存在一些不足：\n【分项】理论学习还不够深入，学用结合不够紧密。"
    draft, _, _ = draft_with(server, settings, duty, replies={"存在的问题": [one]})
    text = next(s for s in draft.sections if s.key == "problems").text
    assert "理论学习还不够深入，学用结合不够紧密。" in text and "一是" not in text
    lead = "【导语】总体来看，安全生产工作取得的成效主要有以下几个方面：\n【分项】今年以来全市共排查整治安全隐患3426处。"
    draft, _, _ = draft_with(
        server, settings, SPEECH, replies={"取得的成效": [lead]}
    )  # one paragraph, one item
    text = next(s for s in draft.sections if s.key == "review").text
    assert "主要有以下几个方面：今年以来全市共排查整治安全隐患3426处" in text and "一是" not in text
    two = one + "\n【分项】党建与业务融合还不够紧密。"
    draft, _, _ = draft_with(server, settings, duty, replies={"存在的问题": [two]})
    text = next(s for s in draft.sections if s.key == "problems").text
    assert "一是理论学习" in text and "二是党建与业务" in text


def test_a_work_reports_next_part_is_named_by_its_lead_even_when_the_model_leaves_it_out(
    server: FakeOpenAI, settings: Settings
):
    """A 汇报's parts carry no headings: a reader knows 下一步 begins only from its lead. The prompt asks
    for one (with the type's own words as the example); a reply without it gets the type's lead."""
    report = DraftRequest(
        "work-report",
        "粮食生产工作",
        unit="县农业农村局",
        occasion="全市农业农村工作会议",
        points=["稳定粮食生产", "存在的问题和下一步打算"],
        materials=["2025年计划新建高标准农田4万亩。"],
    )
    no_lead = "【主题句】抓好高标准农田建设。\n【正文】2025年计划新建高标准农田4万亩，确保按期完成。"
    draft, model, _ = draft_with(server, settings, report, replies={"下一步工作打算": [no_lead]})
    user = model.calls("下一步工作打算")[0][1]
    assert "点明本部分讲的是“下一步工作打算”" in user and "下一步，县农业农村局将" in user
    part = next(s for s in draft.sections if s.key == "next")
    assert (
        part.paragraphs[0].text.startswith("下一步，县农业农村局将")
        and part.paragraphs[0].spans[0].kind == "formula"
    )
    assert part.paragraphs[1].text.startswith("抓好高标准农田建设。2025年计划新建高标准农田4万亩")
    draft, model, _ = draft_with(server, settings, report)  # a model that writes the lead it is asked for
    first = next(s for s in draft.sections if s.key == "next").paragraphs[0]
    assert first.text.startswith("下一步") and first.spans[0].kind != "formula"


def test_a_facts_only_part_keeps_the_outlines_sub_headings_and_puts_each_fact_under_its_own(
    server: FakeOpenAI, settings: Settings
):
    """The section prompt of a part that holds the writer's facts only still lists the outline's sub-points,
    so a model that follows it writes each fact under its sub-heading and nothing falls back."""
    draft, model, _ = draft_with(server, settings, RESEARCH)  # the model proposes the outline too
    problems = next(i for i in draft.outline.items if i.key == "problems")
    assert len(problems.points) == 2 and problems.facts == [2, 3]
    user = model.calls("存在的问题")[0][1]
    assert "本部分只写上面的事实材料" in user and "每条是一个【小标题】" in user
    assert len(model.calls("存在的问题")) == 1 and not draft.generator.get("fallback_sections")
    lines = next(s for s in draft.sections if s.key == "problems").text.split("\n")
    assert lines[1] == f"（一）{problems.points[0]}。问卷调查显示，43%的老人认为上门服务项目偏少。"
    assert lines[2] == f"（二）{problems.points[1]}。部分服务站护理人员不足，持证上岗率不到一半。"


def test_the_length_a_facts_only_part_leaves_goes_to_the_parts_written_freely(
    server: FakeOpenAI, settings: Settings
):
    """A speech's 成效/不足/原因 hold the writer's facts only, so they come back shorter than their share; the
    意见 part, written after them, is asked for the rest, so the draft still aims at the type's length."""
    from assistant.doctypes import get_doctype
    from assistant.draft.pipeline import _budgets

    draft, model, _ = draft_with(server, settings, SPEECH, replies={"outline": [SPEECH_OUTLINE]})
    doctype = get_doctype("speech", settings.prompts_dir).with_skeleton(draft.outline.skeleton)
    base = _budgets(doctype, SPEECH, draft.outline)
    headings = {
        "review": "取得的成效",
        "problems": "存在的不足",
        "causes": "原因分析",
        "requirements": "几点意见",
    }
    asked = {
        key: int(re.search(r"篇幅：约 (\d+) 字", model.calls(heading)[0][1]).group(1))
        for key, heading in headings.items()
    }
    assert asked["review"] == base["review"]  # the first part is asked for its own share
    written = {s.key: len(s.text) for s in draft.sections}
    spare = sum(base[k] - written[k] for k in ("review", "problems", "causes"))
    assert spare > 0 and abs(asked["requirements"] - (base["requirements"] + spare)) <= 3


def test_every_free_opening_and_closing_tells_the_model_what_to_write(settings: Settings):
    """A free formula is written by the model from its ``guide``; without one the prompt said only
    “按文种惯例写” and the retry showed the check's regular expression (工作总结 fell back every time)."""
    from assistant.doctypes import get_doctype

    names = sorted(
        p.name for p in (settings.prompts_dir / "types").iterdir() if (p / "schema.yaml").is_file()
    )
    assert "summary" in names
    for name in names:
        doctype = get_doctype(name, settings.prompts_dir)
        for part in ("opening", "closing"):
            rule = getattr(doctype, part)
            if rule.pattern and not rule.fixed:
                assert rule.guide, (name, part)


def test_a_work_summary_gets_its_opening_and_closing_from_the_model(server: FakeOpenAI, settings: Settings):
    request = DraftRequest(
        "summary",
        "2024年度医疗保障工作",
        unit="市医疗保障局",
        points=["基金监管", "医保服务"],
        materials=["全年追回医保基金1260万元。"],
    )
    draft, model, _ = draft_with(server, settings, request)
    assert not draft.generator.get("fallback_sections"), draft.warnings
    assert "总结如下" in model.calls("opening")[0][1] and len(model.calls("opening")) == 1
    assert draft.sections[0].text.endswith("现将有关工作总结如下：")
