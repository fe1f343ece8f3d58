"""Section actions (重写, 扩写, 缩写到 N 字, 润色) and the writer's edits on one part of a draft: by Chinese
heading (every 意见 of a speech), sources kept, the old draft untouched, offline and with a model."""

from __future__ import annotations

import re

import pytest
from fake_openai import FakeOpenAI

from assistant.draft.actions import EDIT_KIND, apply_edit, polish_text, revise_section
from assistant.draft.parts import draft_parts, finish, part_text
from assistant.draft.pipeline import write_draft
from assistant.draft.units import split_sentences
from assistant.errors import InputError
from assistant.records import Draft, DraftParagraph, DraftRequest, DraftSection, Source, Span
from assistant.settings import PROJECT_ROOT, Settings
from tests.seed_passages import SeedRetriever
from tests.test_drafting import REQUESTS

# the corpus comes from SeedRetriever alone: a project index left by `make demo` or the eval must not change
# what the composer offers (a rewrite that comes out identical keeps the original)
OFFLINE = Settings(index_dir=PROJECT_ROOT / "tests" / "data" / "no-index")


@pytest.fixture(scope="module")
def speech() -> Draft:
    return write_draft(REQUESTS["speech"], OFFLINE, retriever=SeedRetriever())


@pytest.fixture(scope="module")
def report() -> Draft:
    return write_draft(REQUESTS["research-report"], OFFLINE, retriever=SeedRetriever())


def _sources_resolve(draft: Draft) -> None:
    numbers = {s.number for s in draft.sources}
    assert numbers == set(range(1, len(draft.sources) + 1))
    for section in draft.sections:
        for paragraph in section.paragraphs:
            assert set(paragraph.sources) <= numbers
            for span in paragraph.spans:
                assert set(span.sources) <= numbers
            if paragraph.spans:
                assert paragraph.text == "".join(s.text for s in paragraph.spans)


def test_parts_are_named_by_chinese_heading_and_every_yijian_is_one(speech: Draft) -> None:
    parts = draft_parts(speech, {"review": "取得的成效", "problems": "存在的不足", "causes": "原因分析"})
    labels = [p.label for p in parts]
    assert labels[0] == "开头" and labels[-1] == "结尾"
    assert "取得的成效" in labels and "存在的不足" in labels
    assert "几点意见（全部）" in labels
    yijian = [p for p in parts if p.key.startswith("requirements#")]
    assert [p.label[:2] for p in yijian] == ["一、", "二、", "三、"]  # each 意见, not only the first
    assert not any(label in ("review", "problems", "requirements") for label in labels)


def test_rewrite_one_yijian_changes_only_it_and_keeps_numbering(speech: Draft) -> None:
    before = {p.key: part_text(speech, p.key) for p in draft_parts(speech)}
    after = revise_section(speech, "requirements#2", "rewrite", OFFLINE, retriever=SeedRetriever())
    changed = part_text(after, "requirements#2")
    assert changed != before["requirements#2"] and changed.startswith("二、")
    for key in ("requirements#1", "requirements#3", "opening", "review", "closing"):
        assert part_text(after, key) == before[key], key
    assert part_text(speech, "requirements#2") == before["requirements#2"]  # the old draft is untouched
    assert any(p.sources for p in after.sections[-2].paragraphs)  # the new text is sourced
    _sources_resolve(after)
    assert after.generator["revised"] == {"part": changed.splitlines()[0], "action": "重写"}


def test_rewrite_a_whole_section_offline_never_returns_a_poorer_version(report: Draft) -> None:
    """The seed corpus has no second way to say the report's problems: the rewrite would lose most of the
    text (issue 15: "a 600-character paragraph into three bare lines with no sources"), so the original
    stays and the writer is told why."""
    after = revise_section(report, "problems", "rewrite", OFFLINE, retriever=SeedRetriever())
    assert part_text(after, "problems") == part_text(report, "problems")
    assert any("已保留原文" in w for w in after.warnings)
    # where the corpus has more to say, the section is replaced by a sourced alternative
    speech = write_draft(REQUESTS["speech"], OFFLINE, retriever=SeedRetriever())
    again = revise_section(speech, "review", "rewrite", OFFLINE, retriever=SeedRetriever())
    if part_text(again, "review") == part_text(speech, "review"):
        assert any("已保留原文" in w for w in again.warnings)
    else:
        assert any(p.sources for s in again.sections if s.key == "review" for p in s.paragraphs)
    _sources_resolve(again)


