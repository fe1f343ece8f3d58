"""A stranger's corpus (issue 14): a folder mixing every format ingests in one go; a scanned PDF, an
encrypted PDF and a corrupt .doc each fail in one Chinese line and lose nothing already indexed; a 合集 is
split into its documents (listed with source file and part, re-ingested and deleted as a whole); hygiene
warnings, near-duplicates and the two likeliest types of an unrecognised document reach ``corpus list``."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from office_files import ENCRYPTED_PDF_FILTER, convert, plain_docx, rich_docx

from assistant.cli import main
from assistant.index import office
from assistant.index.ingest import Manifest, delete_document, ingest, list_documents
from assistant.settings import PROJECT_ROOT, Settings

SEEDS = PROJECT_ROOT / "corpus"
COLLECTION = PROJECT_ROOT / "tests" / "data" / "collections" / "述职报告汇编.txt"
needs_libreoffice = pytest.mark.skipif(
    office.soffice() is None, reason="LibreOffice is installed by setup.sh"
)


def seed_lines(name: str) -> list[str]:
    return [line.strip() for line in (SEEDS / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def chunk_ids(settings: Settings) -> dict[str, list[str]]:
    return {k: e["chunk_ids"] for k, e in Manifest.read(settings.index_dir).documents.items()}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one file of every supported format (and a 合集)."""
    folder = tmp_path_factory.mktemp("mixed")
    made = tmp_path_factory.mktemp("made")
    shutil.copy(SEEDS / "000_6bfbaef6554af9b3.txt", folder / "汇报.txt")
    (folder / "讲话.md").write_text("\n".join(seed_lines("001_6e9dedf2a6c80475.txt")), encoding="utf-8")
    rich_docx(folder / "富格式.docx")
    title = "关于在人社工作中充分发挥党支部战斗堡垒作用的调研报告"
    source = plain_docx(made / "调研.docx", seed_lines("004_98979e0a19b40566.txt"), title=title)
    if office.soffice() is not None:
        shutil.copy(convert(source, ".pdf", made), folder / "调研.pdf")
        duty = plain_docx(
            made / "述职.docx", seed_lines("002_fbcf8ade7eff2f0f.txt"), title="支部书记述职报告"
        )
        shutil.copy(convert(duty, ".doc", made), folder / "述职.doc")
        work = plain_docx(made / "汇报二.docx", seed_lines("003_93c6ebaee80d2d0d.txt"))
        shutil.copy(convert(work, ".doc", made), folder / "汇报二.wps")
    shutil.copy(COLLECTION, folder / "述职报告汇编.txt")
    return folder


