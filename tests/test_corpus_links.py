"""Links in the corpus folder: one that leads out of the folder is refused at ingest with a Chinese
message (and a document once indexed through it is dropped); a link inside the folder that is deleted takes
its document with it on the next ingest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.index.ingest import ingest, list_documents
from assistant.index.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings

SECRET = "一、基本情况\n机密内容：本单位内部考核名单另行保存，不得外传。\n"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path, Settings]:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    outside.mkdir()
    (outside / "机密.txt").write_text(SECRET, encoding="utf-8")
    return corpus, outside, Settings(index_dir=tmp_path / "index", embedder="hashing")


def _titles(settings: Settings) -> set[str]:
    return {Path(d["path"]).name for d in list_documents(settings)}


def test_a_link_out_of_the_corpus_is_refused(folders, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, outside, settings = folders
    (corpus / "链接.txt").symlink_to(outside / "机密.txt")
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    code = main(["ingest", str(corpus), "--index", str(settings.index_dir)])
    err = capsys.readouterr().err
    assert code == 1 and "链接.txt" in err and "范文文件夹以外" in err and "Traceback" not in err, err
    assert "链接.txt" not in _titles(settings) and "机密.txt" not in _titles(settings)
    assert len(list_documents(settings)) == 5
    hits = Retriever.open(settings).search("内部考核名单", k=10)
    assert not any("考核名单" in p.chunk.text for p in hits)


def test_a_document_indexed_through_such_a_link_is_dropped(folders) -> None:
    corpus, outside, settings = folders
    ingest([corpus, outside / "机密.txt"], settings)  # as an index built when links were followed holds it
    assert "机密.txt" in _titles(settings)
    (corpus / "链接.txt").symlink_to(outside / "机密.txt")
    report = ingest([corpus], settings)
    assert any("链接.txt" in e for e in report.errors)
    assert "机密.txt" not in _titles(settings) and report.removed


def test_a_deleted_link_inside_the_corpus_takes_its_document_with_it(folders) -> None:
    corpus, _, settings = folders
    (corpus / "子目录").mkdir()
    (corpus / "子目录" / "原件.txt").write_text(SECRET.replace("机密", "公开"), encoding="utf-8")
    link = corpus / "别名.txt"
    link.symlink_to(corpus / "子目录" / "原件.txt")
    report = ingest([corpus], settings)
    assert not report.errors and "别名.txt" in _titles(settings)
    link.unlink()
    report = ingest([corpus], settings)
    assert "别名.txt" not in _titles(settings) and len(report.removed) == 1
