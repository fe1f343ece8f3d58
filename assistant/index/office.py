"""Reading office files: .docx (its XML, read directly), .doc/.wps (LibreOffice converts them to .docx), and
.pdf (the text layer, via pdfminer.six).

A .docx is read from its package without python-docx, which loads every part of the package into memory
(a 200 MB image took 6 GB): only ``word/document.xml`` and ``word/styles.xml`` are read, each checked
against a size limit *before* it is decompressed (the zip directory states it) and read through a bounded
stream (the directory may lie), the package's part count is checked, media are never opened, and the
paragraph count is checked on the raw XML before it is parsed. The body is walked as a reader sees the
accepted document: tracked insertions kept and deletions dropped (``w:ins``/``w:del``, ``w:moveTo``/
``w:moveFrom``), text inside content controls, fields, smart tags, custom XML and hyperlinks kept, a field's
instruction dropped and its result kept, text boxes read once (not also from their VML fallback), tables as
one line per row, hidden text and placeholder text of empty content controls dropped. Headers, footers,
footnotes and comments live in other parts and never reach the body.

A .doc or .wps (WPS Office's own format; both OLE compound files) is converted by LibreOffice headless into
a temporary folder, with a fresh profile per call (two conversions at once, or a stale lock from a killed
one, never block each other) and a timeout, and the .docx it makes is read as above.

A PDF keeps no paragraphs, only positioned lines: the extracted lines are joined back into paragraphs where a
line runs to the full width of the page's text (a wrapped line) and does not end a heading, and page-number
lines (``— 3 —``, ``第 3 页``) are dropped. A PDF without a text layer (a scan) or with a password is refused
with a message that says so.

Trade-off: reading the XML directly means following the WordprocessingML schema by hand rather than a
library's object model; in exchange the limits hold before anything big is read, and text that python-docx
skips (insertions, content controls, text boxes) is kept.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

# Limits. A 公文's document.xml is well under 2 MB and a few hundred paragraphs; a 合集 of thirty reports a few
# thousand. Anything far beyond is not a corpus document, and is refused before it can exhaust memory or time.
MAX_PACKAGE_PARTS = 2_000
MAX_XML_BYTES = 40 * 1024 * 1024  # document.xml, uncompressed
MAX_STYLES_BYTES = 8 * 1024 * 1024
MAX_PARAGRAPHS = 30_000
MAX_PDF_PAGES = 300
CONVERT_TIMEOUT = 120  # seconds for LibreOffice to convert one .doc/.wps

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_W = f"{{{W}}}"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
# A 公文 heading number at the start of a line: 一、 （一） (一) 1. 1、 1． （1） (1)
NUMBERED = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[.．、](?!\d))"
)

DOCX_BROKEN = "无法读取 Word 文件 {name}：文件已损坏或加密，请用 Word 另存为 .docx 后重试。"
DOCX_ENCRYPTED = (
    "无法读取 Word 文件 {name}：文件设有打开密码（已加密）。"
    "请在 Word 中打开，于“文件 → 信息 → 保护文档”中删除密码并保存后，再重新导入。"
)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"),
    (b"%PDF", "PDF 文件"),
    (b"Rar!", "RAR 压缩包"),
)
_OLE = b"\xd0\xcf\x11\xe0"


def _fail(path: Path, why: str) -> InputError:
    return InputError(f"文件 {path.name} 无法导入：{why}")


# --- .docx -------------------------------------------------------------------------------------------------


def _not_a_docx(path: Path) -> InputError:
    """Why a .docx that is not a zip package cannot be read: encrypted, an image or PDF renamed, or broken."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError:
        head = b""
    # An encrypted OOXML file is an OLE compound file holding an "EncryptedPackage" stream (UTF-16 name).
    if head.startswith(_OLE) and "EncryptedPackage".encode("utf-16-le") in head:
        return InputError(DOCX_ENCRYPTED.format(name=path.name))
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return _fail(path, f"这其实是{what}，只是扩展名为 .docx。请导入 .txt、.md 或 .docx 文件。")
    return InputError(DOCX_BROKEN.format(name=path.name))


