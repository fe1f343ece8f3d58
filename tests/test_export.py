"""Markdown and GB/T 9704 Word export, the .docx read back with python-docx."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document as WordDocument
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from assistant.draft.export import SOURCES_HEADING, save, to_markdown
from assistant.draft.pipeline import write_draft
from assistant.errors import InputError
from assistant.records import DraftRequest
from assistant.settings import Settings
from tests.seed_passages import SeedRetriever


@pytest.fixture
def speech(settings: Settings):
    request = DraftRequest(
        "speech",
        "机关党建",
        unit="局党组书记 张明",
        occasion="全局机关党建工作会议",
        points=["要提高政治站位，压实管党治党责任", "要坚持问题导向，破解工作难点"],
    )
    return write_draft(request, settings, retriever=SeedRetriever())


@pytest.fixture
def report(settings: Settings):
    request = DraftRequest(
        "research-report", "机关党支部建设", points=["加强党支部班子建设", "规范党内组织生活"]
    )
    return write_draft(request, settings, retriever=SeedRetriever())


def east_asian(run) -> str | None:
    fonts = run._element.rPr.rFonts if run._element.rPr is not None else None
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


def test_markdown_has_title_headings_marks_and_the_source_list(report):
    md = to_markdown(report)
    lines = md.splitlines()
    assert lines[0] == "# 关于机关党支部建设的调研报告"
    assert "## 一、基本情况" in lines and "## 四、对策建议" in lines
    cited = [p for s in report.sections for p in s.paragraphs if p.sources]
    first = cited[0]
    assert first.text + "".join(f"[{n}]" for n in first.sources) in lines
    assert f"## {SOURCES_HEADING}" in lines
    assert f"1. 《{report.sources[0].title}》" in md


def test_docx_page_fonts_sizes_spacing_and_page_numbers(speech, report, tmp_path: Path):
    path = save(speech, tmp_path / "讲话.docx")
    doc = WordDocument(str(path))
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)
    for margin, mm in (("top_margin", 37), ("bottom_margin", 35), ("left_margin", 28), ("right_margin", 26)):
        assert abs(getattr(section, margin) - Mm(mm)) < Mm(0.1), margin
    paragraphs = [p for p in doc.paragraphs if p.text.strip()]
    title, speaker, salutation = paragraphs[0], paragraphs[1], paragraphs[2]
    assert title.text == "在全局机关党建工作会议上的讲话" and title.alignment == 1  # centred
    assert east_asian(title.runs[0]) == "方正小标宋简体" and title.runs[0].font.size == Pt(22)
    assert speaker.text == "局党组书记 张明" and east_asian(speaker.runs[0]) == "楷体_GB2312"
    assert salutation.text == "同志们：" and not salutation.paragraph_format.first_line_indent
    body = paragraphs[3]
    assert east_asian(body.runs[0]) == "仿宋_GB2312" and body.runs[0].font.size == Pt(16)
    assert body.paragraph_format.line_spacing == Pt(28) and body.paragraph_format.first_line_indent == Pt(32)
    h1 = next(p for p in paragraphs if p.text.startswith("一、"))
    assert east_asian(h1.runs[0]) == "黑体" and h1.runs[0].font.size == Pt(16)
    # a speech's 意见 carry no （一） of their own offline: the run-in sub-heading is checked in a report
    sub = [p for p in WordDocument(str(save(report, tmp_path / "报告.docx"))).paragraphs if p.text.strip()]
    h2 = next(p for p in sub if p.text.startswith("（一）"))
    assert east_asian(h2.runs[0]) == "楷体_GB2312" and h2.runs[0].text.endswith("。")
    assert len(h2.runs) == 2 and east_asian(h2.runs[1]) == "仿宋_GB2312"  # run-in heading, body in 仿宋
    for p in paragraphs:
        assert all(east_asian(r) for r in p.runs if r.text), p.text
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml and "— " in section.footer.paragraphs[0].text
    assert east_asian(section.footer.paragraphs[0].runs[0]) == "宋体"
    assert section.footer.paragraphs[0].runs[0].font.size == Pt(14)
    assert "PAGE" in section.even_page_footer._element.xml
    # no source list by default: the file is ready to send
    assert SOURCES_HEADING not in [p.text for p in doc.paragraphs]
    # asked for, the source list goes on its own page after the body
    doc = WordDocument(str(save(speech, tmp_path / "讲话-附来源.docx", sources_appendix=True)))
    heading = next(i for i, p in enumerate(doc.paragraphs) if p.text == SOURCES_HEADING)
    assert 'w:type="page"' in doc.paragraphs[heading - 1]._p.xml
    assert doc.paragraphs[heading + 1].text.startswith("[1] 《")


def test_markdown_save_and_unknown_suffix(report, tmp_path: Path):
    path = save(report, tmp_path / "out" / "draft.md")
    assert path.read_text(encoding="utf-8") == to_markdown(report)
    with pytest.raises(InputError, match=r"\.docx 或 \.md"):
        save(report, tmp_path / "draft.pdf")
