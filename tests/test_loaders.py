"""Loading corpus files: encodings detected, bad files refused with a Chinese message naming the file,
cleaning, the catalog, doc ids and hashes, Word files with and without heading styles."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from conftest import SEEDS

from assistant.errors import InputError
from assistant.index import loaders, structure
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"
SEED = CORPUS / "002_fbcf8ade7eff2f0f.txt"


def seed_text() -> str:
    return loaders.load_document(SEED).text


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),  # Python writes a byte-order mark
        ("utf-16-le", "utf-16-le"),  # no byte-order mark: recognised from the text itself
        ("gbk", "gbk"),
        ("gb18030", "gbk"),  # GBK is a subset: a text with only GBK characters reads as GBK
    ],
)
def test_encodings_round_trip(tmp_path: Path, encoding: str, expected: str) -> None:
    path = tmp_path / "seed.txt"
    path.write_text(seed_text(), encoding=encoding)
    document = loaders.load_document(path)
    assert document.encoding == expected
    assert document.text == seed_text()


def test_gb18030_only_characters(tmp_path: Path) -> None:
    text = seed_text() + "\n附：𠮷字在四字节区。"
    path = tmp_path / "seed.txt"
    path.write_bytes(text.encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")
    document = loaders.load_document(path)
    assert document.encoding == "gb18030"
    assert document.text.endswith("附：𠮷字在四字节区。")


def test_short_gbk_text(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_bytes("你好，同志们。".encode("gbk"))
    assert loaders.read_text(path) == ("你好，同志们。", "gbk")


@pytest.mark.parametrize(
    "sample",
    [
        "Café au lait, crème brûlée, déjà vu.\n",  # invalid as GB18030 (é followed by a space)
        "Ésta señorita tiene dinero\n",  # valid GB18030 bytes, but they decode to rare characters
    ],
)
def test_latin1_is_refused(tmp_path: Path, sample: str) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(sample.encode("latin-1") * 5)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    assert "latin.txt" in str(err.value)
    assert "UTF-8" in str(err.value)


def test_latin1_that_gb18030_accepts_is_still_refused() -> None:
    data = "Ésta señorita tiene dinero\n".encode("latin-1")
    data.decode("gb18030")  # the decode alone would succeed: the plausibility check is what refuses it
    with pytest.raises(InputError):
        loaders.decode_bytes(data, Path("x.txt"))


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("empty.txt", b"", "空"),
        ("blank.md", " \n\u3000\u3000\n\t\n".encode(), "空白"),
        ("markers.txt", b"##paidbegin##\n##paidend##\n", "没有文字"),
        ("nul.txt", b"abc\x00\x01\x02\xff\xfe\x00\x00\x9c" * 20, "二进制"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "图片"),
        ("controls.txt", bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15]) * 10, "控制字符"),
    ],
)
def test_bad_text_files(tmp_path: Path, name: str, data: bytes, why: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    assert name in str(err.value)
    assert why in str(err.value)


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a zip file at all",
        b"PK\x03\x04\x14\x00\x00\x00truncated",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,  # an encrypted .docx is an OLE container
    ],
)
def test_corrupt_docx(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "报告.docx"
    path.write_bytes(data)
    with pytest.raises(InputError) as err:
        loaders.load_document(path)
    assert str(err.value) == "无法读取 Word 文件 报告.docx：文件已损坏或加密，请用 Word 另存为 .docx 后重试。"


def test_truncated_real_docx(tmp_path: Path) -> None:
    good = tmp_path / "good.docx"
    word = docx.Document()
    word.add_paragraph("一、基本情况")
    word.save(str(good))
    bad = tmp_path / "bad.docx"
    bad.write_bytes(good.read_bytes()[:400])
    with pytest.raises(InputError, match="已损坏或加密"):
        loaders.load_document(bad)


def test_unsupported_suffixes(tmp_path: Path) -> None:
    for name in ("old.doc", "table.xlsx"):
        path = tmp_path / name
        path.write_bytes(b"x")
        with pytest.raises(InputError) as err:
            loaders.load_document(path)
        assert name in str(err.value)


def test_docx_with_heading_styles(tmp_path: Path) -> None:
    path = tmp_path / "styled.docx"
    word = docx.Document()
    word.add_heading("关于机关党建工作的调研报告", level=0)  # Title style
    word.add_paragraph("按照局党组安排，调研组进行了调研。现将调研情况报告如下：")
    word.add_heading("基本情况", level=1)
    word.add_paragraph("全局共有党支部4个，党员56名。")
    word.add_heading("存在的问题", level=1)
    word.add_heading("组织生活不够规范", level=2)
    word.add_paragraph("部分支部“三会一课”流于形式。")
    word.add_heading("对策建议", level=1)
    word.add_paragraph("一是健全制度。二是创新方式。")
    table = word.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "支部"
    table.cell(0, 1).text = "党员人数"
    word.save(str(path))

    document = loaders.load_document(path)
    assert document.encoding == "docx"
    assert document.title == "关于机关党建工作的调研报告"
    lines = document.text.splitlines()
    assert "# 基本情况" in lines and "## 组织生活不够规范" in lines
    assert "支部　党员人数" in lines

    parsed = structure.parse_text(document.text, "research-report")
    top = [s for s in parsed.sections if s.level == 1]
    assert [(s.heading, s.role) for s in top] == [
        ("基本情况", "background"),
        ("存在的问题", "problems"),
        ("对策建议", "measures"),
    ]
    assert [c.heading for c in top[1].children] == ["组织生活不够规范"]
    assert top[1].children[0].level == 2
    assert parsed.opening == "现将调研情况报告如下："


def test_docx_without_styles_uses_numbering(tmp_path: Path) -> None:
    path = tmp_path / "plain.docx"
    word = docx.Document()
    for text in [
        "根据安排，现将本人履职情况报告如下：",
        "一、履职情况",
        "（一）强化政治担当。始终坚持政治方向不动摇。",
        "二、存在的问题",
        "一是认识有待增强。对党建工作重要性认识不足。",
        "三、下一步工作打算",
        "一是深化理论学习。坚持学以致用。",
    ]:
        word.add_paragraph(text)
    word.save(str(path))
    document = loaders.load_document(path, {"type": "duty-report"})
    assert "#" not in document.text
    parsed = structure.parse(document)
    top = [s for s in parsed.sections if s.level == 1]
    assert [(s.heading, s.role) for s in top] == [
        ("一、履职情况", "achievements"),
        ("二、存在的问题", "problems"),
        ("三、下一步工作打算", "measures"),
    ]
    assert top[0].children[0].heading == "（一）强化政治担当"


def test_docx_style_heading_that_is_numbered_is_not_prefixed(tmp_path: Path) -> None:
    path = tmp_path / "numbered.docx"
    word = docx.Document()
    word.add_heading("一、基本情况", level=1)
    word.add_paragraph("正文。")
    word.save(str(path))
    assert loaders.load_document(path).text == "一、基本情况\n正文。"


def test_cleaning_keeps_text_as_received(tmp_path: Path) -> None:
    path = tmp_path / "raw.txt"
    path.write_text(
        "\u3000\u3000一、基本情况  \n\n##paidbegin##对标政治强统领。正文,含半角标点:(一)\n   \n##paidend##\n",
        encoding="utf-8",
    )
    document = loaders.load_document(path)
    assert document.text == "一、基本情况\n对标政治强统领。正文,含半角标点:(一)"


def test_seed_with_markers_is_cleaned() -> None:
    raw = (CORPUS / "003_93c6ebaee80d2d0d.txt").read_text(encoding="utf-8")
    assert "##paidbegin##" in raw
    document = loaders.load_document(CORPUS / "003_93c6ebaee80d2d0d.txt")
    assert "##" not in document.text
    assert document.text.startswith("工委在全市机关党建工作高质量发展推进会上的汇报发言\n尊敬的各位领导")


def test_catalog_gives_metadata() -> None:
    catalog = loaders.load_catalog(CORPUS)
    assert sorted(catalog) == sorted(p.name for p in SEEDS)
    document = loaders.load_document(SEED)
    assert document.doc_type == "duty-report"
    assert document.title == "医保局机关党支部书记2023年抓基层党建工作述职报告"
    assert document.source == "seed corpus (as received)"
    assert document.doc_id == "002_fbcf8ade7eff2f0f"


def test_bad_catalog(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text("a.txt: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match="catalog.yaml"):
        loaders.load_catalog(tmp_path)
    (tmp_path / "catalog.yaml").write_text("a.txt: just a string\n", encoding="utf-8")
    with pytest.raises(InputError, match="a.txt"):
        loaders.load_catalog(tmp_path)


def test_ids_and_hashes(corpus_copy: Path) -> None:
    path = corpus_copy / SEED.name
    first = loaders.load_document(path)
    again = loaders.load_document(path)
    assert (first.doc_id, first.raw_hash) == (again.doc_id, again.raw_hash)
    retitled = loaders.load_document(path, {"type": "duty-report", "title": "另一个标题"})
    assert retitled.raw_hash != first.raw_hash  # changing metadata re-ingests
    path.write_text(path.read_text(encoding="utf-8") + "\n补充一句。", encoding="utf-8")
    assert loaders.load_document(path).raw_hash != first.raw_hash
    nested = corpus_copy / "2023" / "述职 报告(终稿).txt"
    nested.parent.mkdir()
    nested.write_text("正文。", encoding="utf-8")
    assert loaders.load_document(nested, root=corpus_copy).doc_id == "2023__述职_报告_终稿"


def test_title_without_catalog(tmp_path: Path) -> None:
    titled = tmp_path / "a.txt"
    titled.write_text("工委在推进会上的汇报发言\n尊敬的各位领导：\n正文。", encoding="utf-8")
    assert loaders.load_document(titled).title == "工委在推进会上的汇报发言"
    untitled = tmp_path / "b.txt"
    untitled.write_text("同志们：\n今天我们召开会议。", encoding="utf-8")
    document = loaders.load_document(untitled)
    assert (document.title, document.doc_type) == ("b", None)


def test_corpus_files(tmp_path: Path) -> None:
    for rel in [
        "b.txt",
        "a.md",
        "sub/c.docx",
        "sub/d.pdf",
        "sub/e.xlsx",
        "catalog.yaml",
        ".hidden/e.txt",
        ".f.txt",
        "~$g.docx",
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
    found = loaders.corpus_files([tmp_path, tmp_path / "b.txt"])
    assert found == [
        tmp_path / "a.md",
        tmp_path / "b.txt",
        tmp_path / "sub" / "c.docx",
        tmp_path / "sub" / "d.pdf",
    ]
    assert loaders.corpus_files([CORPUS]) == SEEDS
    with pytest.raises(InputError, match="找不到"):
        loaders.corpus_files([tmp_path / "missing"])
    with pytest.raises(InputError, match="e.xlsx"):
        loaders.corpus_files([tmp_path / "sub" / "e.xlsx"])