def test_shorten_keeps_headings_and_whole_sentences_within_the_limit(report: Draft) -> None:
    text = part_text(report, "measures")
    target = len(text) // 2
    after = revise_section(report, "measures", "shorten", OFFLINE, target_chars=target)
    short = part_text(after, "measures")
    # the N characters are the text's; a 【待补】 gap is the writer's to-do and always stays
    assert len(re.sub(r"【待补[^】]*】", "", short.replace("\n", ""))) <= target
    assert re.findall(r"【待补[^】]*】", short) == re.findall(r"【待补[^】]*】", text)
    assert short.splitlines()[0] == text.splitlines()[0]  # the heading stays
    old_sentences = {s for line in text.splitlines() for s in split_sentences(line)}
    for line in short.splitlines()[1:]:
        for sentence in split_sentences(line):  # nothing cut mid-sentence (numbering may close up)
            assert sentence in old_sentences or sentence[2:] in {s[2:] for s in old_sentences}, sentence
    assert any(p.sources for s in after.sections if s.key == "measures" for p in s.paragraphs)
    _sources_resolve(after)
    with pytest.raises(InputError, match="无需缩写"):
        revise_section(report, "measures", "shorten", OFFLINE, target_chars=len(text) + 10)
    with pytest.raises(InputError, match="字数"):
        revise_section(report, "measures", "shorten", OFFLINE, target_chars=None)


def test_expand_adds_only_relevant_sourced_sentences_or_an_honest_gap(report: Draft) -> None:
    before = part_text(report, "measures")
    after = revise_section(report, "measures", "expand", OFFLINE, retriever=SeedRetriever())
    grown = part_text(after, "measures")
    assert len(grown) > len(before)
    section = next(s for s in after.sections if s.key == "measures")
    new_spans = [s for p in section.paragraphs for s in p.spans if s.text not in before]
    assert new_spans
    assert all(s.sources or s.kind == "gap" for s in new_spans)  # every added sentence is sourced or a gap
    _sources_resolve(after)


def test_expand_with_nothing_relevant_adds_a_gap_not_filler(report: Draft) -> None:
    class Empty:
        def search(self, *args, **kwargs):
            return []

    after = revise_section(report, "measures", "expand", OFFLINE, retriever=Empty())
    grown = part_text(after, "measures")
    assert "【待补" in grown and grown.startswith(part_text(report, "measures").splitlines()[0])
    assert any("没有更多" in w for w in after.warnings)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("加强党建工作工作，推动发展。。", "加强党建工作，推动发展。"),
        ("同时，此外，要抓好落实。", "同时，要抓好落实。"),
        ("要抓好学习,推动落实;做到 两手抓，。", "要抓好学习，推动落实；做到两手抓。"),
    ],
)
def test_polish_mends_punctuation_doubled_words_and_connectives(raw: str, clean: str) -> None:
    assert polish_text(raw) == clean


def _spanned() -> Draft:
    spans = [
        Span("全年开展主题党日12次。", "fact", [], fact=1),
        Span("同时，同时，落实三会一课制度。", "corpus", [2]),
        Span("【待补：本人履职的具体做法】", "gap", []),
    ]
    body = DraftParagraph("".join(s.text for s in spans), "body", 0, [2], spans)
    heading = DraftParagraph("一、履职情况", "heading", 1, [], [Span("一、履职情况", "heading")])
    request = DraftRequest(
        "duty-report", "抓基层党建", "市医保局机关党支部", materials=["全年开展主题党日12次。"]
    )
    return finish(
        Draft(
            doc_type="duty-report",
            title="述职报告",
            sections=[DraftSection("duties", "achievements", "一、履职情况", "", [], 1, [heading, body])],
            text="",
            sources=[
                Source(1, "c1", "d1", "甲", "", "achievements", "甲文"),
                Source(2, "c2", "d2", "乙", "", "achievements", "乙文"),
            ],
            request=request,
        )
    )


def test_polish_keeps_each_sentences_kind_and_source() -> None:
    draft = _spanned()
    assert [s.number for s in draft.sources] == [1] and draft.sources[0].chunk_id == "c2"  # renumbered
    after = revise_section(draft, "duties", "polish", OFFLINE)
    spans = after.sections[0].paragraphs[1].spans
    assert [s.kind for s in spans] == ["fact", "corpus", "gap"]
    assert spans[1].text == "同时，落实三会一课制度。" and spans[1].sources == [1]
    assert spans[0].fact == 1


