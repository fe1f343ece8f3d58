"""Playwright helpers for the web UI tests: start the app in-process on a free port, launch Debian's
Chromium (never a downloaded browser) with networking pinned to 127.0.0.1, and drive Gradio components by
their ``elem_id``."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

SCREENSHOTS = (
    Path(__file__).parent / "screenshots" / "run"
)  # not committed; scripts/ui_screenshots.py makes the committed ones
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(settings, **overrides) -> Iterator[str]:
    """Build and launch the app for ``settings`` on a free local port (``overrides`` go to ``launch``, e.g.
    ``auth=[(user, password), …]``); yield its URL; close it after."""
    from assistant.ui.app import build_app, launch

    app = build_app(settings)
    options = {"server_port": free_port(), "prevent_thread_lock": True, "quiet": True} | overrides
    _, url, _ = launch(app, settings, **options)
    try:
        yield url
    finally:
        app.close()


@contextlib.contextmanager
def browser_page(url: str, **context_args) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1500, "height": 1000},
                locale="zh-CN",
                accept_downloads=True,
                **context_args,
            )
            page = context.new_page()
            page.goto(url)
            page.wait_for_selector("#topic textarea, #topic input", timeout=30_000)
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Debian Chromium (for tests that open several contexts or restart the browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(context, url: str, login: tuple[str, str] | None = None):
    """A new page of ``context`` on the app, logged in first when ``login`` is given; waits for the form."""
    if login:
        response = context.request.post(f"{url}login", form={"username": login[0], "password": login[1]})
        assert response.ok, response.status
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#topic textarea, #topic input", timeout=30_000)
    return page


def new_context(browser, width: int = 1440, height: int = 900, **extra):
    return browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True, **extra
    )


def fill(page, elem_id: str, text: str) -> None:
    page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(text)


def choose(page, elem_id: str, option: str) -> None:
    """Pick ``option`` (its visible text, or a part of it) in the dropdown ``elem_id``."""
    page.locator(f"#{elem_id} input").first.click()
    page.locator("[role=option]", has_text=option).first.click()


def click(page, elem_id: str) -> None:
    page.locator(f"#{elem_id}").first.click()


def text_of(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").first.inner_text()


def wait_for_text(page, elem_id: str, text: str, timeout: float = 120_000) -> None:
    page.locator(f"#{elem_id}", has_text=text).first.wait_for(timeout=timeout)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