def _read_part(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes | None:
    """One part of the package, refused when it is (or turns out to be) larger than ``limit``."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    too_big = _fail(
        path,
        f"文件内部的 {name} 解压后超过 {limit // 1024 // 1024} MB，不像一篇公文（可能是异常或恶意构造的文件）。"
        "请用 Word 打开后只保留正文另存为 .docx 再导入。",
    )
    if info.file_size > limit:
        raise too_big
    with archive.open(info) as fh:  # the directory may understate the size: read at most limit + 1
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise too_big
    return data


def _main_part(archive: zipfile.ZipFile) -> str:
    """The main document part's name (``word/document.xml`` unless the package relationships say other)."""
    try:
        rels = archive.read("_rels/.rels") if archive.getinfo("_rels/.rels").file_size < 1 << 20 else b""
    except KeyError:
        rels = b""
    match = re.search(rb'Target="/?([^"]+)"[^>]*?Type="[^"]*/officeDocument"', rels) or re.search(
        rb'Type="[^"]*/officeDocument"[^>]*?Target="/?([^"]+)"', rels
    )
    return match.group(1).decode("utf-8", "replace") if match else "word/document.xml"


def _xml(data: bytes, path: Path):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(DOCX_BROKEN.format(name=path.name)) from exc


def _style_names(archive: zipfile.ZipFile, styles_part: str, path: Path) -> dict[str, str]:
    data = _read_part(archive, styles_part, MAX_STYLES_BYTES, path)
    if not data:
        return {}
    root = _xml(data, path)
    names = {}
    for style in root.iter(f"{_W}style"):
        sid = style.get(f"{_W}styleId")
        name = style.find(f"{_W}name")
        if sid and name is not None:
            names[sid] = name.get(f"{_W}val", "")
    return names


# elements whose text a reader of the accepted document does not see
_SKIP = {f"{_W}{n}" for n in ("del", "moveFrom", "instrText", "delText", "delInstrText", "rPr", "pPr")}
_SKIP |= {f"{{{MC}}}Fallback", f"{_W}footnoteReference", f"{_W}endnoteReference", f"{_W}commentReference"}
_SKIP.add(f"{_W}sectPr")


def _is_hidden(run) -> bool:
    props = run.find(f"{_W}rPr")
    if props is None:
        return False
    vanish = props.find(f"{_W}vanish")
    return vanish is not None and vanish.get(f"{_W}val", "true") not in ("0", "false", "off")


class _Walker:
    """Text lines of a document body, in reading order."""

    def __init__(self, styles: dict[str, str]) -> None:
        self.styles = styles
        self.lines: list[str] = []
        self.title = ""

    def body(self, element) -> None:
        for child in element:
            tag = child.tag
            if tag == f"{_W}p":
                self.paragraph(child)
            elif tag == f"{_W}tbl":
                self.table(child)
            elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}sdtContent", f"{_W}ins", f"{_W}moveTo"):
                inner = child.find(f"{_W}sdtContent") if tag == f"{_W}sdt" else child
                if inner is not None and not _placeholder(child):
                    self.body(inner)
            elif tag == f"{{{MC}}}AlternateContent":
                choice = child.find(f"{{{MC}}}Choice")
                if choice is not None:
                    self.body(choice)

    def _runs_text(self, element, boxes: list) -> list[str]:
        out: list[str] = []
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag == f"{_W}t":
                out.append(child.text or "")
            elif tag in (f"{_W}tab", f"{_W}ptab"):
                out.append(" ")
            elif tag in (f"{_W}br", f"{_W}cr"):
                out.append("\n")
            elif tag == f"{_W}noBreakHyphen":
                out.append("-")
            elif tag == f"{_W}txbxContent":
                boxes.append(child)
            elif (tag == f"{_W}r" and _is_hidden(child)) or (tag == f"{_W}sdt" and _placeholder(child)):
                continue
            else:  # runs, hyperlinks, insertions, fields, smart tags, content controls, drawings …
                out.extend(self._runs_text(child, boxes))
        return out

    def paragraph(self, element) -> None:
        boxes: list = []
        text = "".join(self._runs_text(element, boxes)).strip()
        if text:
            style = ""
            props = element.find(f"{_W}pPr")
            if props is not None:
                sid = props.find(f"{_W}pStyle")
                if sid is not None:
                    value = sid.get(f"{_W}val", "")
                    style = self.styles.get(value, value).strip()
            match = _HEADING_STYLE.match(style)
            if style.lower() in _TITLE_STYLES and not self.lines:
                self.title = text
                self.lines.append(text)
            elif match and int(match.group(1)) <= 4 and not NUMBERED.match(text):
                self.lines.append("#" * int(match.group(1)) + " " + " ".join(text.split()))
            else:
                self.lines.extend(part.strip() for part in text.splitlines() if part.strip())
        for box in boxes:  # a text box's paragraphs follow the paragraph that anchors it
            self.body(box)

    def _cell_text(self, cell) -> str:
        inner = _Walker(self.styles)
        inner.body(cell)
        return " ".join(line.lstrip("#").strip() for line in inner.lines)

    def table(self, element) -> None:
        for row in _children(element, "tr"):
            cells: list[str] = []
            for cell in _children(row, "tc"):
                value = self._cell_text(cell)
                if value and value not in cells:  # a merged cell repeats its text
                    cells.append(value)
            if cells:
                self.lines.append("　".join(cells))