def test_a_writers_edit_keeps_unchanged_sentences_sources_and_marks_new_ones() -> None:
    draft = _spanned()
    text = part_text(draft, "duties")
    edited = text.replace("【待补：本人履职的具体做法】", "组织党员志愿服务，群众反映良好。")
    after = apply_edit(draft, "duties", edited + "\n新增一段：深化理论学习。")
    body, extra = after.sections[0].paragraphs[1], after.sections[0].paragraphs[2]
    assert [s.kind for s in body.spans] == ["fact", "corpus", EDIT_KIND]
    assert body.spans[1].sources == [1] and body.sources == [1]
    assert extra.text == "新增一段：深化理论学习。" and extra.kind == "body"
    assert "组织党员志愿服务" in after.text and "【待补" not in after.text
    assert after.sources[0].chunk_id == "c2"
    with pytest.raises(InputError, match="为空"):
        apply_edit(draft, "duties", "  \n ")


def test_with_a_model_each_action_is_one_call_with_its_prompt_and_the_guard(report: Draft) -> None:
    with FakeOpenAI() as fake:
        fake.replies = ["二、存在的问题\n一是理论学习不够深入，全年开展学习27次[1]。二是制度执行有偏差。"]
        settings = Settings(llm_base_url=fake.base_url, llm_model="fake", llm_timeout=10)
        after = revise_section(report, "problems", "rewrite", settings, retriever=SeedRetriever())
    assert len(fake.requests) == 1
    prompt = fake.requests[0]["messages"][-1]["content"]
    assert "换一种写法重写" in prompt and "<<<现稿" in prompt and "<<<范文[1]" in prompt
    text = part_text(after, "problems")
    assert text.startswith("二、存在的问题") and "制度执行有偏差" in text
    assert "27" not in text and "【待补" in text  # a figure the writer never gave is not kept
    assert next(s for s in after.sections if s.key == "problems").paragraphs[1].sources  # [1] resolved
    _sources_resolve(after)


def test_a_failing_model_falls_back_to_the_offline_action_with_a_notice(report: Draft) -> None:
    with FakeOpenAI() as fake:
        fake.replies = [("status", 500)]
        settings = Settings(llm_base_url=fake.base_url, llm_model="fake", llm_timeout=10)
        target = len(part_text(report, "measures")) // 2
        after = revise_section(report, "measures", "shorten", settings, target_chars=target)
    assert len(part_text(after, "measures").replace("\n", "")) <= target
    assert any("离线方式缩写" in w for w in after.warnings)


def test_item_numbering_closes_up_across_paragraphs_and_restarts_under_each_heading() -> None:
    from assistant.draft.parts import renumber_markers

    paragraphs = [
        DraftParagraph("二、存在的问题", "heading", 1),
        DraftParagraph("一是学习不够深入。", "body"),
        DraftParagraph("三是制度执行有偏差。四是作风不够扎实。", "body"),
        DraftParagraph("（三）原因分析。一是认识不到位。三是机制不健全。", "heading", 2),
    ]
    renumber_markers(paragraphs)
    assert [p.text for p in paragraphs] == [
        "二、存在的问题",
        "一是学习不够深入。",
        "二是制度执行有偏差。三是作风不够扎实。",
        "（一）原因分析。一是认识不到位。二是机制不健全。",
    ]


def test_shorten_never_drops_a_gap_the_writer_still_has_to_fill() -> None:
    """A point the corpus says nothing about holds only its 【待补】: shortening the part keeps it (a bare
    “（三）推进智慧养老服务。” would hide that something is still to be written)."""
    request = DraftRequest(
        "duty-report",
        "2024年度抓基层党建工作",
        unit="市医保局机关党支部",
        points=["规范党内组织生活", "推进党建与业务融合", "推进智慧养老服务"],
        materials=["全年开展主题党日活动12次。"],
    )
    draft = write_draft(request, OFFLINE, retriever=SeedRetriever())
    text = part_text(draft, "performance")
    gaps = re.findall(r"【待补[^】]*】", text)
    assert gaps  # the point the corpus has nothing on
    content = len(re.sub(r"【待补[^】]*】", "", text.replace("\n", "")))
    after = revise_section(draft, "performance", "shorten", OFFLINE, target_chars=content // 2)
    short = part_text(after, "performance")
    assert re.findall(r"【待补[^】]*】", short) == gaps
    assert len(re.sub(r"【待补[^】]*】", "", short.replace("\n", ""))) <= content // 2
