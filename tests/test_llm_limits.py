"""Nothing waits on an outside server forever: a model server that drips, stalls with the stream open,
streams without end or sends an endless line is cut off with a Chinese error naming the limit, the draft
falls back to the composer with a notice, the web app's draft slots free up, and a Chroma server that
accepts connections but never answers is reported instead of hung on.

Each wait runs under ``within``: a call that never returns fails the test after a generous bound (3× the
configured limit plus start-up) instead of hanging the suite, as it did before the limits existed.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile_servers import HostileOpenAI, SilentServer, bounded

from assistant.draft.llm_writer import max_tokens_for
from assistant.draft.pipeline import write_draft
from assistant.errors import BackendError
from assistant.index.retrieval import Retriever
from assistant.llm import DEFAULT_MAX_TOKENS, LLMClient, limits_for
from assistant.records import DraftRequest
from assistant.settings import Settings
from tests.seed_passages import SeedRetriever

FIRST, IDLE, DEADLINE, MAX_CHARS = 2.0, 1.0, 3.0, 2000
REQUEST = DraftRequest(
    "research-report",
    "机关党支部标准化规范化建设",
    unit="市医疗保障局",
    points=["加强党支部班子建设", "规范党内组织生活"],
)


def within(seconds: float, fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()``'s result (or exception, re-raised) and its duration; fails when it runs past ``seconds``."""
    outcome, took, value = bounded(fn, seconds)
    if outcome == "hung":
        pytest.fail(f"still waiting after {seconds:g} s: no limit cut the call off")
    if outcome == "error":
        raise value
    return value, took


def limited(settings: Settings, server: HostileOpenAI) -> Settings:
    return settings.with_overrides(
        llm_base_url=server.base_url,
        llm_model="hostile-model",
        llm_timeout=FIRST,
        llm_idle_timeout=IDLE,
        llm_deadline=DEADLINE,
        llm_max_chars=MAX_CHARS,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("drip", f"未能在 {DEADLINE:g} 秒内完成回答"),
        ("stall", f"超过 {IDLE:g} 秒没有输出新内容"),
        ("endless", f"超过 {MAX_CHARS} 字仍未结束"),
        ("noline", "数据超出上限"),
    ],
)
def test_a_misbehaving_model_server_is_cut_off_with_a_chinese_error(
    mode: str, message: str, settings: Settings, record_property
) -> None:
    with HostileOpenAI(mode, interval=0.5) as server:
        client = LLMClient(limited(settings, server))
        before = _peak_rss_mb()
        with pytest.raises(BackendError, match=message) as failed:
            within(3 * DEADLINE + 5, lambda: list(client.stream("系统", "用户", max_tokens=100)))
        assert server.requests and server.requests[0]["max_tokens"] == 100
        assert "max_completion_tokens" not in server.requests[0]  # the field every server knows
    record_property("peak_rss_growth_mb", round(_peak_rss_mb() - before, 1))
    record_property("bytes_sent_by_server", server.sent)
    assert server.base_url in str(failed.value)
    assert _peak_rss_mb() - before < 200  # an endless body is not buffered without bound


def test_the_time_to_fallback_is_bounded_by_each_limit(settings: Settings) -> None:
    """Time to the error for each stalled server, against the limit that should cut it off."""
    bounds = {"drip": DEADLINE, "stall": IDLE + 0.5, "endless": DEADLINE, "noline": DEADLINE}
    for mode, bound in bounds.items():
        with HostileOpenAI(mode, interval=0.5) as server:
            client = LLMClient(limited(settings, server))

            def consume(client: LLMClient = client) -> None:
                with pytest.raises(BackendError):
                    list(client.stream("系统", "用户", max_tokens=100))

            _, took = within(3 * DEADLINE + 5, consume)
        print(f"{mode}: cut off after {took:.2f} s (limit {bound:g} s)")
        assert took <= 3 * bound + 1, (mode, took)


def test_a_server_that_keeps_dripping_is_cut_off_by_its_rate_long_before_the_deadline(
    settings: Settings,
) -> None:
    """A token every 0.5 s never trips the idle limit; with a floor of 5 characters a second over 2 s it is
    given up on after about 2 s, not at the whole-answer deadline (here 60 s)."""
    with HostileOpenAI("drip", interval=0.5) as server:
        s = limited(settings, server).with_overrides(llm_deadline=60.0, llm_min_rate=5.0, llm_rate_window=2.0)
        with pytest.raises(BackendError, match="输出过慢，低于每秒 5 字") as failed:
            _, took = within(30, lambda: list(LLMClient(s).stream("系统", "用户", max_tokens=100)))
    assert "2 秒内只输出了" in str(failed.value)


def test_a_silent_server_fails_on_the_first_text_limit(settings: Settings) -> None:
    with SilentServer() as silent:
        s = settings.with_overrides(
            llm_base_url=f"{silent.url}/v1", llm_model="m", llm_timeout=1.0, llm_deadline=DEADLINE
        )
        with pytest.raises(BackendError, match="超过 1 秒未响应"):
            within(3 * DEADLINE + 5, lambda: list(LLMClient(s).stream("s", "u")))


