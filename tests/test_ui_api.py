"""The web UI without a browser: its presentation helpers, the named ``/draft`` API through gradio_client
(one call, several at once, bad input), and login for a shared server."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from browser import serve

from assistant.draft.export import SOURCES_HEADING
from assistant.errors import InputError
from assistant.records import (
    Draft,
    DraftParagraph,
    DraftRequest,
    DraftSection,
    Source,
)
from assistant.settings import Settings
from assistant.ui.render import source_list_html
from assistant.ui.views import (
    build_request,
    safe_upload_name,
    split_points,
    unique_destination,
)

# ---- presentation helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("关于党建工作的调研报告.txt", "关于党建工作的调研报告.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/讲话稿.DOCX", "讲话稿.docx"),
        ("C:\\Users\\me\\述职 报告.md", "述职 报告.md"),
        ("bad:na*me?.txt", "bad_na_me.txt"),
        ("..\\..\\汇报.txt", "汇报.txt"),
    ],
)
def test_upload_names_are_sanitised_and_keep_chinese(name: str, stored: str) -> None:
    assert safe_upload_name(name) == stored


@pytest.mark.parametrize("name", ["script.sh", "image.png", "noext", ".txt", "../.txt"])
def test_unsupported_or_empty_upload_names_are_refused_with_the_name(name: str) -> None:
    with pytest.raises(InputError) as err:
        safe_upload_name(name)
    assert name in str(err.value)


def test_upload_never_overwrites_a_different_file(tmp_path: Path) -> None:
    (tmp_path / "范文.txt").write_text("旧内容", encoding="utf-8")
    dest, exists = unique_destination(tmp_path, "范文.txt", "新内容".encode())
    assert dest == tmp_path / "范文-2.txt" and not exists
    dest, exists = unique_destination(tmp_path, "范文.txt", "旧内容".encode())
    assert dest == tmp_path / "范文.txt" and exists


def test_points_one_a_line_with_bullets_dropped() -> None:
    assert split_points("- 理论学习\n\n2. 支部建设\n（3）党员教育\n  作风建设  ") == [
        "理论学习",
        "支部建设",
        "党员教育",
        "作风建设",
    ]


def test_request_names_every_missing_field() -> None:
    with pytest.raises(InputError, match="文种、主题"):
        build_request("", "  ")
    with pytest.raises(InputError, match="主题"):
        build_request("speech", "")
    request = build_request("speech", " 党建 ", points="甲\n乙", length=0)
    assert request.topic == "党建" and request.points == ["甲", "乙"] and request.length is None


def _draft() -> Draft:
    paragraph = DraftParagraph("一、履职情况", "heading", 1, [])
    body = DraftParagraph("认真落实三会一课制度。", "body", 0, [1])
    return Draft(
        doc_type="duty-report",
        title="述职报告",
        sections=[
            DraftSection(
                "duties", "achievements", "一、履职情况", "一、履职情况\n认真落实。", [], 1, [paragraph, body]
            )
        ],
        text="述职报告\n一、履职情况\n认真落实。",
        sources=[
            Source(1, "c1", "d1", "医保局述职报告", "一、履职情况", "achievements", "原文"),
            Source(2, "c2", "d1", "医保局述职报告", "二、存在的问题", "problems", "原文"),
        ],
        warnings=["注意"],
        generator={"backend": "composer"},
        request=DraftRequest("duty-report", "党建", points=["甲"]),
    )


def test_draft_survives_the_history_round_trip() -> None:
    draft = _draft()
    assert Draft.from_dict(draft.to_dict()) == draft


def test_sources_mark_the_ones_the_text_cites() -> None:
    html = source_list_html(_draft())
    assert "[1] ✔ 已引用｜《医保局述职报告》 一、履职情况" in html


def test_sources_list_retrieved_passages_the_draft_did_not_cite() -> None:
    """The panel lists every passage retrieved while drafting: cited ones ✔ with their number, the rest
    ○ 未引用, each chunk once (a passage retrieved for two sections, or also cited, is not repeated)."""
    from assistant.ui.stream import StreamView

    view = StreamView()
    extra = {
        "chunk_id": "c3",
        "doc_id": "d2",
        "title": "街道讲话",
        "heading_path": "二、要求",
        "role": "requirements",
    }
    cited = {"chunk_id": "c1", "doc_id": "d1", "title": "医保局述职报告", "heading_path": "一、履职情况"}
    view.apply("section_done", {"key": "duties", "text": "一、履职情况", "passages": [cited, extra]})
    view.apply(
        "section_done", {"key": "plans", "text": "二、打算", "passages": [extra, {**extra, "chunk_id": "c4"}]}
    )
    html = source_list_html(_draft(), view.retrieved())
    assert html.count("<li>") == 4  # c1 and c2 cited, c3 and c4 once each
    assert "○ 未引用｜《街道讲话》 二、要求｜要求意见" in html
    view.apply("section_done", {"key": "plans", "text": "二、打算（重写）", "passages": []})
    assert source_list_html(_draft(), view.retrieved()).count("<li>") == 3


# ---- the /draft API ----------------------------------------------------------------------------------


def _client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False, **kwargs)


@pytest.mark.slow
def test_draft_api_returns_the_draft_markdown(seed_settings: Settings, corpus_copy: Path) -> None:
    settings = seed_settings.with_overrides(corpus_dir=corpus_copy)
    with serve(settings) as url:
        markdown = _client(url).predict(
            "述职报告",
            "2024年度抓基层党建工作",
            "市医保局机关党支部",
            "理论学习\n支部标准化建设",
            api_name="/draft",
        )
    title = markdown.strip().splitlines()[0]
    assert "2024年度抓基层党建工作" in title and "述职报告" in title, title
    for heading in ("履职情况", "存在的问题", "下一步工作打算"):
        assert heading in markdown
    assert "【待补：述职人职务、姓名】" in markdown  # signed by a person: the unit alone is not a signature


@pytest.mark.slow
def test_simultaneous_api_drafts_each_get_their_own(seed_settings: Settings, corpus_copy: Path) -> None:
    settings = seed_settings.with_overrides(corpus_dir=corpus_copy)
    requests = [
        ("speech", "青年干部队伍建设", "市人社局", "理论武装\n实践锻炼", "同志们"),
        ("duty-report", "2024年度抓基层党建工作", "市医保局机关党支部书记", "理论学习", "存在的问题"),
        (
            "research-report",
            "发挥基层党支部战斗堡垒作用",
            "市人力资源和社会保障局",
            "三会一课落实",
            "对策建议",
        ),
        ("work-report", "机关党建工作进展", "市社会保险事业管理局", "党建与业务融合", "汇报完毕"),
    ]
    results: dict[int, str] = {}
    errors: list[BaseException] = []
    with serve(settings) as url:
        barrier = threading.Barrier(len(requests))

        def call(i: int) -> None:
            doc_type, topic, unit, points, _ = requests[i]
            try:
                client = _client(url)
                barrier.wait(timeout=60)
                results[i] = client.predict(doc_type, topic, unit, points, api_name="/draft")
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(requests))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    assert not errors, errors
    for i, (_, topic, unit, _, marker) in enumerate(requests):
        text = results[i]
        assert topic in text and unit in text and marker in text, (i, text[:300])
        others = [r[2] for j, r in enumerate(requests) if j != i]
        body = text.split(SOURCES_HEADING)[0]  # a cited source's title may name another unit
        assert not any(other in body for other in others), (i, body[:300])


def test_api_explains_missing_topic_instead_of_failing(settings: Settings) -> None:
    from gradio_client.exceptions import AppError

    with serve(settings) as url, pytest.raises(AppError, match="请先填写：主题"):
        _client(url).predict("speech", "", "", "", api_name="/draft")


def test_login_is_required_when_configured(settings: Settings) -> None:
    settings = settings.with_overrides(auth_user="writer", auth_password="s3cret-pass")
    with serve(settings) as url:
        with pytest.raises(Exception) as err:  # noqa: B017 - the client raises a plain ValueError/HTTP error
            _client(url)
        assert (
            "401" in str(err.value) or "auth" in str(err.value).lower() or "login" in str(err.value).lower()
        )
        raw = httpx.post(f"{url}gradio_api/call/draft", json={"data": ["speech", "党建", "", ""]}, timeout=10)
        assert raw.status_code == 401
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        # with the right login the same call reaches the function (which then explains the missing topic)
        from gradio_client.exceptions import AppError

        with pytest.raises(AppError, match="请先填写：主题"):
            _client(url, auth=("writer", "s3cret-pass")).predict("speech", "", "", "", api_name="/draft")
        with pytest.raises(Exception):  # noqa: B017
            _client(url, auth=("writer", "wrong"))


def test_streamed_sections_show_as_they_arrive_and_errors_reach_the_page() -> None:
    from assistant.ui.stream import StreamView, stream_pipeline

    def run(on_event):
        on_event("outline", {"title": "述职报告", "items": []})
        on_event("section_start", {"key": "duties", "heading": "一、履职情况"})
        on_event("section_delta", {"key": "duties", "text": "认真学习。"})
        on_event("warning", {"text": "大模型不可用，已改用离线组稿"})
        return _draft()

    view, stream, seen = StreamView(), stream_pipeline(run), []
    while True:
        try:
            kind, payload = next(stream)
        except StopIteration as stop:
            result = stop.value
            break
        seen.append(kind)
        view.apply(kind, payload)
    assert seen == ["outline", "section_start", "section_delta", "warning"] and result == _draft()
    assert "### 述职报告" in view.markdown() and "一、履职情况\n\n认真学习。" in view.markdown()
    assert view.warnings == ["大模型不可用，已改用离线组稿"]

    # a section announced by its bare heading whose text brings the numbered one shows it once
    view.apply("section_start", {"key": "problems", "heading": "存在的问题"})
    assert view.lines("problems") == ["存在的问题"]
    view.apply("section_delta", {"key": "problems", "text": "二、存"})
    assert view.lines("problems") == ["二、存"]
    view.apply("section_delta", {"key": "problems", "text": "在的问题\n学习不够深入。"})
    assert view.lines("problems") == ["二、存在的问题", "学习不够深入。"]
    assert view.markdown().count("存在的问题") == 1

    def failing(on_event):
        raise InputError("未知的文种")

    with pytest.raises(InputError, match="未知的文种"):
        list(stream_pipeline(failing))