def _children(element, name: str):
    """Child elements ``w:{name}`` of ``element``, also those wrapped in content controls or custom XML."""
    for child in element:
        if child.tag == f"{_W}{name}":
            yield child
        elif child.tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}ins", f"{_W}moveTo"):
            inner = child.find(f"{_W}sdtContent") if child.tag == f"{_W}sdt" else child
            if inner is not None:
                yield from _children(inner, name)


def _placeholder(sdt) -> bool:
    """A content control still showing its placeholder (``单击此处输入文字``): nothing was written in it."""
    props = sdt.find(f"{_W}sdtPr")
    return props is not None and props.find(f"{_W}showingPlcHdr") is not None


_PARAGRAPH_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?p[\s/>]")


def docx_lines(path: Path) -> tuple[list[str], str]:
    """The paragraphs (and table rows) of a .docx in reading order, style headings as Markdown heading
    lines; also the text of a leading Title-style paragraph ("" if none). Raises InputError."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise _not_a_docx(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.infolist()) > MAX_PACKAGE_PARTS:
                raise _fail(
                    path,
                    f"文件内部有 {len(archive.infolist())} 个部件，超过 {MAX_PACKAGE_PARTS} 个，不像一篇公文"
                    "（可能是异常或恶意构造的文件）。请用 Word 打开后另存为 .docx 再导入。",
                )
            main = _main_part(archive)
            data = _read_part(archive, main, MAX_XML_BYTES, path)
            if data is None:
                raise InputError(DOCX_BROKEN.format(name=path.name))
            for paragraphs, _ in enumerate(_PARAGRAPH_TAG.finditer(data), 1):  # counted before parsing
                if paragraphs > MAX_PARAGRAPHS:
                    raise _fail(
                        path,
                        f"文件的段落超过单篇范文 {MAX_PARAGRAPHS} 段的上限。请拆分成多个文件，或只保留正文后再导入。",
                    )
            folder = main.rsplit("/", 1)[0] if "/" in main else ""
            styles = _style_names(archive, f"{folder}/styles.xml" if folder else "styles.xml", path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(DOCX_BROKEN.format(name=path.name)) from exc
    root = _xml(data, path)
    body = root.find(f"{_W}body")
    if body is None:
        raise InputError(DOCX_BROKEN.format(name=path.name))
    walker = _Walker(styles)
    walker.body(body)
    return walker.lines, walker.title


# --- .doc / .wps -------------------------------------------------------------------------------------------


def soffice() -> str | None:
    """The LibreOffice program, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(path: Path) -> tuple[list[str], str]:
    """Read a .doc or .wps file through a LibreOffice conversion to .docx. Raises InputError."""
    path = Path(path)
    kind = "WPS 文字" if path.suffix.lower() == ".wps" else "旧版 Word（.doc）"
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):  # a .docx saved under the old suffix (WPS does this)
        return docx_lines(path)
    broken = _fail(
        path,
        f"{kind}文件已损坏、加密或不是 Word/WPS 文档，无法转换。请用 WPS 或 Word 打开后另存为 .docx 再导入。",
    )
    if not head.startswith(_OLE):
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise _fail(path, f"这其实是{what}，只是扩展名为 {path.suffix}。请导入正确的文件。")
        raise broken
    program = soffice()
    if program is None:
        raise _fail(
            path,
            f"读取{kind}文件需要 LibreOffice，本机未安装。请运行 scripts/setup.sh 安装，"
            "或用 WPS/Word 另存为 .docx 后再导入。",
        )
    with tempfile.TemporaryDirectory(prefix="assistant-convert-") as tmp:
        work = Path(tmp)
        source = work / f"input{path.suffix.lower()}"
        shutil.copyfile(path, source)
        profile = work / "profile"
        command = [
            program,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            str(work / "out"),
            str(source),
        ]
        env = dict(os.environ, HOME=str(work))
        process = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout ends soffice.bin, not just the wrapper
        )
        try:
            process.wait(timeout=CONVERT_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise _fail(
                path,
                f"{kind}文件转换超过 {CONVERT_TIMEOUT} 秒仍未完成。请用 WPS 或 Word 另存为 .docx 再导入。",
            ) from exc
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        result = work / "out" / "input.docx"
        if not result.is_file() or result.stat().st_size == 0:
            raise broken
        try:
            return docx_lines(result)
        except InputError as exc:
            raise broken from exc


# --- .pdf --------------------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:[—–\-－]\s*\d{1,4}\s*[—–\-－]|第\s*\d{1,4}\s*页(?:\s*共\s*\d{1,4}\s*页)?|\d{1,4}|\d{1,4}\s*/\s*\d{1,4})$"
)
_ENDS = "。！？：；…!?:;"


