"""Issue 16's findings, each replayed the way it was found, through entry points that existed before the
hardening (the CLI, ``ingest``, ``LLMClient.stream``, ``Retriever``, ``write_draft``, the web page), so the
same file shows the finding on the commit before the fixes and its absence after. Every wait is bounded: a
call that hangs or a child that floods memory fails the test instead of stopping the suite.

The detailed contracts live in the topic files (test_user_settings, test_ingest_limits, test_llm_limits,
test_index_damage, test_injection, test_control_chars, test_web_auth, test_corpus_links, test_moved_project,
test_kill_reingest); ``bench/hostile.py`` and ``bench/stalls.py`` print the time and memory figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_openai import FakeOpenAI
from hostile_servers import HostileOpenAI, SilentServer, bounded

from assistant.errors import UserError
from assistant.index.ingest import ingest, list_documents
from assistant.settings import PROJECT_ROOT, Settings

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
from bench import hostile  # noqa: E402

#: limits this file sets where the settings have them (they did not exist before the hardening)
LIMITS = {"llm_timeout": 2.0, "llm_idle_timeout": 1.0, "llm_deadline": 3.0, "llm_max_chars": 2000}


def _settings(base: Settings, **values: Any) -> Settings:
    """``base`` with those of ``values`` that this version's settings know."""
    known = {f.name for f in fields(Settings)}
    return base.with_overrides(**{k: v for k, v in values.items() if k in known})


def _within(seconds: float, fn: Callable[[], Any], on_timeout: Callable[[], None] = lambda: None) -> Any:
    """``fn()``'s result (its exception re-raised); fails the test when it runs past ``seconds``."""
    outcome, _, value = bounded(fn, seconds)
    if outcome == "hung":
        on_timeout()
        pytest.fail(f"still waiting after {seconds:g} s: nothing cut the call off")
    if outcome == "error":
        raise value
    return value


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# ---- finding 1: one user's endpoint never receives another user's drafts or the server's key ---------------

SERVER_KEY = "sk-SERVER-ONLY-7c4b2e"
USER_KEY = "sk-user-b-own-key"
USERS = [("userb", "pw-b-123456"), ("userc", "pw-c-123456")]


@pytest.mark.browser
@pytest.mark.slow
def test_user_bs_endpoint_gets_neither_the_server_key_nor_user_cs_draft(
    _hash_index: Path, corpus_copy: Path, tmp_path: Path
) -> None:
    from browser import choose, chromium, click, fill, new_context, open_page, serve, wait_for_text

    index = tmp_path / "index-copy"
    shutil.copytree(_hash_index, index)
    with FakeOpenAI() as server_llm, FakeOpenAI() as recorder:
        server_llm.default = recorder.default = "一是加强理论学习。\n二是压实工作责任。"
        settings = _settings(
            Settings(index_dir=index, embedder="hashing", corpus_dir=corpus_copy),
            data_dir=tmp_path / "data",
            llm_base_url=server_llm.base_url,
            llm_model="server-model",
            llm_api_key=SERVER_KEY,
            llm_timeout=20,
        )
        with serve(settings, auth=USERS) as url, chromium() as browser:
            page_b = open_page(new_context(browser), url, login=USERS[0])
            page_c = open_page(new_context(browser), url, login=USERS[1])
            page_b.get_by_role("tab", name="设置").click()
            fill(page_b, "llm-base-url", recorder.base_url)
            fill(page_b, "llm-model", "b-probe")
            fill(page_b, "llm-key", "")
            click(page_b, "settings-test")  # B's URL, no key typed: the server's key must not go there
            wait_for_text(page_b, "settings-status", "连接", timeout=60_000)
            assert SERVER_KEY not in json.dumps(recorder.headers), "测试连接 sent the server's key to B's URL"
            fill(page_b, "llm-model", "b-model")  # a new name: the status below is this test's, not the last
            fill(page_b, "llm-key", USER_KEY)
            click(page_b, "settings-test")
            wait_for_text(page_b, "settings-status", "模型 b-model", timeout=60_000)
            click(page_b, "settings-apply")
            wait_for_text(page_b, "settings-status", "已应用", timeout=60_000)
            seen = len(recorder.requests)

            page_c.get_by_role("tab", name="起草").click()
            choose(page_c, "doc-type", "汇报发言")
            fill(page_c, "topic", "用户丙的内部汇报主题")
            fill(page_c, "unit", "市社会保险事业管理局")
            fill(page_c, "points", "党建与业务融合")
            click(page_c, "draft-btn")
            wait_for_text(page_c, "draft-status", "草稿已完成", timeout=300_000)
            reached_b = json.dumps(recorder.requests[seen:], ensure_ascii=False)
            assert "用户丙" not in reached_b, "user C's draft went to user B's endpoint"
            assert len(recorder.requests) == seen
            assert "用户丙的内部汇报主题" in json.dumps(server_llm.requests, ensure_ascii=False)
            assert SERVER_KEY not in json.dumps(recorder.headers)


