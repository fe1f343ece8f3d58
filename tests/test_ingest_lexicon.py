"""Each document's own terms (unit names, brands, office and sector words: ``content.lexicon``) are learned at
ingest, stored in the index with the document, and kept in step with incremental ingest: a new document's
terms are stored and known to the drafting checks, a changed document's old terms are gone, a removed
document leaves none behind, and the documents that did not change keep their stored files untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.content import lexicon
from assistant.index.corpus_view import open_view
from assistant.index.ingest import Manifest, ingest, read_document_file
from assistant.settings import PROJECT_ROOT, Settings

NEW = "\n".join(
    [
        "青石镇党委书记2024年度抓基层党建工作述职报告",
        "根据县委组织部安排，现将本人2024年度抓基层党建工作情况报告如下：",
        "一、履职情况",
        "（一）抓班子带队伍。青石镇党委坚持每月召开党建工作例会，研究解决村级组织建设难题。",
        "（二）抓品牌创建。全镇深化“石榴红驿站”党建品牌创建，“石榴红驿站”已覆盖全镇各村。",
        "二、存在的问题",
        "一是青石镇部分村党组织书记抓党建的能力还需提升。二是党建品牌的带动作用发挥不够充分。",
        "三、下一步工作打算",
        "青石镇党委将持续擦亮“石榴红驿站”品牌，推动基层党建全面进步、全面过硬。",
    ]
)
WRITER = "县教育局"  # a writer of another unit: another document's names are foreign to their draft


def stored_terms(settings: Settings, doc_id: str) -> dict:
    manifest = Manifest.read(Path(settings.index_dir))
    return read_document_file(manifest.index_dir, manifest.documents[doc_id])["terms"]


def foreign(settings: Settings, sentence: str) -> set[str]:
    view = open_view(settings)
    return {f.term for f in view.lexicon.foreign_terms(sentence, WRITER, "局")}


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Settings, Path]:
    corpus = tmp_path / "corpus"
    shutil.copytree(PROJECT_ROOT / "corpus", corpus)
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus], settings)
    return settings, corpus


def test_terms_are_stored_with_each_document_at_ingest(indexed: tuple[Settings, Path]) -> None:
    settings, _ = indexed
    manifest = Manifest.read(Path(settings.index_dir))
    for doc_id in manifest.documents:
        terms = stored_terms(settings, doc_id)
        assert terms["version"] == lexicon.TERMS_VERSION and terms["words"], doc_id
    duty = stored_terms(settings, "002_fbcf8ade7eff2f0f")
    assert duty["unit"] == "医保局机关党支部" and duty["kind"] == "局"
    own = open_view(settings).lexicon.terms_of("002_fbcf8ade7eff2f0f")
    assert own is not None and "医保局机关党支部" in own.names


def test_the_lexicon_follows_added_changed_and_removed_documents(indexed: tuple[Settings, Path]) -> None:
    settings, corpus = indexed
    sentence = "青石镇党委深化“石榴红驿站”党建品牌创建。"
    assert foreign(settings, sentence) == set()  # no document of the corpus owns these yet
    files_before = {k: e["file"] for k, e in Manifest.read(Path(settings.index_dir)).documents.items()}

    (corpus / "青石镇述职.txt").write_text(NEW, encoding="utf-8")
    report = ingest([corpus], settings)
    assert report.added == ["青石镇述职"] and report.updated == []
    terms = stored_terms(settings, "青石镇述职")
    assert terms["unit"] == "青石镇党委" and terms["kind"] == "镇" and terms["quoted"]["石榴红驿站"] == 3
    assert foreign(settings, sentence) == {"青石镇党委", "石榴红驿站"}
    files_now = {k: e["file"] for k, e in Manifest.read(Path(settings.index_dir)).documents.items()}
    assert {k: files_now[k] for k in files_before} == files_before  # the others' stored files untouched

    (corpus / "青石镇述职.txt").write_text(
        NEW.replace("青石镇", "白沙镇").replace("石榴红驿站", "向日葵驿站"), encoding="utf-8"
    )
    report = ingest([corpus], settings)
    assert report.updated == ["青石镇述职"]
    terms = stored_terms(settings, "青石镇述职")
    assert terms["unit"] == "白沙镇党委" and "石榴红驿站" not in terms["quoted"]
    assert foreign(settings, sentence) & {"青石镇党委", "石榴红驿站"} == set()  # nobody's any more
    assert foreign(settings, "白沙镇党委深化“向日葵驿站”党建品牌创建。") == {"白沙镇党委", "向日葵驿站"}

    (corpus / "青石镇述职.txt").unlink()
    report = ingest([corpus], settings)
    assert report.removed == ["青石镇述职"]
    assert open_view(settings).lexicon.terms_of("青石镇述职") is None
    assert foreign(settings, "白沙镇党委深化“向日葵驿站”党建品牌创建。") == set()
