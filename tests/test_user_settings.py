"""Per-user LLM settings (issue 16 finding 1, issue 15 "settings per user"): an endpoint a user sets applies
to that user's session only; the server's key never goes to a URL a user typed; apply is refused until a
connection test of the same values passes; only the admin login may change the server default — and a raw
``queue/join`` call with a handler's ``fn_index`` changes nothing for anyone else."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from browser import choose, chromium, click, fill, new_context, open_page, serve, text_of, wait_for_text
from fake_openai import FakeOpenAI

from assistant.settings import Settings
from assistant.ui.session import SessionEndpoint, endpoint_settings, settings_for, user_of

SERVER_KEY = "sk-SERVER-ONLY-5d1e9a"
USER_KEY = "sk-user-b-owns-this"
USERS = [("userb", "pw-b-123456"), ("userc", "pw-c-123456"), ("admin", "pw-a-123456")]
SECTION_REPLY = "一是加强理论学习，提高政治站位。\n二是压实工作责任，推动任务落实。"


class _Request:
    def __init__(self, username: str | None) -> None:
        self.username = username


# ---- the rules, without a server ----------------------------------------------------------------------


def test_a_session_endpoint_applies_only_to_the_login_that_set_it() -> None:
    server = Settings(llm_base_url="http://127.0.0.1:1/v1", llm_model="m", llm_api_key=SERVER_KEY)
    mine = SessionEndpoint("userb", "http://127.0.0.1:2/v1", "b-model", USER_KEY)
    assert settings_for(server, mine, _Request("userb")).llm_base_url == "http://127.0.0.1:2/v1"
    assert settings_for(server, mine, _Request("userb")).llm_api_key == USER_KEY
    assert settings_for(server, mine, _Request("userc")) is server  # a session id sent by someone else
    assert settings_for(server, mine.__dict__, _Request("userc")) is server
    assert settings_for(server, None, _Request("userb")) is server
    offline = settings_for(server, SessionEndpoint("userb", "", ""), _Request("userb"))
    assert not offline.llm_configured and offline.llm_api_key == ""
    assert user_of(_Request(None)) == user_of(None)


def test_the_server_key_goes_only_to_the_servers_own_url() -> None:
    server = Settings(llm_base_url="http://127.0.0.1:1/v1", llm_model="m", llm_api_key=SERVER_KEY)
    assert endpoint_settings(server, "http://127.0.0.1:9/v1", "x", "").llm_api_key == ""
    assert endpoint_settings(server, "http://127.0.0.1:9/v1", "x", USER_KEY).llm_api_key == USER_KEY
    assert endpoint_settings(server, "http://127.0.0.1:1/v1/", "x", "").llm_api_key == SERVER_KEY
    assert (
        endpoint_settings(replace(server, llm_base_url=""), "http://127.0.0.1:1/v1", "x", "").llm_api_key
        == ""
    )


# ---- the running app ----------------------------------------------------------------------------------


def _authorizations(fake: FakeOpenAI) -> list[str]:
    return [h.get("Authorization") or h.get("authorization") or "" for h in fake.headers]


def _prompts(fake: FakeOpenAI) -> str:
    return json.dumps(fake.requests, ensure_ascii=False)


def _login(url: str, user: tuple[str, str]) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("login", data={"username": user[0], "password": user[1]})
    assert response.status_code in (200, 302, 303), response.status_code
    return client


def _dependency(config: dict, elem_id: str) -> int:
    component = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(d["id"] for d in config["dependencies"] if [component, "click"] in d.get("targets", []))


def _raw_call(client: httpx.Client, fn_index: int, data: list, session: str) -> list[dict]:
    """Call a handler the way a crafted request would: queue/join with its fn_index, then read the stream."""
    joined = client.post(
        "gradio_api/queue/join",
        json={
            "data": data,
            "fn_index": fn_index,
            "session_hash": session,
            "event_data": None,
            "trigger_id": None,
        },
    )
    assert joined.status_code == 200, joined.text
    messages = []
    with client.stream("GET", f"gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                messages.append(message)
                if message.get("msg") in ("process_completed", "close_stream"):
                    break
    return messages


def _draft(page, topic: str) -> None:
    choose(page, "doc-type", "汇报发言")
    fill(page, "topic", topic)
    fill(page, "unit", "市社会保险事业管理局")
    fill(page, "points", "党建与业务融合")
    click(page, "draft-btn")
    wait_for_text(page, "draft-status", "草稿已完成", timeout=300_000)


@pytest.mark.browser
@pytest.mark.slow
def test_one_users_endpoint_never_receives_another_users_drafts_or_the_server_key(
    seed_settings: Settings, corpus_copy: Path
) -> None:
    with FakeOpenAI() as server_llm, FakeOpenAI() as recorder:
        server_llm.default = recorder.default = SECTION_REPLY
        settings = seed_settings.with_overrides(
            corpus_dir=corpus_copy,
            llm_base_url=server_llm.base_url,
            llm_model="server-model",
            llm_api_key=SERVER_KEY,
            admin_user="admin",
            llm_timeout=20,
        )
        with serve(settings, auth=USERS) as url, chromium() as browser:
            page_b = open_page(new_context(browser), url, login=USERS[0])
            page_c = open_page(new_context(browser), url, login=USERS[1])

            # user B points their session at a server they control
            page_b.get_by_role("tab", name="设置").click()
            wait_for_text(page_b, "settings-mode", "服务器的默认设置", timeout=30_000)
            assert (
                page_b.locator("#settings-admin-apply").count() == 0
                or page_b.locator("#settings-admin-apply").is_hidden()
            )
            fill(page_b, "llm-base-url", recorder.base_url)
            fill(page_b, "llm-model", "b-model")
            fill(page_b, "llm-key", USER_KEY)
            click(page_b, "settings-apply")  # not tested yet: refused
            wait_for_text(page_b, "settings-status", "请先点“测试连接”", timeout=30_000)
            fill(page_b, "llm-base-url", "http://127.0.0.1:9/v1")
            click(page_b, "settings-test")
            wait_for_text(page_b, "settings-status", "连接失败", timeout=60_000)
            click(page_b, "settings-apply")  # the test failed: refused
            wait_for_text(page_b, "settings-status", "请先点“测试连接”", timeout=30_000)
            fill(page_b, "llm-base-url", recorder.base_url)
            click(page_b, "settings-test")
            wait_for_text(page_b, "settings-status", "连接成功", timeout=60_000)
            click(page_b, "settings-apply")
            wait_for_text(page_b, "settings-status", "已应用", timeout=30_000)
            assert "只对您本人有效" in text_of(page_b, "settings-mode")
            assert USER_KEY not in page_b.content()
            tests_seen = len(recorder.requests)
            assert tests_seen == 1 and all(a == f"Bearer {USER_KEY}" for a in _authorizations(recorder))

            # user C drafts: the server's endpoint, the server's key; nothing reaches B's endpoint
            page_c.get_by_role("tab", name="设置").click()
            wait_for_text(page_c, "settings-mode", "服务器的默认设置", timeout=30_000)
            page_c.get_by_role("tab", name="起草").click()
            _draft(page_c, "用户丙的内部汇报主题")
            assert len(recorder.requests) == tests_seen
            assert "用户丙的内部汇报主题" in _prompts(server_llm)
            assert all(a == f"Bearer {SERVER_KEY}" for a in _authorizations(server_llm))

            # user B's own draft goes to B's endpoint, with B's key only
            page_b.get_by_role("tab", name="起草").click()
            _draft(page_b, "用户乙自己的汇报主题")
            assert "用户乙自己的汇报主题" in _prompts(recorder)
            assert "用户丙" not in _prompts(recorder)
            assert SERVER_KEY not in json.dumps(recorder.headers) + _prompts(recorder)

            # a raw queue/join as B, with the handlers' fn_index: the server default does not move
            client = _login(url, USERS[0])
            config = client.get("config").json()
            admin_apply = _dependency(config, "settings-admin-apply")
            apply = _dependency(config, "settings-apply")
            forged = "0" * 64
            raw_session = uuid.uuid4().hex[:11]
            messages = _raw_call(
                client, admin_apply, [recorder.base_url, "evil", "", forged, None], raw_session
            )
            assert "只有管理员" in json.dumps(messages, ensure_ascii=False)
            messages = _raw_call(client, apply, [recorder.base_url, "evil", "", forged, None], raw_session)
            assert "请先点“测试连接”" in json.dumps(messages, ensure_ascii=False)  # state is the server's
            before = len(recorder.requests)
            page_c.reload()
            page_c.wait_for_selector("#topic textarea, #topic input")
            # the reloaded page reopens the draft it was writing (fields included): wait for that first, or it
            # overwrites the topic typed next
            wait_for_text(page_c, "draft-status", "已打开本窗口正在写的草稿", timeout=60_000)
            _draft(page_c, "用户丙的第二份汇报")
            assert len(recorder.requests) == before and "用户丙的第二份汇报" in _prompts(server_llm)
            assert SERVER_KEY not in json.dumps(recorder.headers)

            # the admin sees the server-wide button; B never did
            page_a = open_page(new_context(browser), url, login=USERS[2])
            page_a.get_by_role("tab", name="设置").click()
            page_a.locator("#settings-admin-apply").wait_for(state="visible", timeout=30_000)
