"""Every supported office format read back from a file the test makes: .docx with tracked changes, content
controls, fields, smart tags, text boxes, tables, header, footer and footnote; .pdf, .doc and .wps made by
LibreOffice from a .docx; a scanned PDF, an encrypted PDF and a corrupt .doc refused with one Chinese line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from office_files import (
    ENCRYPTED_PDF_FILTER,
    RICH_ABSENT,
    RICH_EXPECTED,
    convert,
    plain_docx,
    rich_docx,
)

from assistant.errors import InputError
from assistant.index import loaders, office
from assistant.settings import PROJECT_ROOT

SEED = PROJECT_ROOT / "corpus" / "002_fbcf8ade7eff2f0f.txt"
needs_libreoffice = pytest.mark.skipif(
    office.soffice() is None, reason="LibreOffice is installed by setup.sh"
)


def seed_lines() -> list[str]:
    return loaders.load_document(SEED).text.splitlines()


def test_supported_suffixes_are_one_list() -> None:
    assert loaders.SUPPORTED_SUFFIXES == (".txt", ".md", ".docx", ".pdf", ".doc", ".wps")


def test_docx_accepted_text_kept_and_the_rest_dropped(tmp_path: Path) -> None:
    document = loaders.load_document(rich_docx(tmp_path / "富格式.docx"))
    lines = document.text.splitlines()
    assert lines == ["富格式测试文档", *RICH_EXPECTED]
    for absent in RICH_ABSENT:
        assert absent not in document.text, absent


@pytest.fixture(scope="module")
def seed_docx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seed-docx")
    return plain_docx(folder / "述职报告.docx", seed_lines(), title="医保局机关党支部书记述职报告")


@needs_libreoffice
@pytest.mark.parametrize("suffix", [".pdf", ".doc", ".wps"])
def test_round_trip_through_libreoffice(suffix: str, seed_docx: Path, tmp_path: Path) -> None:
    made = convert(seed_docx, ".pdf" if suffix == ".pdf" else ".doc", tmp_path / "made")
    path = made.with_suffix(suffix)
    if made != path:
        shutil.move(made, path)
    document = loaders.load_document(path)
    assert document.encoding == suffix.lstrip(".")
    assert document.title == "医保局机关党支部书记述职报告"
    assert document.text.splitlines() == ["医保局机关党支部书记述职报告", *seed_lines()]


@needs_libreoffice
def test_pdf_table_rows_and_page_numbers(tmp_path: Path) -> None:
    import docx

    word = docx.Document()
    word.add_paragraph("关于机关党员队伍情况的调研报告")
    for n in range(60):  # long enough for three pages, each with a page number in its footer
        word.add_paragraph(f"第{n + 1}段。党支部坚持把政治建设摆在首位，认真落实“三会一课”制度。")
    table = word.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "支部", (0, 1): "党员人数", (1, 0): "第一支部", (1, 1): "12"}.items():
        table.cell(r, c).text = text
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    footer = word.sections[0].footer.paragraphs[0]
    run = footer.add_run()
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, None), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text:
            el = OxmlElement("w:instrText")
            el.text = text
            run._r.append(el)
    source = tmp_path / "表格.docx"
    word.save(str(source))
    lines = loaders.load_document(convert(source, ".pdf", tmp_path)).text.splitlines()
    assert lines[-2:] == ["支部　党员人数", "第一支部　12"]
    assert len(lines) == 63 and all(line.startswith("第") for line in lines[1:61])


@needs_libreoffice
def test_encrypted_pdf_is_refused(seed_docx: Path, tmp_path: Path) -> None:
    path = convert(seed_docx, ".pdf", tmp_path, ENCRYPTED_PDF_FILTER)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    assert str(err.value).count("\n") == 0
    assert path.name in str(err.value) and "设有打开密码" in str(err.value)


def test_scanned_pdf_is_refused(tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1240, 1754), "white")  # an A4 page at 150 dpi, with "print" on it
    ImageDraw.Draw(image).rectangle((150, 200, 1090, 260), fill="black")
    path = tmp_path / "扫描件.pdf"
    image.save(path)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    message = str(err.value)
    assert "扫描件.pdf" in message and "没有可提取的文字层" in message and "OCR" in message


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("损坏.doc", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504), "已损坏、加密或不是 Word/WPS 文档"),
        ("截断.wps", bytes.fromhex("d0cf11e0a1b11ae1") + b"\x3e\x00\x03\x00" * 100, "乱码"),
        ("文本.doc", "这是一段文字，不是 Word 文件。".encode(), "已损坏、加密或不是 Word/WPS 文档"),
        ("图片.doc", b"\x89PNG\r\n\x1a\n" + bytes(100), "这其实是PNG 图片"),
        ("坏.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>\ntrailer<<>>\n", "PDF 文件已损坏"),
    ],
)
def test_corrupt_files_get_one_chinese_line(name: str, data: bytes, expected: str, tmp_path: Path) -> None:
    if name.endswith((".doc", ".wps")) and data.startswith(b"\xd0") and office.soffice() is None:
        pytest.skip("LibreOffice is installed by setup.sh")
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    message = str(err.value)
    assert "\n" not in message and name in message and expected in message, message


def test_docx_saved_as_wps_is_read_as_docx(tmp_path: Path) -> None:
    path = plain_docx(tmp_path / "另存.wps", ["根据安排，现将本人履职情况报告如下：", "一、履职情况"])
    document = loaders.load_document(path)
    assert document.text.splitlines() == ["根据安排，现将本人履职情况报告如下：", "一、履职情况"]
