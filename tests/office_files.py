"""Office files made by the tests: a .docx with the WordprocessingML constructs Word writes (tracked changes,
content controls, fields, smart tags, text boxes, tables, header, footer, footnote), and conversions of a
.docx to .pdf/.doc/.wps by LibreOffice (a fresh profile per call)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import docx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def plain_docx(path: Path, lines: list[str], title: str | None = None) -> Path:
    word = docx.Document()
    if title:
        word.add_heading(title, level=0)
    for line in lines:
        word.add_paragraph(line)
    word.save(str(path))
    return path


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


# Body paragraphs in the shapes Word writes; each names what a reader of the accepted document sees.
RICH_BODY = "".join(
    [
        # a tracked insertion and a tracked deletion
        f'<w:p>{_r("本人2024年")}<w:ins w:id="1" w:author="a" w:date="2024-01-01T00:00:00Z">{_r("认真")}</w:ins>'
        f'<w:del w:id="2" w:author="a" w:date="2024-01-01T00:00:00Z"><w:r><w:delText>草率</w:delText></w:r></w:del>'
        f"{_r('履行职责。')}</w:p>",
        # a moved paragraph: the text at its new place only
        f'<w:p><w:moveFrom w:id="3" w:author="a">{_r("旧位置的句子。")}</w:moveFrom></w:p>',
        f'<w:p><w:moveTo w:id="4" w:author="a">{_r("新位置的句子。")}</w:moveTo></w:p>',
        # an inline content control, and a block one
        f'<w:p>{_r("所在单位：")}<w:sdt><w:sdtPr><w:alias w:val="单位"/></w:sdtPr>'
        f"<w:sdtContent>{_r('市医保局机关党支部')}</w:sdtContent></w:sdt></w:p>",
        f"<w:sdt><w:sdtPr/><w:sdtContent><w:p>{_r('控件中的整段文字。')}</w:p></w:sdtContent></w:sdt>",
        # a content control still showing its placeholder: nothing was written in it
        "<w:p><w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr>"
        f"<w:sdtContent>{_r('单击或点击此处输入文字。')}</w:sdtContent></w:sdt></w:p>",
        # a simple field and a complex field: the result is kept, the instruction dropped
        f'<w:p>{_r("报告日期：")}<w:fldSimple w:instr=" DATE \\@ &quot;yyyy年M月d日&quot; ">'
        f"{_r('2024年12月20日')}</w:fldSimple></w:p>",
        f'<w:p>{_r("共")}<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> NUMPAGES </w:instrText></w:r>'
        f'<w:r><w:fldChar w:fldCharType="separate"/></w:r>{_r("3")}<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        f"{_r('页。')}</w:p>",
        # a smart tag and a hyperlink
        f'<w:p><w:smartTag w:uri="urn:schemas-microsoft-com:office:smarttags" w:element="place">'
        f'{_r("河北省石家庄市")}</w:smartTag>{_r("的")}<w:hyperlink w:anchor="x">{_r("医保服务站")}</w:hyperlink>'
        f"{_r('建成运行。')}</w:p>",
        # hidden text
        f"<w:p>{_r('可见文字。')}<w:r><w:rPr><w:vanish/></w:rPr><w:t>隐藏文字。</w:t></w:r></w:p>",
        # a footnote reference: the footnote's text lives in footnotes.xml, not in the body
        f'<w:p>{_r("正文句子")}<w:r><w:footnoteReference w:id="1"/></w:r>{_r("。")}</w:p>',
        # a text box, written as Word does: the DrawingML box and its VML fallback hold the same text
        '<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
        "<wps:wsp><wps:txbx><w:txbxContent>"
        f"<w:p>{_r('文本框里的文字。')}</w:p>"
        "</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>"
        "<mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent>"
        f"<w:p>{_r('文本框里的文字。')}</w:p>"
        "</w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>",
        # a table: one text line per row, merged cells once
        "<w:tbl><w:tr><w:tc><w:p>"
        + _r("支部")
        + "</w:p></w:tc><w:tc><w:p>"
        + _r("党员人数")
        + "</w:p></w:tc></w:tr>"
        "<w:tr><w:tc><w:p>"
        + _r("第一支部")
        + "</w:p></w:tc><w:tc><w:p>"
        + _r("12")
        + "</w:p></w:tc></w:tr></w:tbl>",
    ]
)
RICH_EXPECTED = [
    "本人2024年认真履行职责。",
    "新位置的句子。",
    "所在单位：市医保局机关党支部",
    "控件中的整段文字。",
    "报告日期：2024年12月20日",
    "共3页。",
    "河北省石家庄市的医保服务站建成运行。",
    "可见文字。",
    "正文句子。",
    "文本框里的文字。",
    "支部　党员人数",
    "第一支部　12",
]
RICH_ABSENT = ["草率", "旧位置", "单击或点击", "NUMPAGES", "隐藏文字", "页眉文字", "页脚文字", "脚注文字"]

_NAMESPACES = (
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml" '
)
_FOOTNOTES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W_NS}">'
    '<w:footnote w:id="1"><w:p><w:r><w:t>脚注文字。</w:t></w:r></w:p></w:footnote></w:footnotes>'
)


def rich_docx(path: Path, title: str = "富格式测试文档", lines: list[str] | tuple[str, ...] = ()) -> Path:
    """A .docx whose body holds ``title``, then ``lines`` (a real document's paragraphs, if given), then
    ``RICH_BODY``, with a header, a footer and a footnote."""
    word = docx.Document()
    word.add_paragraph(title)
    for line in lines:
        word.add_paragraph(line)
    section = word.sections[0]
    section.header.paragraphs[0].text = "页眉文字"
    section.footer.paragraphs[0].text = "页脚文字"
    plain = path.with_suffix(".plain.docx")
    word.save(str(plain))
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                head = text[: text.index(">", text.index("<w:document"))]
                missing = " ".join(ns for ns in _NAMESPACES.split() if ns.split("=")[0] not in head)
                text = text.replace("<w:document ", f"<w:document {missing} ", 1)
                at = text.index("<w:sectPr")
                text = text[:at] + RICH_BODY + text[at:]
                data = text.encode("utf-8")
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdFn1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/footnotes" Target="footnotes.xml"/></Relationships>',
                )
            elif item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/word/footnotes.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/></Types>',
                )
            out.writestr(item, data)
        out.writestr("word/footnotes.xml", _FOOTNOTES)
    plain.unlink()
    return path


def convert(source: Path, target_suffix: str, folder: Path, filter_name: str | None = None) -> Path:
    """``source`` converted by LibreOffice to ``target_suffix`` (``.pdf``, ``.doc``), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    fmt = target_suffix.lstrip(".") + (f":{filter_name}" if filter_name else "")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                shutil.which("soffice") or "soffice",
                f"-env:UserInstallation={Path(profile).as_uri()}",
                "--headless",
                "--convert-to",
                fmt,
                "--outdir",
                str(folder),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    out = folder / (source.stem + target_suffix)
    assert out.is_file(), f"LibreOffice made no {target_suffix} from {source}"
    return out


ENCRYPTED_PDF_FILTER = (
    'writer_pdf_Export:{"EncryptFile":{"type":"boolean","value":"true"},'
    '"DocumentOpenPassword":{"type":"string","value":"mima123"}}'
)