def test_default_limits_suit_a_real_model() -> None:
    limits = limits_for(Settings())
    assert limits.first == 60 and limits.idle == 30 and limits.max_chars == 60_000
    assert limits.max_tokens == DEFAULT_MAX_TOKENS and limits.total == 60 + DEFAULT_MAX_TOKENS / 5
    assert limits.min_rate == 1.0 and limits.window == 30  # a token every 5 s is cut after ~30 s of it
    section = limits_for(Settings(), max_tokens_for(600))  # 600 characters and a reasoning block
    assert section.max_tokens == 1984 and section.total == pytest.approx(60 + 1984 / 5)
    assert limits_for(Settings(llm_deadline=90), 100).total == 90  # an explicit deadline wins


def test_a_dripping_server_makes_the_draft_fall_back_with_a_notice(settings: Settings) -> None:
    with HostileOpenAI("drip", interval=0.3) as server:
        s = limited(settings, server)
        draft, took = within(3 * DEADLINE + 60, lambda: write_draft(REQUEST, s, retriever=SeedRetriever()))
    assert len(server.requests) == 1  # the sections after the first never waited on it
    notice = next(w for w in draft.warnings if "离线拼写" in w)
    assert f"未能在 {DEADLINE:g} 秒内完成回答" in notice and "基本情况" in notice
    assert draft.generator["fallback_from"] and "加强党支部班子建设" in draft.text
    assert "字字字" not in draft.text  # the dripped tokens were not kept as a section
    print(f"drip draft fell back and finished in {took:.1f} s")


@pytest.mark.slow
def test_dripping_drafts_do_not_hold_the_web_apps_draft_slots(_hash_index: Path, tmp_path: Path) -> None:
    """Five drafts at once against a dripping server (four slots): each falls back within its deadline, so
    the fifth writer is served too."""
    from browser import serve
    from gradio_client import Client

    from assistant.ui.app import DRAFT_CONCURRENCY

    index = tmp_path / "index"
    shutil.copytree(_hash_index, index)
    writers = DRAFT_CONCURRENCY + 1
    results: dict[int, str] = {}
    errors: list[BaseException] = []
    with HostileOpenAI("drip", interval=0.3) as server:
        settings = limited(Settings(index_dir=index, embedder="hashing"), server)
        with serve(settings) as url:
            barrier = threading.Barrier(writers)

            def call(i: int) -> None:
                try:
                    client = Client(url, verbose=False, download_files=False)
                    barrier.wait(timeout=60)
                    results[i] = client.predict(
                        "duty-report",
                        f"第{i + 1}项党建工作",
                        "市医保局机关党支部",
                        "理论学习",
                        api_name="/draft",
                    )
                except BaseException as exc:  # collected and re-raised below
                    errors.append(exc)

            threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(writers)]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=max(1.0, 2 * 3 * DEADLINE + 90 - (time.monotonic() - started)))
            took = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a writer is still waiting for a draft slot"
    assert not errors, errors
    assert len(results) == writers and all("履职情况" in text for text in results.values())
    assert len(server.requests) == writers
    print(f"{writers} dripping drafts finished in {took:.1f} s")


# ---- Chroma server ----------------------------------------------------------------------------------


def test_a_chroma_server_that_never_answers_is_reported_not_hung_on(
    _hash_index: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.cli import main
    from assistant.index import store

    index = tmp_path / "index"
    shutil.copytree(_hash_index, index)
    with SilentServer() as silent:
        settings = Settings(index_dir=index, embedder="hashing", chroma_url=silent.url, chroma_timeout=1.0)
        store.forget_clients()
        with pytest.raises(BackendError, match="超过 1 秒没有应答") as failed:
            within(15, lambda: Retriever.open(settings).search("三会一课"))
        assert silent.url in str(failed.value) and "ASSISTANT_CHROMA_TIMEOUT" in str(failed.value)
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", silent.url)
        monkeypatch.setenv("ASSISTANT_CHROMA_TIMEOUT", "1")
        monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        (corpus / "a.txt").write_text("一、基本情况\n严格落实三会一课制度。\n", encoding="utf-8")
        code, _ = within(15, lambda: main(["ingest", str(corpus), "--index", str(tmp_path / "new")]))
        assert code == 3, capsys.readouterr()
        assert "超过 1 秒没有应答" in capsys.readouterr().err
        assert silent.accepted >= 2
        store.forget_clients()


@pytest.mark.server
def test_a_chroma_server_that_hangs_mid_session_times_out(tmp_path: Path) -> None:
    """A real ``chroma run`` server, frozen (SIGSTOP) after the index is open: the next search fails with
    the timeout's message instead of waiting, and works again once the server runs on."""
    from servers import free_port, start_chroma, stop

    from assistant.index import store
    from assistant.index.ingest import ingest
    from assistant.settings import PROJECT_ROOT

    port = free_port()
    proc = start_chroma(tmp_path / "chroma-data", port, tmp_path / "chroma.log")
    try:
        settings = Settings(
            index_dir=tmp_path / "index",
            embedder="hashing",
            chroma_url=f"http://127.0.0.1:{port}",
            chroma_timeout=2.0,
        )
        store.forget_clients()
        ingest([PROJECT_ROOT / "corpus"], settings)
        retriever = Retriever.open(settings)
        assert retriever.search("三会一课", k=3)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(BackendError, match="超过 2 秒没有应答"):
                within(20, lambda: retriever.search("支部标准化建设", k=3))
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        assert retriever.search("支部标准化建设", k=3)
    finally:
        stop(proc)
        store.forget_clients()