# ---- finding 2: one file cannot stop the server --------------------------------------------------------

_INGEST_CHILD = """
import json, sys
from pathlib import Path
from assistant.index.ingest import ingest
from assistant.settings import Settings
report = ingest([Path(sys.argv[1])], Settings(index_dir=Path(sys.argv[2]), embedder="hashing"))
print(json.dumps({"added": len(report.added), "errors": list(report.errors)}, ensure_ascii=False))
"""
FILE_SECONDS, FILE_MB = 90.0, 1200.0


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["paragraphs-1e6.docx", "media-1gb.docx", "bomb-xml.docx", "nopunct-5mb.txt", "repeat-5mb.txt"]
)
def test_one_hostile_file_is_dealt_with_in_bounded_time_and_memory_and_loses_nothing(
    name: str, _hash_index: Path, tmp_path: Path, record_property
) -> None:
    index = tmp_path / "index-copy"
    shutil.copytree(_hash_index, index)
    before = {d["doc_id"] for d in list_documents(Settings(index_dir=index, embedder="hashing"))}
    path = hostile.make(name, tmp_path / "files")
    child = subprocess.Popen(
        [sys.executable, "-c", _INGEST_CHILD, str(path), str(index)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started, peak = time.monotonic(), 0.0
    while child.poll() is None:
        peak = max(peak, _rss_mb(child.pid))
        took = time.monotonic() - started
        if took > FILE_SECONDS or peak > FILE_MB:
            child.kill()
            child.wait()
            pytest.fail(f"{name}: ingest still running after {took:.0f} s at {peak:.0f} MB resident")
        time.sleep(0.1)
    took = time.monotonic() - started
    out, err = child.communicate()
    record_property("seconds", round(took, 1))
    record_property("peak_rss_mb", round(peak))
    assert child.returncode == 0, err[-2000:]
    report = json.loads(out.strip().splitlines()[-1])
    if not report["added"]:  # refused: in one Chinese line that names the file
        assert len(report["errors"]) == 1 and name in report["errors"][0] and "\n" not in report["errors"][0]
    after = {d["doc_id"] for d in list_documents(Settings(index_dir=index, embedder="hashing"))}
    assert before <= after


# ---- finding 3: nothing hangs ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drip", "stall", "endless", "noline"])
def test_a_stalled_model_server_is_cut_off(mode: str, settings: Settings) -> None:
    from assistant.llm import LLMClient

    with HostileOpenAI(mode, interval=0.5) as server:
        s = _settings(settings, llm_base_url=server.base_url, llm_model="hostile", **LIMITS)
        stop = threading.Event()

        def watch_memory() -> None:  # an unbounded reader must fail the test, not exhaust the machine
            while not stop.wait(0.2):
                if _rss_mb(os.getpid()) > 1500:
                    server.stop.set()

        threading.Thread(target=watch_memory, daemon=True).start()
        try:
            with pytest.raises(UserError):
                _within(15, lambda: list(LLMClient(s).stream("系统", "用户")), server.stop.set)
        finally:
            stop.set()


@pytest.mark.parametrize("mode", ["drip", "stall"])
def test_a_draft_against_a_stalled_server_falls_back_with_a_notice(mode: str, settings: Settings) -> None:
    """The model is asked once: a model that stalled on the first call is not waited on again for each of
    the draft's later calls (with a 20 s limit per call, that was minutes per draft)."""
    from assistant.draft.pipeline import write_draft
    from assistant.records import DraftRequest
    from tests.seed_passages import SeedRetriever

    request = DraftRequest(
        "research-report", "机关党支部标准化规范化建设", unit="市医疗保障局", points=["规范党内组织生活"]
    )
    with HostileOpenAI(mode, interval=0.3) as server:
        s = _settings(settings, llm_base_url=server.base_url, llm_model="hostile", **LIMITS)
        draft = _within(240, lambda: write_draft(request, s, retriever=SeedRetriever()), server.stop.set)
    assert any("离线" in w for w in draft.warnings), draft.warnings
    assert "字字字" not in draft.text
    assert len(server.requests) == 1, f"the stalled model was asked {len(server.requests)} times"


def test_a_chroma_server_that_never_answers_is_reported(_hash_index: Path, tmp_path: Path) -> None:
    from assistant.index import store
    from assistant.index.retrieval import Retriever

    index = tmp_path / "index-copy"
    shutil.copytree(_hash_index, index)
    with SilentServer() as silent:
        s = _settings(
            Settings(index_dir=index, embedder="hashing"), chroma_url=silent.url, chroma_timeout=1.0
        )
        if hasattr(store, "forget_clients"):
            store.forget_clients()
        try:
            with pytest.raises(UserError):
                _within(20, lambda: Retriever.open(s).search("三会一课"))
        finally:
            if hasattr(store, "forget_clients"):
                store.forget_clients()


# ---- finding 5: injected text does not reach the draft -------------------------------------------------

# the planted document test_injection.py drafts from (instructions in many shapes)
HOSTILE_DOC = (Path(__file__).parent / "data" / "planted_instructions.txt").read_text(encoding="utf-8")
MARKERS = ("【系统】", "零缺席", "起草本部分", "全国先进", "disregard", "設定", "滿分")
MODEL_REPLY = (
    "严格落实三会一课制度<script>alert('x')</script>，推进支部标准化建设。\n"
    '加强党员教育管理<iframe src="https://evil.example/"></iframe>，[详见](javascript:alert(1))规范组织生活。\n'
)


@pytest.fixture
def hostile_corpus(corpus_copy: Path, tmp_path: Path) -> Settings:
    (corpus_copy / "注入范文.txt").write_text(HOSTILE_DOC, encoding="utf-8")
    catalog = corpus_copy / "catalog.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8") + "\n注入范文.txt:\n  type: duty-report\n", "utf-8"
    )
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing", corpus_dir=corpus_copy)
    ingest([corpus_copy], settings)
    return settings


