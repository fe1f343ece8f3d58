"""Reading corpus files (.txt, .md, .docx) into cleaned ``Document`` records, and ``corpus/catalog.yaml``.

Encodings are detected, not assumed, by strict decode attempts in a fixed order: a byte-order mark
(UTF-8/UTF-16/UTF-32) decides outright; then strict UTF-8 (which almost never accepts text in another
encoding); then GBK and GB18030. GB18030 maps nearly every byte sequence to *some* character, so a
successful decode proves little: the result must also look like Chinese text (most non-ASCII characters in
the common GB2312 set or CJK punctuation, no control characters). Statistical detectors such as
charset-normalizer are not used: on short Chinese texts they guess wrong often enough to corrupt a corpus
silently, whereas this order either decodes correctly or refuses with a message that says what to do.

Cleaning keeps the writer's text as received except for scraping markers (``##paidbegin##``), line
indentation (ASCII and ideographic spaces) and empty lines. Style headings of a .docx file, which carry their
level only in the paragraph style, are written as Markdown heading lines (``## 存在的问题``) unless the text
already begins with a 公文 heading number, so the structure parser sees their level in plain text.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from ..content.injection import strip_controls
from ..errors import InputError
from ..records import Document

TEXT_SUFFIXES = (".txt", ".md")
DOCX_SUFFIX = ".docx"
PDF_SUFFIX = ".pdf"
CONVERTED_SUFFIXES = (".doc", ".wps")  # read through a LibreOffice conversion to .docx
# The one list of what can be imported (the web UI's upload check imports it).
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, DOCX_SUFFIX, PDF_SUFFIX, *CONVERTED_SUFFIXES)
CATALOG_NAME = "catalog.yaml"
# libyaml's loader when PyYAML has it: a 1,000-document catalog takes 0.65 s with the pure-Python one, which
# was half of re-ingesting an unchanged corpus of that size.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RESAVE_HINT = "请用记事本或 WPS 打开后另存为 UTF-8 编码的文本文件再导入。"
# One document of the corpus is the text of one 公文: even a long report with images is a few MB. A file
# above this is refused from its size alone, before anything is read, so a mistaken upload (an archive, a
# scanned PDF renamed, a log) cannot exhaust memory or stall an ingest.
MAX_FILE_BYTES = 20 * 1024 * 1024
# Characters of cleaned text per file. A 公文 is 2,000–20,000 characters and a 合集 of several a few times that;
# every later step is linear, but embedding 200,000 characters already takes over a minute on two cores.
MAX_DOCUMENT_CHARS = 200_000

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"),
    (b"BM", "BMP 图片"),
    (b"%PDF", "PDF 文件"),
    (b"PK\x03\x04", "压缩包或 Office 文件"),
    (b"\xd0\xcf\x11\xe0", "旧版 Office（.doc/.xls）文件"),
    (b"Rar!", "RAR 压缩包"),
)
_MARKER = re.compile(r"##[A-Za-z0-9_-]+##")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A 公文 heading number at the start of a line: 一、 （一） (一) 1. 1、 1． （1） (1)
_NUMBERED = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}[.．、](?!\d))"
)


def _fail(path: Path, why: str) -> InputError:
    return InputError(f"文件 {path.name} 无法导入：{why}")


# --- encodings ---------------------------------------------------------------------------------------------


def _has_controls(text: str) -> bool:
    """More than a stray control character or two (other than tab, newline, form feed): binary data."""
    return len(_CONTROL.findall(text)) > max(2, len(text) // 200)


def _looks_chinese(text: str) -> bool:
    """True when ``text`` reads as Chinese text: no control characters, and most non-ASCII characters common
    Chinese (GB2312) or CJK/full-width punctuation. Mojibake from a wrong decode fails this."""
    if _has_controls(text):
        return False
    foreign = [c for c in text if ord(c) > 0x7F]
    if not foreign:
        return True
    common = 0
    for c in foreign:
        code = ord(c)
        if 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or 0x2010 <= code <= 0x2027:
            common += 1
            continue
        try:
            c.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common / len(foreign) >= 0.6


def decode_bytes(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a text file's bytes; returns (text, encoding name). Raises InputError naming ``path``."""
    if not data:
        raise _fail(path, "文件是空的（0 字节）。请确认选对了文件。")
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise _fail(
                    path, f"文件以 {name} 标记开头，但内容不是有效的 {name} 文本。{RESAVE_HINT}"
                ) from exc
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise _fail(path, f"这是{what}，不是文本文件。请把它改为正确的扩展名，或导入 .txt、.md 文件。")
    if b"\x00" in data:
        # UTF-16 without a byte-order mark has NULs too; accept it only when it decodes to plausible text.
        for name in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                continue
            if _looks_chinese(text):
                return text, name
        raise _fail(path, "这是二进制文件（含空字节），不是文本文件。请导入 .txt、.md 或 .docx 文件。")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if _has_controls(text):
            raise _fail(
                path, "文件含有大量控制字符，像是二进制文件而不是文本。请导入 .txt、.md 或 .docx 文件。"
            )
        return text, "utf-8"
    for name in ("gbk", "gb18030"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if _looks_chinese(text):
            return text, name
        break
    raise _fail(path, f"无法识别文件编码（既不是 UTF-8、UTF-16，也不是 GBK/GB18030 中文文本）。{RESAVE_HINT}")


# --- public API --------------------------------------------------------------------------------------------


def read_text(path: Path) -> tuple[str, str]:
    """The raw text of a supported file and how it was read ("utf-8", "gbk", "utf-16", "docx" …)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _fail(
            path, f"不支持的文件类型“{suffix or '无扩展名'}”，只能导入 {'、'.join(SUPPORTED_SUFFIXES)} 文件。"
        )
    if not path.is_file():
        raise InputError(f"找不到文件：{path}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _fail(
            path,
            f"文件有 {size / 1024 / 1024:.1f} MB，超过单篇范文 {MAX_FILE_BYTES // 1024 // 1024} MB 的上限。"
            "范文应为一篇公文的正文：请删去图片、拆分成多篇或只保留正文后再导入。",
        )
    if suffix in (DOCX_SUFFIX, PDF_SUFFIX, *CONVERTED_SUFFIXES):
        from . import office  # its libraries are loaded only when an office file is read

        if suffix == PDF_SUFFIX:
            text = "\n".join(office.pdf_lines(path))
        else:
            reader = office.docx_lines if suffix == DOCX_SUFFIX else office.convert_to_docx
            text = "\n".join(reader(path)[0])
        if suffix != DOCX_SUFFIX and not _looks_chinese(text):
            # LibreOffice imports an unreadable .doc as plain text; a PDF font without a code table reads as
            # private-use characters: either way the result is mojibake, not the document
            what = "PDF 的文字层" if suffix == PDF_SUFFIX else f"{suffix} 文件"
            raise _fail(
                path,
                f"{what}读出来是乱码（文件已损坏，或使用了无法解码的字体）。"
                "请用 WPS 或 Word 打开后另存为 .docx（PDF 可用 OCR 识别）再导入。",
            )
        return text, suffix.lstrip(".")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(path, f"读取失败（{exc.strerror or exc}）。请检查文件权限。") from exc
    return decode_bytes(data, path)


def clean_text(text: str) -> str:
    """Remove control and format characters, scraping markers, line indentation/trailing spaces (ASCII and
    U+3000) and empty lines."""
    text = _MARKER.sub("", text.replace("\ufeff", ""))
    lines = (strip_controls(line).strip() for line in text.splitlines())  # ANSI, bidi, zero-width, C0/C1
    return "\n".join(line for line in lines if line)


def load_catalog(folder: Path) -> dict[str, dict[str, Any]]:
    """``folder/catalog.yaml`` as {file name: {type, title, source, …}}; {} when there is no catalog."""
    path = Path(folder) / CATALOG_NAME
    if not path.is_file():
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"目录文件 {path} 无法读取：{exc}。请检查其 YAML 格式并保存为 UTF-8。") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"目录文件 {path} 的内容应为“文件名: 说明”的映射。")
    catalog: dict[str, dict[str, Any]] = {}
    for name, entry in data.items():
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise InputError(f"目录文件 {path} 中“{name}”的说明应为映射（type、title、source）。")
        catalog[str(name)] = {str(k): v for k, v in entry.items()}
    return catalog


def doc_id_for(path: Path, root: Path | None = None) -> str:
    """A stable id from the file's path relative to ``root`` (default: its folder), without the suffix."""
    path = Path(path)
    try:
        rel = path.relative_to(root) if root is not None else Path(path.name)
    except ValueError:
        rel = Path(path.name)
    parts = [*rel.parent.parts, rel.stem]
    raw = "__".join(p for p in parts if p not in ("", "."))
    clean = re.sub(r"[^\w.-]+", "_", raw).strip("_.")
    return clean or "document"


def guess_title(text: str, fallback: str) -> str:
    """The first short line that looks like a title (no sentence punctuation, not a heading), else
    ``fallback``."""
    for line in text.splitlines()[:3]:
        line = line.lstrip("#").strip().strip("*").strip()
        if not line or len(line) > 40:
            continue
        if re.search(r"[。！？；：:;，,]$", line) or _NUMBERED.match(line) or re.search(r"[。！？]", line):
            continue
        return line
    return fallback


def file_hash(path: Path, meta: dict[str, Any]) -> str:
    """sha256 of the file's bytes and its metadata: what ``Document.raw_hash`` holds, so ingest can tell an
    unchanged file without reading it."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    digest.update(b"\n" + json.dumps(meta, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    return digest.hexdigest()


def load_document(path: Path, meta: dict[str, Any] | None = None, *, root: Path | None = None) -> Document:
    """Read, decode and clean one file. ``meta`` (type/title/source) defaults to the file's entry in the
    ``catalog.yaml`` beside it. ``root`` is the corpus folder the doc id is relative to (default: the
    file's folder). Bad files raise InputError naming the file."""
    path = Path(path)
    if meta is None:
        meta = load_catalog(path.parent).get(path.name, {})
    meta = dict(meta)
    text, encoding = read_text(path)
    if not text.strip():
        raise _fail(path, "文件里只有空白，没有文字内容。")
    cleaned = clean_text(text)
    if not cleaned:
        raise _fail(path, "去掉标记和空白后没有文字内容。")
    if len(cleaned) > MAX_DOCUMENT_CHARS:
        raise _fail(
            path,
            f"正文有 {len(cleaned) // 10000} 万多字，超过单个文件 {MAX_DOCUMENT_CHARS // 10000} 万字的上限。"
            "范文应为公文的正文：请拆分成多个文件后再导入。",
        )
    title = strip_controls(str(meta.get("title") or "")).strip() or guess_title(cleaned, path.stem)
    doc_type = meta.get("type")
    return Document(
        doc_id=str(meta.get("doc_id") or doc_id_for(path, root)),
        title=title,
        text=cleaned,
        path=str(path),
        doc_type=str(doc_type) if doc_type else None,
        source=str(meta.get("source") or ""),
        encoding=encoding,
        raw_hash=file_hash(path, meta),
    )


def corpus_files(paths: list[Path]) -> list[Path]:
    """Supported files under the given files and folders (recursively), sorted, without duplicates.
    Hidden files/folders, Word lock files (``~$…``) and ``catalog.yaml`` are skipped; a path that does not
    exist, or a named file of an unsupported type, raises InputError."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"找不到文件或文件夹：{path}。请检查路径。")
        if path.is_file():
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                raise _fail(path, f"不支持的文件类型，只能导入 {'、'.join(SUPPORTED_SUFFIXES)} 文件。")
            found.add(path)
            continue
        for child in path.rglob("*"):
            rel = child.relative_to(path)
            if any(part.startswith((".", "~$")) for part in rel.parts):
                continue
            if child.is_file() and child.suffix.lower() in SUPPORTED_SUFFIXES and child.name != CATALOG_NAME:
                found.add(child)
    return sorted(found, key=lambda p: str(p))