@needs_libreoffice
def test_a_folder_mixing_every_format_is_ingested(mixed: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    started = time.perf_counter()
    report = ingest([mixed], settings)
    seconds = time.perf_counter() - started
    assert report.errors == []
    rows = {d["doc_id"]: d for d in list_documents(settings)}
    shown = {(Path(d["path"]).suffix, d["doc_type"], d["part"]) for d in rows.values()}
    assert shown >= {
        (".txt", "work-report", 0),
        (".md", "speech", 0),
        (".pdf", "research-report", 0),
        (".doc", "duty-report", 0),
        (".wps", "work-report", 0),
        (".txt", "duty-report", 1),
        (".txt", "duty-report", 3),
    }
    assert len(rows) == 9  # 7 files, one of them three documents
    print(f"\nmixed folder: {len(rows)} documents from 7 files in {seconds:.1f} s")
    for d in sorted(rows.values(), key=lambda d: d["path"]):
        print(
            f"  {Path(d['path']).name:14} {d['doc_type'] or '未识别':16} {d['chars']:6d} 字  {d['chunks']:3d} 片段"
        )
    again = ingest([mixed], settings)
    assert again.added == again.updated == again.removed == [] and len(again.skipped) == 9


@needs_libreoffice
def test_bad_files_fail_in_one_chinese_line_and_nothing_indexed_is_lost(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(mixed, corpus)
    index = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    assert main(["ingest", str(corpus), "--index", str(index)]) == 0
    settings = Settings(index_dir=index, embedder="hashing")
    before = chunk_ids(settings)
    # three bad files arrive, and the good PDF is replaced by a scan of itself: its indexed text stays
    from PIL import Image

    Image.new("RGB", (620, 877), "white").save(corpus / "扫描件.pdf")
    shutil.copy(corpus / "扫描件.pdf", corpus / "调研.pdf")
    (corpus / "损坏.doc").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    source = plain_docx(tmp_path / "密.docx", seed_lines("002_fbcf8ade7eff2f0f.txt"))
    shutil.copy(convert(source, ".pdf", tmp_path / "enc", ENCRYPTED_PDF_FILTER), corpus / "加密.pdf")
    capsys.readouterr()
    code = main(["ingest", str(corpus), "--index", str(index)])
    err = capsys.readouterr().err
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("错误：")]
    assert len(errors) == 4, err
    expected = {
        "扫描件.pdf": "没有可提取的文字层（可能是扫描件或图片）",
        "调研.pdf": "没有可提取的文字层",
        "损坏.doc": "已损坏、加密或不是 Word/WPS 文档",
        "加密.pdf": "设有打开密码（已加密）",
    }
    for name, why in expected.items():
        assert any(name in line and why in line for line in errors), (name, err)
    # the PDF indexed before it was replaced by a scan says that its indexed version stays; new files do not
    kept = {
        name
        for name in expected
        for line in errors
        if name in line and "此前入库的版本仍保留在索引中" in line
    }
    assert kept == {"调研.pdf"}, err
    print("\n" + "\n".join(errors))
    assert "已入库的文档保持不变" in err
    assert chunk_ids(settings) == before


def test_a_collection_is_split_listed_reingested_and_deleted_as_a_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = corpus / "述职报告汇编.txt"
    shutil.copy(COLLECTION, path)
    shutil.copy(SEEDS / "004_98979e0a19b40566.txt", corpus / "调研.txt")
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus], settings)
    parts = [d for d in list_documents(settings) if d["source_file"] == str(path)]
    assert [(d["part"], d["parts"], d["doc_type"]) for d in parts] == [
        (k, 3, "duty-report") for k in (1, 2, 3)
    ]
    assert [d["title"] for d in parts] == [
        "局党组书记、局长2023年度述职述廉报告",
        "局党组成员、副局长2023年度述职报告",
        "局党组成员、纪检组长2023年度述职述廉述法报告",
    ]
    assert [d["doc_id"] for d in parts] == ["述职报告汇编--01", "述职报告汇编--02", "述职报告汇编--03"]

    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    assert main(["corpus", "list", "--index", str(settings.index_dir)]) == 0
    out = capsys.readouterr().out
    print("\n" + out)
    assert "述职报告汇编.txt 第 2/3 篇" in out and "文种 述职报告 duty-report（识别" in out
    assert "提示 脱敏或占位标记" in out

    # the web UI's 范文库 table and document view show the same split, the type and the warnings
    from assistant.index.ingest import document_sections
    from assistant.ui.library_view import document_html
    from assistant.ui.views import document_rows

    labels = {"duty-report": "述职报告"}
    rows = document_rows(parts, labels)
    assert [row[1] for row in rows] == [f"述职报告汇编.txt 第 {k}/3 篇" for k in (1, 2, 3)]
    assert all(row[2].startswith("述职报告（自动识别") for row in rows)
    view = document_html(parts[1], document_sections(settings, parts[1]["doc_id"]), labels)
    assert "述职报告汇编.txt（合集拆分出的第 2/3 篇）" in view and "文种</b>：述职报告" in view
    assert "入库时发现的问题（" in view and "脱敏" in view

    # the third report removed from the file: re-ingest drops its part and keeps the others' chunks
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("局党组成员、纪检组长")], encoding="utf-8")
    kept = {k: v for k, v in chunk_ids(settings).items() if k in ("述职报告汇编--01", "述职报告汇编--02")}
    report = ingest([corpus], settings)
    assert report.removed == ["述职报告汇编--03"] and report.chunks_embedded == 0
    assert {k: v for k, v in chunk_ids(settings).items() if k.startswith("述职报告汇编")} == kept

    # deleting one part with its file deletes every part of it; the other document stays
    moved = delete_document(settings, "述职报告汇编--02", remove_file=True)
    assert moved is not None and moved.parent.name == ".deleted"
    assert [d["doc_id"] for d in list_documents(settings)] == ["调研"]