def _request() -> Any:
    from assistant.records import DraftRequest

    return DraftRequest(
        doc_type="duty-report",
        topic="抓基层党建工作述职",
        unit="市医保局机关党支部",
        points=["落实三会一课制度", "支部标准化规范化建设"],
    )


def test_instructions_planted_in_the_corpus_are_not_copied_into_the_draft(
    hostile_corpus: Settings, tmp_path: Path
) -> None:
    from assistant.draft import export
    from assistant.draft.pipeline import write_draft

    draft = write_draft(_request(), hostile_corpus)
    assert any(s.title.startswith("市医保局机关党支部书记") for s in draft.sources), (
        "planted doc not retrieved"
    )
    for text in (draft.text, export.to_markdown(draft).split(export.SOURCES_HEADING)[0]):
        assert not [m for m in MARKERS if m in text], text


def test_markup_from_a_model_is_stripped_from_the_draft(hostile_corpus: Settings, tmp_path: Path) -> None:
    from assistant.draft import export
    from assistant.draft.pipeline import write_draft

    with FakeOpenAI() as model:
        model.default = MODEL_REPLY
        s = hostile_corpus.with_overrides(llm_base_url=model.base_url, llm_model="m", llm_timeout=20)
        draft = write_draft(_request(), s)
    assert model.requests, "the model was never called; the test proves nothing"
    for text in (draft.text, export.to_markdown(draft)):
        lowered = text.lower()
        assert "<script" not in lowered and "<iframe" not in lowered and "javascript:" not in lowered, text


# ---- finding 6: text in tracked insertions, content controls, fields and text boxes is kept ------------


def test_docx_text_in_insertions_controls_fields_and_text_boxes_is_kept(tmp_path: Path) -> None:
    from office_files import RICH_EXPECTED, rich_docx

    from assistant.index import loaders

    text = loaders.load_document(rich_docx(tmp_path / "富格式.docx")).text
    assert not [line for line in RICH_EXPECTED if line not in text], text


# ---- finding 7: nothing but the login page answers without a login; guessing is slowed ----------------


def test_without_a_login_only_the_login_page_answers_and_guessing_is_slowed(settings: Settings) -> None:
    from browser import serve

    guarded = settings.with_overrides(auth_user="writer", auth_password="s3cret-pass")
    with serve(guarded) as url, httpx.Client(timeout=10) as client:
        for path in ("openapi.json", "gradio_api/openapi.json", "gradio_api/info"):
            assert client.get(url + path).status_code != 200, path
        with client.stream("GET", url + "gradio_api/heartbeat/abcdef", timeout=5) as beat:
            assert beat.status_code != 200, "the heartbeat stream answers without a login"
        statuses = [
            client.post(url + "login", data={"username": "writer", "password": f"guess{n}"}).status_code
            for n in range(12)
        ]
        assert 429 in statuses, statuses
        slowed = client.post(url + "login", data={"username": "writer", "password": "guess-again"})
        assert slowed.status_code == 429 and "秒后再试" in slowed.text
