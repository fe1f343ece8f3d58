"""Export a draft as Markdown (for review, with source marks) or as a Word file laid out after GB/T 9704-2012.

The Word file is meant to be the writer's starting document, so it follows what offices actually use: A4,
margins 37/35/28/26 mm, 2号 方正小标宋简体 title, 3号 仿宋_GB2312 body with a 2-character first-line indent
and a fixed 28 pt line pitch (22 lines a page), 黑体 / 楷体_GB2312 / 仿宋 for heading levels 1 / 2 / 3–4,
``— N —`` page numbers in 4号 宋体 (odd pages right, even pages left). The fonts are named, not embedded:
on a machine without them Word substitutes, which is the usual practice for 公文 templates. The Word file is
ready to send, so the numbered source list is an option (``sources_appendix``, default off): when asked for it
goes after the body on a page of its own headed "附：起草参考来源（正式发文前删除）". The Markdown always
keeps it (it is the review copy); Word comments would travel with the file and are easy to miss when sending.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..content.injection import strip_controls
from ..errors import InputError
from ..records import Draft, DraftParagraph

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
H1_FONT = "黑体"
H2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"
TITLE_PT = 22
BODY_PT = 16
PAGE_NUMBER_PT = 14
LINE_PT = 28
SOURCES_HEADING = "附：起草参考来源（正式发文前删除）"
_RUN_IN_RE = re.compile(r"^([（(][一二三四五六七八九十]+[）)][^。！？]*[。！？])(.*)$", re.S)


# ---------------------------------------------------------------------------------------------- Markdown
def _marks(paragraph: DraftParagraph) -> str:
    return "".join(f"[{n}]" for n in paragraph.sources)


def to_markdown(draft: Draft) -> str:
    """Title, subtitle, headings (``##`` for level 1), paragraphs with ``[n]`` marks, and the source list."""
    lines = [f"# {draft.title}", ""]
    if draft.subtitle:
        lines += [draft.subtitle, ""]
    for section in draft.sections:
        for p in section.paragraphs:
            if p.kind == "heading" and p.level == 1:
                lines += [f"## {p.text}", ""]
            else:
                lines += [p.text + _marks(p), ""]
    if draft.sources:
        lines += ["---", "", f"## {SOURCES_HEADING}", ""]
        for s in draft.sources:
            where = f" {s.heading_path}" if s.heading_path else ""
            lines.append(f"{s.number}. 《{s.title}》{where}")
        lines.append("")
    return strip_controls("\n".join(lines))  # a title from an old index may still carry ANSI or NUL


def sources_text(draft: Draft) -> str:
    """The numbered source list as plain lines (``[1] 《题目》 一、… / （一）…``)."""
    return strip_controls(
        "\n".join(
            f"[{s.number}] 《{s.title}》" + (f" {s.heading_path}" if s.heading_path else "")
            for s in draft.sources
        )
    )


# -------------------------------------------------------------------------------------------------- Word
def _set_font(run, east_asian: str, size_pt: float, bold: bool = False) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.name = LATIN_FONT
    run.font.size = Pt(size_pt)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)


def _format(paragraph, indent: bool = True, align=None) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.oxml.ns import qn
    from docx.shared import Pt

    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PT)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Pt(BODY_PT * 2)
        ind = paragraph._p.get_or_add_pPr().find(qn("w:ind"))
        if ind is not None:
            ind.set(qn("w:firstLineChars"), "200")  # 2 characters, whatever the font size


def _add(
    doc, text: str, font: str, size: float = BODY_PT, indent: bool = True, align=None, bold: bool = False
):
    paragraph = doc.add_paragraph()
    _format(paragraph, indent, align)
    text = strip_controls(text)  # XML cannot hold C0 controls: one in a topic or a title broke the export
    if text:
        _set_font(paragraph.add_run(text), font, size, bold)
    return paragraph


def _page_number_footer(footer, align) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = Pt(PAGE_NUMBER_PT)  # one character in from the edge
    _set_font(paragraph.add_run("— "), PAGE_NUMBER_FONT, PAGE_NUMBER_PT)
    run = paragraph.add_run()
    _set_font(run, PAGE_NUMBER_FONT, PAGE_NUMBER_PT)
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)
    _set_font(paragraph.add_run(" —"), PAGE_NUMBER_FONT, PAGE_NUMBER_PT)


def _setup(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(23)
    normal = doc.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(BODY_PT)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number_footer(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number_footer(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)


def build_docx(draft: Draft, sources_appendix: bool = False):
    """The draft as a python-docx ``Document``; ``sources_appendix`` adds the numbered source list on a page
    of its own after the body."""
    from docx import Document as WordDocument
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK

    doc = WordDocument()
    _setup(doc)
    _add(doc, draft.title, TITLE_FONT, TITLE_PT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    if draft.subtitle:
        _add(doc, draft.subtitle, H2_FONT, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    _add(doc, "", BODY_FONT, indent=False)  # one blank line below the title block
    for section in draft.sections:
        for p in section.paragraphs:
            if p.kind == "salutation":
                _add(doc, p.text, BODY_FONT, indent=False)
            elif p.kind == "heading" and p.level == 1:
                _add(doc, p.text, H1_FONT)
            elif p.kind == "heading" and p.level == 2:
                match = _RUN_IN_RE.match(p.text)
                paragraph = _add(doc, match.group(1) if match else p.text, H2_FONT)
                if match and match.group(2):
                    _set_font(paragraph.add_run(strip_controls(match.group(2))), BODY_FONT, BODY_PT)
            else:
                _add(doc, p.text, BODY_FONT)
    if draft.sources and sources_appendix:
        doc.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
        _add(doc, SOURCES_HEADING, H1_FONT, indent=False)
        for s in draft.sources:
            where = f" {s.heading_path}" if s.heading_path else ""
            _add(doc, f"[{s.number}] 《{s.title}》{where}", BODY_FONT, indent=False)
    return doc


def write_docx(draft: Draft, path: Path, sources_appendix: bool = False) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        build_docx(draft, sources_appendix).save(str(path))
    except OSError as exc:
        raise InputError(f"无法写入 {path}：{exc.strerror or exc}。请检查路径和写入权限。") from exc
    return path


def save(draft: Draft, path: Path, sources_appendix: bool = False) -> Path:
    """Write ``draft`` by the file's suffix: ``.docx`` (Word; the source list only with
    ``sources_appendix``) or ``.md`` (Markdown, always with the source list)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return write_docx(draft, path, sources_appendix)
    if suffix in (".md", ".markdown", ".txt"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            text = (
                to_markdown(draft)
                if suffix != ".txt"
                else strip_controls(draft.text) + "\n\n" + sources_text(draft) + "\n"
            )
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"无法写入 {path}：{exc.strerror or exc}。请检查路径和写入权限。") from exc
        return path
    raise InputError(f"不支持的输出格式“{path.suffix or path.name}”：请用 .docx 或 .md 结尾的文件名。")
