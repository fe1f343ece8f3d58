"""Incremental ingest on a real embedded Chroma in a temp dir, with the fast hashing embedder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import IndexDamagedError, IndexMismatchError, InputError
from assistant.index import ingest as ingest_mod
from assistant.index.ingest import Manifest, delete_document, ingest, list_documents, set_document_type
from assistant.index.keyword import KeywordIndex
from assistant.index.loaders import load_catalog
from assistant.index.retrieval import Retriever
from assistant.index.store import open_store
from assistant.settings import PROJECT_ROOT, Settings, load_settings

RESEARCH = "004_98979e0a19b40566"
SPEECH = "001_6e9dedf2a6c80475"


@pytest.fixture
def hs(tmp_path: Path) -> Settings:
    return load_settings(index_dir=tmp_path / "index", embedder="hashing")


def _state(settings: Settings) -> tuple[Manifest, set[str], list[str]]:
    """Manifest, chunk ids in Chroma, chunk ids in the saved BM25 index."""
    ingest_mod.sync_store(settings)  # another process may have written it
    manifest = Manifest.read(settings.index_dir)
    assert manifest is not None
    chroma = set(open_store(settings, manifest.collection).all_ids())
    keyword = KeywordIndex.load(settings.index_dir, manifest.generation)
    assert keyword is not None, "BM25 index missing or older than the manifest"
    return manifest, chroma, keyword.ids


def _per_doc(manifest: Manifest) -> dict[str, list[str]]:
    return {doc_id: entry["chunk_ids"] for doc_id, entry in manifest.documents.items()}


def _assert_consistent(settings: Settings) -> None:
    manifest, chroma, keyword = _state(settings)
    live = manifest.live_chunk_ids()
    assert chroma == live
    assert sorted(keyword) == sorted(live)
    files = {p.name for p in (settings.index_dir / "documents").iterdir()}
    assert files == {Path(e["file"]).name for e in manifest.documents.values()}


def test_first_ingest_indexes_every_seed_and_second_writes_nothing(hs: Settings, corpus_copy: Path) -> None:
    first = ingest([corpus_copy], hs)
    assert len(first.added) == 5 and not first.errors
    assert first.chunks_written == first.chunks_total > 5
    _assert_consistent(hs)
    manifest = Manifest.read(hs.index_dir)
    assert manifest.embedder == {"name": "hashing", "dim": 384}
    entry = manifest.documents[RESEARCH]
    assert entry["doc_type"] == "research-report" and entry["type_source"] == "metadata"
    assert entry["sections"] > 3 and entry["raw_hash"]
    stored = json.loads((hs.index_dir / entry["file"]).read_text(encoding="utf-8"))
    assert "二、党组织建设中存在的问题" in stored["document"]["text"]
    assert any("存在的问题" in s["heading"] for s in stored["sections"])

    chroma_before = _state(hs)[1]
    second = ingest([corpus_copy], hs)
    assert second.chunks_written == 0 and not second.changed
    assert sorted(second.skipped) == sorted(first.added)
    assert _state(hs)[1] == chroma_before


def test_changed_document_replaces_only_its_own_chunks(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    before = _per_doc(Manifest.read(hs.index_dir))
    path = corpus_copy / f"{RESEARCH}.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("总之,加强和改进局党组织建设", "总之,以绣花功夫加强和改进局党组织建设"),
        encoding="utf-8",
    )

    report = ingest([corpus_copy], hs)
    assert report.updated == [RESEARCH] and not report.added and not report.removed
    after = _per_doc(Manifest.read(hs.index_dir))
    for doc_id in before:
        if doc_id != RESEARCH:
            assert after[doc_id] == before[doc_id]
    changed = set(after[RESEARCH]) ^ set(before[RESEARCH])
    assert changed, "the edited closing paragraph must give new chunk ids"
    # only the new chunks were embedded; the unchanged ones reused their stored vectors
    assert report.chunks_embedded == len(set(after[RESEARCH]) - set(before[RESEARCH]))
    assert report.chunks_written == len(after[RESEARCH])
    _assert_consistent(hs)
    hits = Retriever.open(hs).search("绣花功夫", k=3)
    assert hits[0].chunk.doc_id == RESEARCH and "绣花功夫" in hits[0].chunk.text


def test_deleted_file_leaves_chroma_and_bm25(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    gone = set(Manifest.read(hs.index_dir).documents[SPEECH]["chunk_ids"])
    (corpus_copy / f"{SPEECH}.txt").unlink()
    report = ingest([corpus_copy], hs)
    assert report.removed == [SPEECH] and report.chunks_written == 0
    manifest, chroma, keyword = _state(hs)
    assert SPEECH not in manifest.documents
    assert not gone & chroma and not gone & set(keyword)
    _assert_consistent(hs)
    assert all(p.chunk.doc_id != SPEECH for p in Retriever.open(hs).search("同志们", k=10))


def test_only_documents_of_ingested_folders_are_removed(hs: Settings, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    seeds = sorted((PROJECT_ROOT / "corpus").glob("00*.txt"))
    for seed in seeds[:2]:
        shutil.copy(seed, a)
    for seed in seeds[2:4]:
        shutil.copy(seed, b)
    ingest([a, b], hs)
    assert len(list_documents(hs)) == 4
    (b / seeds[2].name).unlink()  # gone from b, but only a is ingested now: b's documents stay
    report = ingest([a], hs)
    assert not report.removed and len(list_documents(hs)) == 4
    report = ingest([b], hs)
    assert report.removed == [seeds[2].stem]


def test_explicit_corrupt_file_is_reported_and_index_stays_intact(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    before = _per_doc(Manifest.read(hs.index_dir))
    bad = corpus_copy / "坏文件.docx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    report = ingest([bad], hs)
    assert len(report.errors) == 1 and "坏文件.docx" in report.errors[0]
    assert not report.added and not report.removed
    assert _per_doc(Manifest.read(hs.index_dir)) == before
    # in a folder, the bad file is skipped and reported; the good ones are kept
    report = ingest([corpus_copy], hs)
    assert len(report.errors) == 1 and not report.removed and len(report.skipped) == 5
    _assert_consistent(hs)


def test_a_document_that_turns_bad_keeps_its_indexed_version(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    before = _per_doc(Manifest.read(hs.index_dir))[RESEARCH]
    (corpus_copy / f"{RESEARCH}.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00" * 500)
    report = ingest([corpus_copy], hs)
    assert report.errors and not report.removed
    assert report.errors[0].endswith("此前入库的版本仍保留在索引中。"), report.errors
    assert _per_doc(Manifest.read(hs.index_dir))[RESEARCH] == before


def test_missing_path_is_an_input_error(hs: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="找不到"):
        ingest([tmp_path / "nowhere"], hs)


def test_other_embedder_is_refused_until_rebuild(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    other = hs.with_overrides(embedder="hashing-64")
    with pytest.raises(IndexMismatchError) as info:
        ingest([corpus_copy], other)
    assert "ASSISTANT_EMBEDDER" in str(info.value) and "--rebuild" in str(info.value)
    with pytest.raises(IndexMismatchError):
        Retriever.open(other)
    old_collection = Manifest.read(hs.index_dir).collection
    report = ingest([corpus_copy], other, rebuild=True)
    assert len(report.added) == 5
    manifest = Manifest.read(hs.index_dir)
    assert manifest.embedder == {"name": "hashing-64", "dim": 64} and manifest.collection != old_collection
    _assert_consistent(other)
    assert len(Retriever.open(other).search("三会一课", k=3)) == 3


def test_unreadable_or_foreign_manifest_is_refused(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    path = hs.index_dir / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["format"] = 99
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Retriever.open(hs)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexDamagedError, match="损坏"):
        ingest([corpus_copy], hs)
    assert len(ingest([corpus_copy], hs, rebuild=True).added) == 5
    from assistant.index.store import _client

    # the collection the unreadable manifest named is gone too, not left behind in the database
    names = [getattr(c, "name", c) for c in _client(hs).list_collections()]
    assert names == [Manifest.read(hs.index_dir).collection]
    _assert_consistent(hs)


def test_chunks_lost_from_chroma_are_restored_by_the_next_ingest(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    manifest = Manifest.read(hs.index_dir)
    open_store(hs, manifest.collection).delete_doc(RESEARCH)  # e.g. a server that lost data
    report = ingest([corpus_copy], hs)
    assert report.updated == [RESEARCH] and report.chunks_embedded == len(
        manifest.documents[RESEARCH]["chunk_ids"]
    )
    _assert_consistent(hs)


def test_type_correction_is_applied_and_survives_reingest(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    with pytest.raises(InputError, match="可选文种"):
        set_document_type(hs, RESEARCH, "poem")
    set_document_type(hs, RESEARCH, "speech")
    doc = next(d for d in list_documents(hs) if d["doc_id"] == RESEARCH)
    assert doc["doc_type"] == "speech" and doc["type_source"] == "override"
    manifest, chroma, _ = _state(hs)
    ids = manifest.documents[RESEARCH]["chunk_ids"]
    assert {c.doc_type for c in open_store(hs, manifest.collection).get(ids)} == {"speech"}
    assert not Retriever.open(hs).search("三会一课", doc_type="research-report", k=5)
    # an edit of the file re-ingests it, and the correction still applies
    path = corpus_copy / f"{RESEARCH}.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n以上报告，请审阅。", encoding="utf-8")
    assert ingest([corpus_copy], hs).updated == [RESEARCH]
    assert next(d for d in list_documents(hs) if d["doc_id"] == RESEARCH)["doc_type"] == "speech"
    assert {p.chunk.doc_id for p in Retriever.open(hs).search("三会一课", doc_type="speech", k=20)} >= {
        RESEARCH
    }
    set_document_type(hs, RESEARCH, None)
    assert next(d for d in list_documents(hs) if d["doc_id"] == RESEARCH)["doc_type"] == "research-report"
    _assert_consistent(hs)


def test_delete_document_removes_everything_and_optionally_the_file(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    gone = set(Manifest.read(hs.index_dir).documents[RESEARCH]["chunk_ids"])
    delete_document(hs, RESEARCH)
    manifest, chroma, keyword = _state(hs)
    assert RESEARCH not in manifest.documents and not gone & chroma and not gone & set(keyword)
    assert (corpus_copy / f"{RESEARCH}.txt").exists()
    _assert_consistent(hs)
    with pytest.raises(InputError, match="corpus list"):
        delete_document(hs, RESEARCH)
    moved = delete_document(hs, SPEECH, remove_file=True)
    assert not (corpus_copy / f"{SPEECH}.txt").exists()
    assert moved == corpus_copy / ".deleted" / f"{SPEECH}.txt" and moved.is_file()  # recoverable
    assert len(ingest([corpus_copy], hs).added) == 1  # the research report's file was kept: it comes back
    shutil.copy2(moved, corpus_copy / f"{SPEECH}.txt")  # putting it back restores the speech
    assert len(ingest([corpus_copy], hs).added) == 1
    again = delete_document(hs, SPEECH, remove_file=True)  # a second deletion keeps the first copy too
    assert again is not None and again != moved and again.parent == moved.parent and moved.is_file()


def test_progress_callback_reports_each_file(hs: Settings, corpus_copy: Path) -> None:
    (corpus_copy / "空文件.txt").write_bytes(b"")  # a file that fails still counts as done
    calls: list[tuple[int, int, str]] = []
    report = ingest(
        [corpus_copy], hs, progress=lambda done, total, message: calls.append((done, total, message))
    )
    assert len(report.errors) == 1
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]
    titles = {d["title"] for d in list_documents(hs)}
    assert {c[2] for c in calls} == titles | {"空文件.txt"}  # each call names its document
    calls.clear()
    ingest([corpus_copy], hs, progress=lambda *call: calls.append(call))  # unchanged files are reported too
    assert [c[:2] for c in calls] == [(i, 6) for i in range(1, 7)]


NO_STRUCTURE = (
    "今天上午我们到社区走访了解群众生活情况大家反映总体不错" * 4 + "\n居民说加装电梯的事情还要再商量。\n"
)


def test_a_document_of_no_recognisable_type_is_recorded_as_unknown(hs: Settings, corpus_copy: Path) -> None:
    """Not passed off as a duty report (the detector's fallback at confidence 0): excluded from every
    same-type search, found without a filter and by role, and correctable by the writer."""
    from assistant.doctypes import load_doctypes
    from assistant.ui.views import document_rows

    (corpus_copy / "随笔.txt").write_text(NO_STRUCTURE, encoding="utf-8")
    report = ingest([corpus_copy], hs)
    (essay,) = [d for d in report.added if d.endswith("随笔")]
    doc = next(d for d in list_documents(hs) if d["doc_id"] == essay)
    assert doc["doc_type"] == "" and doc["type_source"] == "detected"
    assert doc["type_confidence"] < ingest_mod.MIN_TYPE_CONFIDENCE
    # catalog types are kept whatever the detector thinks
    catalog = {entry["type"] for entry in load_catalog(corpus_copy).values()}
    assert {d["doc_type"] for d in list_documents(hs) if d["doc_id"] != essay} == catalog
    manifest = Manifest.read(hs.index_dir)
    ids = set(manifest.documents[essay]["chunk_ids"])
    assert {c.doc_type for c in open_store(hs, manifest.collection).get(sorted(ids))} == {""}

    retriever = Retriever.open(hs)
    query = "社区走访群众生活情况"
    for name in load_doctypes(hs.prompts_dir):
        assert not ids & {p.chunk.chunk_id for p in retriever.search(query, doc_type=name, k=20)}, name
        assert not ids & {c.chunk_id for c in retriever.filtered(doc_type=name)}
    top = retriever.search(query, k=3)
    assert top[0].chunk.doc_id == essay
    role = top[0].chunk.role  # drafting's "same role in other types" step still offers it
    assert top[0].chunk.chunk_id in {p.chunk.chunk_id for p in retriever.search(query, role=role, k=5)}
    assert "未识别" in document_rows([doc], {})[0][2]  # the 范文库 table

    set_document_type(hs, essay, "speech")
    assert {p.chunk.doc_id for p in Retriever.open(hs).search(query, doc_type="speech", k=3)} >= {essay}
    assert ingest([corpus_copy], hs).skipped  # the correction survives the next ingest
    assert next(d for d in list_documents(hs) if d["doc_id"] == essay)["doc_type"] == "speech"
    set_document_type(hs, essay, None)
    assert next(d for d in list_documents(hs) if d["doc_id"] == essay)["doc_type"] == ""
    _assert_consistent(hs)


def test_leftovers_of_an_interrupted_run_are_ignored_then_cleaned(hs: Settings, corpus_copy: Path) -> None:
    from assistant.index.embedding import get_embedder
    from assistant.records import Chunk

    ingest([corpus_copy], hs)
    manifest = Manifest.read(hs.index_dir)
    store = open_store(hs, manifest.collection)
    stray = Chunk(
        "stray-chunk",
        RESEARCH,
        "旧标题",
        "research-report",
        "",
        "problems",
        99,
        0,
        10,
        "三会一课落实不到位孤儿片段",
    )
    store.upsert([stray], get_embedder(hs).embed_passages([stray.text]))
    (hs.index_dir / "documents" / "orphan.123.json").write_text("{}", encoding="utf-8")
    hits = Retriever.open(hs).search("三会一课落实不到位孤儿片段", k=10)
    assert "stray-chunk" not in {p.chunk.chunk_id for p in hits}
    report = ingest([corpus_copy], hs)
    assert not report.changed
    _assert_consistent(hs)


def test_stale_bm25_is_rebuilt_on_open(hs: Settings, corpus_copy: Path) -> None:
    ingest([corpus_copy], hs)
    shutil.rmtree(hs.index_dir / "bm25")
    from assistant.index import keyword

    keyword._CACHE.clear()
    ingest_mod._read_document_file.cache_clear()
    hits = Retriever.open(hs).search("一岗双责", k=3)
    assert hits and any(p.keyword_rank for p in hits)
    ingest([corpus_copy], hs)  # and the next ingest writes it again
    _assert_consistent(hs)


def _documents_listed(index_dir: Path) -> int:
    try:
        return len(json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))["documents"])
    except (OSError, ValueError, KeyError):
        return 0


def _ingest_cmd(index_dir: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(index_dir)]


def test_kill_during_ingest_leaves_an_index_that_answers_and_completes(
    tmp_path: Path, corpus_copy: Path
) -> None:
    """kill -9 an ingest part-way several times; the index must open and answer after each kill, and a
    final ingest must give exactly the chunk ids of an uninterrupted one."""
    # more documents than the seeds so there is time to be interrupted in the middle
    for seed in sorted(corpus_copy.glob("00*.txt")):
        for n in range(1, 4):
            text = seed.read_text(encoding="utf-8")
            (corpus_copy / f"{seed.stem}_copy{n}.txt").write_text(f"第{n}份副本\n{text}", encoding="utf-8")
    env = dict(os.environ, ASSISTANT_EMBEDDER="hashing", PYTHONPATH=str(PROJECT_ROOT))
    interrupted = tmp_path / "interrupted"
    kills = 0
    for target in (2, 7, 12):  # kill once the manifest lists this many documents, at varying depth
        proc = subprocess.Popen(
            _ingest_cmd(interrupted, corpus_copy),
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if _documents_listed(interrupted) >= target:
                time.sleep(0.01 * target)  # land at different points inside a document's steps
                break
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        if (interrupted / "manifest.json").exists():
            retriever = Retriever.open(load_settings(index_dir=interrupted, embedder="hashing"))
            if retriever.chunks:  # opens and answers, whatever was cut short
                assert retriever.search("三会一课", k=3)
    assert kills >= 2, "the ingest finished before it could be interrupted; the test proves nothing"
    final = subprocess.run(
        _ingest_cmd(interrupted, corpus_copy),
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stderr
    clean = tmp_path / "clean"
    ingest([corpus_copy], load_settings(index_dir=clean, embedder="hashing"))  # uninterrupted, in-process
    a = load_settings(index_dir=interrupted, embedder="hashing")
    b = load_settings(index_dir=clean, embedder="hashing")
    assert _per_doc(Manifest.read(interrupted)) == _per_doc(Manifest.read(clean))
    assert len(Manifest.read(clean).documents) == 20
    _assert_consistent(a)
    _assert_consistent(b)


def test_a_crash_before_the_manifest_commit_is_finished_by_the_next_run(
    hs: Settings, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest([corpus_copy], hs)
    before = _per_doc(Manifest.read(hs.index_dir))
    path = corpus_copy / f"{RESEARCH}.txt"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n新增段落：以绣花功夫抓好整改落实。", encoding="utf-8"
    )

    def crash(self) -> None:
        raise KeyboardInterrupt  # dies after the chunks are in Chroma, before the manifest names them

    with monkeypatch.context() as patch:
        patch.setattr(Manifest, "save", crash)
        with pytest.raises(KeyboardInterrupt):
            ingest([corpus_copy], hs)
    assert _per_doc(Manifest.read(hs.index_dir)) == before
    retriever = Retriever.open(hs)  # the old version still answers; the new chunks are not visible yet
    hits = retriever.search("绣花功夫", k=5)
    assert all("绣花" not in p.chunk.text for p in hits), [
        (p.chunk.chunk_id, p.chunk.text[-30:]) for p in hits
    ]
    report = ingest([corpus_copy], hs)
    assert report.updated == [RESEARCH]
    assert report.chunks_embedded == 0, "vectors written before the crash are reused, not embedded again"
    _assert_consistent(hs)
    assert "绣花" in Retriever.open(hs).search("绣花功夫", k=1)[0].chunk.text


def test_a_document_the_parser_refuses_is_reported_and_the_rest_indexed(
    hs: Settings, corpus_copy: Path
) -> None:
    catalog = corpus_copy / "catalog.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8").replace("type: research-report", "type: poem"), encoding="utf-8"
    )
    report = ingest([corpus_copy], hs)
    assert len(report.added) == 4 and RESEARCH not in report.added
    assert len(report.errors) == 1 and RESEARCH in report.errors[0] and "poem" in report.errors[0]
    _assert_consistent(hs)
