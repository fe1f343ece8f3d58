"""Hostile files (issue 16, finding 2): each is refused with a Chinese message or ingested within bounds,
and nothing already indexed is lost. The files are made by ``bench.hostile`` (which also records the time and
peak memory of each ingest for the notes; no timing is asserted here). Memory is asserted with tracemalloc
on the load, the step that used to read a whole media part or build a million-paragraph tree."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.index import chunking, loaders, worker
from assistant.index import ingest as ingest_mod
from assistant.index.ingest import ingest, list_documents
from assistant.settings import PROJECT_ROOT, Settings

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
from bench import hostile  # noqa: E402


def _load_peak(path: Path) -> tuple[object, float]:
    """(document or the InputError, peak traced memory in MB) of loading ``path``."""
    tracemalloc.start()
    try:
        result: object = loaders.load_document(path, {})
    except InputError as exc:
        result = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak / 1024 / 1024


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("paragraphs-1e6.docx", "段落超过单篇范文 30000 段的上限"),
        ("bomb-xml.docx", "word/document.xml 解压后超过 40 MB"),
        ("nopunct-5mb.txt", "超过单个文件 20 万字的上限"),
        ("repeat-5mb.txt", "超过单个文件 20 万字的上限"),
    ],
)
def test_hostile_file_is_refused_in_one_chinese_line(name: str, message: str, tmp_path: Path) -> None:
    path = hostile.make(name, tmp_path)
    result, peak = _load_peak(path)
    assert isinstance(result, InputError)
    assert name in str(result) and message in str(result) and "\n" not in str(result)
    assert peak < 120, f"{peak:.0f} MB traced while refusing {name}"


def test_a_200mb_media_part_is_never_read(tmp_path: Path) -> None:
    path = hostile.make("media-200mb.docx", tmp_path)
    document, peak = _load_peak(path)
    assert not isinstance(document, InputError), document
    assert "履职情况" in document.text
    assert peak < 60, f"{peak:.0f} MB traced reading a .docx whose image is 200 MB"


@pytest.mark.parametrize("name", ["nopunct-150k.txt", "repeat-150k.txt"])
def test_text_without_punctuation_is_ingested_in_bounded_pieces(name: str, tmp_path: Path) -> None:
    path = hostile.make(name, tmp_path / "in")
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    report = ingest([path], settings)
    assert report.errors == [] and len(report.added) == 1
    (doc,) = list_documents(settings)
    assert doc["chars"] == 150_000 and doc["chunks"] >= 1
    text = loaders.load_document(path, {}).text
    # no chunk is longer than the hard split allows (a run of one character collapses to few distinct chunks)
    stored = ingest_mod.read_document_file(
        settings.index_dir, ingest_mod.Manifest.read(settings.index_dir).documents[doc["doc_id"]]
    )
    assert all(c["end"] - c["start"] <= 2 * chunking.HARD_SPLIT for c in stored["chunks"])
    assert all(text[c["start"] : c["end"]] == c["text"] for c in stored["chunks"])


def test_hostile_files_in_a_folder_fail_alone_and_keep_what_was_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(
        (PROJECT_ROOT / "corpus" / "002_fbcf8ade7eff2f0f.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus], settings)
    before = list_documents(settings)
    for name in ("paragraphs-1e6.docx", "bomb-xml.docx", "nopunct-5mb.txt"):
        hostile.make(name, corpus)
    report = ingest([corpus], settings)
    assert len(report.errors) == 3 and not report.added and not report.removed
    assert list_documents(settings) == before


# ---- isolate=True: a worker process per file ----------------------------------------------------------


def test_isolated_ingest_indexes_exactly_what_an_in_process_ingest_does(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in sorted((PROJECT_ROOT / "corpus").glob("00*.txt"))[:2]:
        (corpus / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "合集.txt").write_text(
        (PROJECT_ROOT / "tests" / "data" / "collections" / "述职报告汇编.txt").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    plain = Settings(index_dir=tmp_path / "plain", embedder="hashing")
    isolated = Settings(index_dir=tmp_path / "isolated", embedder="hashing")
    ingest([corpus], plain)
    report = ingest([corpus], isolated, isolate=True)
    assert report.errors == [] and len(report.added) == 5

    def ids(settings: Settings) -> dict[str, list[str]]:
        manifest = ingest_mod.Manifest.read(settings.index_dir)
        return {doc_id: entry["chunk_ids"] for doc_id, entry in manifest.documents.items()}

    assert ids(isolated) == ids(plain)
    strip = ("ingested_at", "path", "source_file")
    rows = [
        [{k: v for k, v in d.items() if k not in strip} for d in list_documents(s)] for s in (plain, isolated)
    ]
    assert rows[0] == rows[1]


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [("WORKER_SECONDS", 0.05, "解析超过 0.05 秒仍未完成，已中止"), ("WORKER_MEMORY_MB", 40, "已中止")],
)
def test_a_file_over_the_worker_limits_fails_alone(
    limit: str, value: float, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seed = PROJECT_ROOT / "corpus" / "002_fbcf8ade7eff2f0f.txt"
    (corpus / "a.txt").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing")
    ingest([corpus], settings, isolate=True)
    before = list_documents(settings)
    hostile.make("nopunct-150k.txt", corpus)
    monkeypatch.setattr(worker, limit, value)
    report = ingest([corpus], settings, isolate=True)
    assert report.added == [] and report.removed == []
    (error,) = report.errors
    assert "nopunct-150k.txt" in error and message in error and "其他文件不受影响" in error, error
    if (
        limit == "WORKER_MEMORY_MB"
    ):  # the seed's worker ran under the same limit: it failed too, kept as indexed
        assert report.skipped == [] or report.skipped == [before[0]["doc_id"]]
    assert list_documents(settings) == before


def test_a_web_upload_is_parsed_only_in_a_limited_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 范文库 tab's upload: a hostile file is refused in one Chinese line next to a good file that is
    indexed, and nothing is parsed inside the web server's process (its loader is made to fail here; the
    worker is a fresh interpreter and reads the file itself)."""
    import gradio as gr

    from assistant.ui import corpus_tab
    from assistant.ui.corpus_tab import CorpusTab
    from assistant.ui.views import LiveSettings

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    seed = PROJECT_ROOT / "corpus" / "002_fbcf8ade7eff2f0f.txt"
    good = uploads / "述职报告.txt"
    good.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    bad = hostile.make("paragraphs-1e6.docx", uploads)
    settings = Settings(index_dir=tmp_path / "index", embedder="hashing", corpus_dir=tmp_path / "corpus")

    def in_process(*args: object, **kwargs: object) -> None:
        raise AssertionError("an upload was parsed inside the web server's process")

    for module in (loaders, corpus_tab, ingest_mod, worker):  # and every name it was imported under
        if hasattr(module, "load_document"):
            monkeypatch.setattr(module, "load_document", in_process)
    with gr.Blocks():
        tab = CorpusTab(LiveSettings(settings))
    status, *_ = tab.add_files([str(good), str(bad)], progress=lambda *a, **k: None)
    assert "✔ 已入库：述职报告.txt" in status, status
    assert "paragraphs-1e6.docx" in status and "段落超过单篇范文 30000 段的上限" in status, status
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["述职报告.txt"]
    assert [d["title"] for d in list_documents(settings)] != []
