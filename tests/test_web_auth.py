"""The shared web server with a login: nothing but the login page answers a visitor who has not logged in
(checked with raw HTTP, route by route), password guessing is slowed down per address and per user with a
Chinese message, and exported drafts do not outlive the server."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from browser import serve

from assistant.settings import Settings
from assistant.ui import auth, exports

USER, PASSWORD = "writer", "s3cret-pass"

# every kind of route Gradio serves besides the login page: API schemas, config, the heartbeat stream, files,
# uploads, the queue, session info, monitoring
CLOSED = [
    ("GET", "openapi.json"),
    ("GET", "docs"),
    ("GET", "config"),
    ("GET", "manifest.json"),
    ("GET", "gradio_api/openapi.json"),
    ("GET", "gradio_api/info"),
    ("GET", "gradio_api/heartbeat/abcdef"),
    ("GET", "gradio_api/file=/etc/hostname"),
    ("GET", "gradio_api/file/etc/hostname"),
    ("GET", "gradio_api/queue/data?session_hash=abcdef"),
    ("GET", "gradio_api/upload_progress?upload_id=abcdef"),
    ("GET", "gradio_api/user"),
    ("GET", "gradio_api/theme.css"),
    ("GET", "gradio_api/login_check"),
    ("GET", "monitoring"),
    ("GET", "logout"),
    ("POST", "gradio_api/queue/join"),
    ("POST", "gradio_api/upload"),
    ("POST", "gradio_api/call/draft"),
    ("POST", "gradio_api/run/predict"),
]


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    return settings.with_overrides(auth_user=USER, auth_password=PASSWORD)


def _get(client: httpx.Client, method: str, url: str) -> httpx.Response:
    with client.stream(method, url, timeout=5) as response:  # a stream that opened would hang a read
        response.read() if response.status_code != 200 else None
        return response


def test_only_the_login_page_answers_without_a_login(guarded: Settings) -> None:
    with serve(guarded) as url, httpx.Client() as client:
        for method, path in CLOSED:
            response = _get(client, method, url + path)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["detail"] == auth.LOGIN_REQUIRED, (path, response.text)
        page = client.get(url, timeout=10)
        assert page.status_code == 200 and '"auth_required":true' in page.text.replace(" ", "")
        asset = next(part.split('"')[0] for part in page.text.split('src="./')[1:] if "assets/" in part)
        assert client.get(url + asset, timeout=10).status_code == 200  # the login page's own scripts
        assert client.get(url + "theme.css", timeout=10).status_code == 200
        login = client.post(url + "login", data={"username": USER, "password": PASSWORD}, timeout=10)
        assert login.status_code == 200
        for path in ("config", "gradio_api/info", "gradio_api/openapi.json"):  # the same routes, logged in
            assert client.get(url + path, timeout=10).status_code == 200, path


def test_guessing_passwords_is_slowed_down_with_a_chinese_message(guarded: Settings) -> None:
    with serve(guarded) as url, httpx.Client() as client:
        statuses = [
            client.post(
                url + "login", data={"username": USER, "password": f"guess{n}"}, timeout=10
            ).status_code
            for n in range(auth.FREE_FAILURES)
        ]
        assert statuses == [400] * auth.FREE_FAILURES
        refused = client.post(url + "login", data={"username": USER, "password": PASSWORD}, timeout=10)
        assert refused.status_code == 429  # even the right password waits: the check is not even made
        assert "登录失败次数过多" in refused.json()["detail"] and "秒后再试" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1
        time.sleep(int(refused.headers["retry-after"]) + 0.2)
        assert (
            client.post(url + "login", data={"username": USER, "password": PASSWORD}, timeout=10).status_code
            == 200
        )
        # a success clears the count: the next mistake is a plain failure again
        again = client.post(url + "login", data={"username": USER, "password": "wrong"}, timeout=10)
        assert again.status_code == 400


def test_the_delay_grows_with_each_failure_per_address_and_per_user() -> None:
    now = [0.0]
    throttle = auth.Throttle(clock=lambda: now[0])
    here, there = "address:10.0.0.1", "address:10.0.0.2"
    for _ in range(auth.FREE_FAILURES):
        assert throttle.wait([here, "user:writer"]) == 0
        throttle.failed([here, "user:writer"])
    delays = []
    for _ in range(5):
        delays.append(throttle.wait([here, "user:writer"]))
        now[0] += delays[-1]
        throttle.failed([here, "user:writer"])
    assert delays == [1, 2, 4, 8, 16]
    assert throttle.wait([there, "user:writer"]) == 32  # another address, same user: still waits
    assert throttle.wait([here, "user:other"]) == 32  # same address, another user: still waits
    assert throttle.wait([there, "user:other"]) == 0
    for _ in range(30):
        now[0] += auth.MAX_DELAY
        throttle.failed([there])
    assert throttle.wait([there]) == auth.MAX_DELAY
    throttle.succeeded([here, "user:writer"])
    assert throttle.wait([here, "user:writer"]) == 0
    now[0] += auth.FORGET_AFTER + auth.MAX_DELAY + 1
    assert throttle.wait([there]) == 0  # a count left alone long enough starts again


# ---- exported drafts ----------------------------------------------------------------------------------


def test_exported_drafts_are_removed_when_the_app_stops_and_stale_ones_at_start(
    hs_draft, settings: Settings
) -> None:
    from assistant.ui.workbench import export_files

    stale = exports.root() / "99999999-20200101000000" / "old"  # a server process that no longer runs
    legacy = exports.root() / "0123456789abcdef0123456789abcdef"  # the layout before process folders
    alive = exports.root() / f"{os.getppid()}-20200101000000" / "busy"  # another server, still running
    for folder in (stale, legacy, alive):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "草稿.docx").write_bytes(b"PK")
    try:
        with serve(settings):
            assert not stale.exists() and not legacy.exists() and alive.exists()
            docx_path, md_path = export_files(hs_draft)
            assert Path(docx_path).is_file() and Path(md_path).is_file()
            assert Path(docx_path).is_relative_to(exports.process_folder())
        assert not Path(docx_path).exists() and not exports.process_folder().exists()
    finally:
        shutil.rmtree(alive.parent, ignore_errors=True)


@pytest.fixture
def hs_draft(_hash_index: Path, tmp_path: Path):
    from assistant.draft import pipeline as drafting
    from assistant.records import DraftRequest

    index = tmp_path / "hash-index"
    shutil.copytree(_hash_index, index)
    settings = Settings(index_dir=index, embedder="hashing")
    return drafting.write_draft(
        DraftRequest("duty-report", "抓基层党建工作述职", points=["理论学习"]), settings
    )


@pytest.mark.browser
def test_a_downloaded_draft_leaves_nothing_behind_when_the_app_stops(
    _hash_index: Path, tmp_path: Path
) -> None:
    """The whole path a writer takes: draft in the page, download the .docx; once the server stops, neither
    the export folder nor Gradio's cached copy of the file is left on the machine."""
    from browser import browser_page, choose, click, fill, wait_for_text

    index = tmp_path / "index"
    shutil.copytree(_hash_index, index)
    settings = Settings(index_dir=index, embedder="hashing")
    with serve(settings) as url, browser_page(url) as page:
        choose(page, "doc-type", "述职报告")
        fill(page, "topic", "抓基层党建工作述职")
        click(page, "draft-btn")
        wait_for_text(page, "draft-status", "草稿已完成")
        with page.expect_download() as download:
            click(page, "dl-docx")
        served = download.value.url.split("file=", 1)[-1]
        cached = Path(unquote(httpx.URL(served).path if "://" in served else served))
        assert cached.name.endswith(".docx") and cached.is_file(), cached
        assert any(exports.process_folder().rglob("*.docx"))
    assert not cached.exists(), f"Gradio's copy {cached} outlived the server"
    assert not exports.process_folder().exists()