@dataclass
class _PdfLine:
    text: str
    left: float
    right: float
    size: float


def _page_lines(page) -> list[_PdfLine]:
    """The page's characters grouped into lines by their vertical centre and read left to right. Positions
    are per character, so a glyph drawn from another font (LibreOffice draws “ ” from a fallback font, in one
    text operation of its own) lands where it is seen, not at the start of the line."""
    from pdfminer.layout import LTChar

    chars = []
    stack = [page]
    while stack:
        node = stack.pop()
        if isinstance(node, LTChar):
            chars.append(node)
        elif hasattr(node, "__iter__"):
            stack.extend(node)
    chars.sort(key=lambda c: -(c.y0 + c.y1) / 2)
    groups: list[tuple[float, list]] = []
    for char in chars:
        middle = (char.y0 + char.y1) / 2
        if groups and abs(groups[-1][0] - middle) <= 0.5 * max(char.height, 1.0):
            groups[-1][1].append(char)
        else:
            groups.append((middle, [char]))
    lines = []
    for _, group in groups:
        group.sort(key=lambda c: c.x0)
        parts: list[str] = []
        for prev, char in zip([None, *group[:-1]], group, strict=True):
            text = char.get_text()
            gap = char.x0 - prev.x1 if prev is not None else 0.0
            if parts and gap > 1.5 * max(char.size, 1.0):  # a column gap (table cells, name and date)
                parts.append("　")
            elif (
                parts and gap > 0.3 * max(char.width, 1.0) and parts[-1][-1:].isascii() and text[:1].isascii()
            ):
                parts.append(" ")
            parts.append(text)
        text = "".join(parts).strip()
        if text:
            size = sorted(c.size for c in group)[len(group) // 2]
            lines.append(_PdfLine(text, group[0].x0, group[-1].x1, size))
    return lines


def _reflow(pages: list[list[_PdfLine]]) -> list[str]:
    """Join the lines a PDF wrapped back into paragraphs: a line that runs to the page's right margin
    continues into the next one unless it ends a sentence or the next line is indented, in another type size
    or opens a heading.
    Page-number lines are dropped."""
    out: list[str] = []
    joining = False
    size = 0.0
    for lines in pages:
        lines = [line for line in lines if not _PAGE_NUMBER.match(line.text)]
        if not lines:
            continue
        left = min(line.left for line in lines)
        right = max(line.right for line in lines)
        for line in lines:
            indented = line.left - left > 1.2 * line.size
            resized = abs(line.size - size) > 0.15 * size  # a title or heading in another size
            if joining and out and not indented and not resized and not NUMBERED.match(line.text):
                out[-1] += line.text
            else:
                out.append(line.text)
            size = line.size
            full = right - line.right < 2.5 * line.size  # line breaking may leave two characters free
            joining = full and not line.text.endswith(tuple(_ENDS))
    return out


def pdf_lines(path: Path) -> list[str]:
    """The text layer of a PDF as paragraph lines. Raises InputError for a scan, a password or damage."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser, PDFSyntaxError
    from pdfminer.psexceptions import PSException

    path = Path(path)
    broken = _fail(path, "PDF 文件已损坏，无法读取。请用 PDF 阅读器打开后另存（或导出为 Word）再导入。")
    encrypted = _fail(
        path,
        "PDF 文件设有打开密码（已加密），无法读取文字。请用 PDF 阅读器输入密码打开后另存为无密码的 PDF，"
        "或导出为 Word 后再导入。",
    )
    pages: list[list[_PdfLine]] = []
    try:
        with open(path, "rb") as fh:
            document = PDFDocument(PDFParser(fh), password="")  # an empty user password opens most PDFs
            manager = PDFResourceManager(caching=True)
            device = PDFPageAggregator(manager, laparams=None)
            interpreter = PDFPageInterpreter(manager, device)
            for number, page in enumerate(PDFPage.create_pages(document), 1):
                if number > MAX_PDF_PAGES:
                    raise _fail(
                        path, f"PDF 超过单篇范文 {MAX_PDF_PAGES} 页的上限。请拆分成多个文件后再导入。"
                    )
                interpreter.process_page(page)
                pages.append(_page_lines(device.get_result()))
    except InputError:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise encrypted from exc
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise broken from exc
    except (OSError, RecursionError, AssertionError) as exc:
        raise broken from exc
    lines = _reflow(pages)
    chinese = sum(1 for line in lines for c in line if "\u4e00" <= c <= "\u9fff")
    if chinese < 20:
        raise _fail(
            path,
            "这个 PDF 没有可提取的文字层（可能是扫描件或图片），无法读取其中的文字。"
            "请先用 OCR 软件（如 WPS 的“图片转文字”）识别后另存为 .docx 或 .txt，再导入。",
        )
    return lines