def test_warnings_near_duplicates_and_candidates_reach_corpus_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / "002_fbcf8ade7eff2f0f.txt", corpus / "述职.txt")
    edited = (SEEDS / "002_fbcf8ade7eff2f0f.txt").read_text(encoding="utf-8").replace("党支部", "支部")
    (corpus / "述职修改稿.txt").write_text(edited, encoding="utf-8")
    (corpus / "随笔.txt").write_text("今天上午我们到社区走访了解群众生活情况。" * 5, encoding="utf-8")
    index = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    assert main(["ingest", str(corpus), "--index", str(index)]) == 0
    capsys.readouterr()
    assert main(["corpus", "list", "--json", "--index", str(index)]) == 0
    rows = {d["doc_id"]: d for d in json.loads(capsys.readouterr().out)}
    duty = rows["述职"]
    kinds = {w["kind"] for w in duty["warnings"]}
    assert {"gap", "typo", "duplicate"} <= kinds
    typo = next(w for w in duty["warnings"] if w["kind"] == "typo" and w["text"] == "重业务轻的思想")
    assert "重业务轻党建的思想" in typo["label"] and "重业务轻的思想" in typo["context"]
    dup = next(w for w in duty["warnings"] if w["kind"] == "duplicate")
    assert dup["text"] == "述职修改稿" and "%" in dup["context"]
    assert duty["warning_counts"]["duplicate"] == 1 and duty["warning_counts"]["gap"] >= 1
    assert duty["type_candidates"] == [] and duty["part"] == 0 and duty["source_file"].endswith("述职.txt")
    essay = rows["随笔"]
    assert essay["doc_type"] == "" and len(essay["type_candidates"]) == 2
    assert all(
        name in {"speech", "duty-report", "research-report", "work-report", "summary"}
        for name, _ in essay["type_candidates"]
    )
    assert essay["type_candidates"][0][1] >= essay["type_candidates"][1][1]
    assert main(["corpus", "list", "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "疑似重复文档 1" in out and "错字或残缺" in out and "文种 未识别（识别；最像：" in out
    # the web UI's document view names the same warnings as corpus list, a typo with its right form,
    # and an unrecognised document's two likeliest types
    from assistant.ui.library_view import document_html

    labels = {"duty-report": "述职报告", "summary": "工作总结", "speech": "讲话稿"}
    view = document_html(duty, [], labels)
    assert f"入库时发现的问题（{len(duty['warnings'])} 处）" in view
    assert "错字或残缺</b>：“重业务轻的思想”应为“重业务轻党建的思想”" in view
    assert "疑似重复文档</b>：述职修改稿" in view and "疑似抓取残缺</b>：" in view
    assert "可能的文种" in document_html(essay, [], labels)
    # deleting the copy clears the other's duplicate warning
    assert main(["corpus", "delete", "述职修改稿", "--index", str(index)]) == 0
    capsys.readouterr()
    assert main(["corpus", "list", "--json", "--index", str(index)]) == 0
    rows = {d["doc_id"]: d for d in json.loads(capsys.readouterr().out)}
    assert "duplicate" not in {w["kind"] for w in rows["述职"]["warnings"]}


def test_set_type_corrects_an_unrecognised_document(tmp_path: Path) -> None:
    from assistant.index.ingest import set_document_type

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "随笔.txt").write_text("今天上午我们到社区走访了解群众生活情况。" * 5, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus], settings)
    set_document_type(settings, "随笔", "summary")
    (row,) = list_documents(settings)
    assert (row["doc_type"], row["type_source"], row["type_candidates"]) == ("summary", "override", [])
