"""The Chroma store on a real embedded database in a temp dir, with hand-made chunks."""

from __future__ import annotations

import socket

import pytest

from assistant.errors import BackendError, StorageError
from assistant.index import store as store_mod
from assistant.index.embedding import HashingEmbedder
from assistant.index.store import ChunkStore, open_store, release, where_filter
from assistant.records import Chunk
from assistant.settings import Settings

EMB = HashingEmbedder()


def _chunk(doc_id: str, n: int, text: str, doc_type: str = "speech", role: str = "other") -> Chunk:
    return Chunk(
        chunk_id=f"{doc_id}-{n}",
        doc_id=doc_id,
        title=f"{doc_id} 标题",
        doc_type=doc_type,
        heading_path="一、总体情况" if n else "",
        role=role,
        position=n,
        start=n * 10,
        end=n * 10 + len(text),
        text=text,
    )


CHUNKS = [
    _chunk("a", 0, "严格落实三会一课制度", "research-report", "problems"),
    _chunk("a", 1, "推进党建与业务深度融合", "research-report", "measures"),
    _chunk("b", 0, "同志们，今天召开述职会议", "speech", "opening"),
    _chunk("b", 1, "三会一课要落到实处", "speech", "requirements"),
]


@pytest.fixture
def store(tmp_path) -> ChunkStore:
    s = open_store(Settings(index_dir=tmp_path / "index"), "chunks-test")
    s.upsert(CHUNKS, EMB.embed_passages([c.text for c in CHUNKS]))
    return s


def test_upsert_get_count_roundtrip(store: ChunkStore, tmp_path) -> None:
    assert store.count() == 4
    assert store.get(["b-1", "missing", "a-0"]) == [CHUNKS[3], CHUNKS[0]]
    assert sorted(store.all_ids()) == sorted(c.chunk_id for c in CHUNKS)
    assert (tmp_path / "index" / "chroma").is_dir()
    # upserting the same ids again replaces, never duplicates
    store.upsert(CHUNKS[:2], EMB.embed_passages([c.text for c in CHUNKS[:2]]))
    assert store.count() == 4


def test_query_ranks_by_vector_and_filters_exactly(store: ChunkStore) -> None:
    hits = store.query(EMB.embed_query("三会一课"), 4)
    assert {hits[0][0], hits[1][0]} == {"a-0", "b-1"}
    assert hits[0][1] >= hits[1][1] >= hits[-1][1]
    only_speech = store.query(EMB.embed_query("三会一课"), 4, where_filter(doc_type="speech"))
    assert [cid for cid, _ in only_speech][0] == "b-1"
    assert {cid for cid, _ in only_speech} == {"b-0", "b-1"}
    both = store.query(
        EMB.embed_query("三会一课"), 4, where_filter(doc_type="research-report", role="measures")
    )
    assert [cid for cid, _ in both] == ["a-1"]


def test_delete_by_doc_and_ids(store: ChunkStore) -> None:
    store.delete_doc("a")
    assert sorted(store.all_ids()) == ["b-0", "b-1"]
    store.delete_ids(["b-0"])
    assert store.all_ids() == ["b-1"]
    assert [cid for cid, _ in store.query(EMB.embed_query("融合"), 5)] == ["b-1"]


def test_embeddings_and_metadata_update(store: ChunkStore) -> None:
    vectors = store.embeddings(["a-0", "zzz"])
    assert list(vectors) == ["a-0"]
    assert vectors["a-0"] == pytest.approx(EMB.embed_query(CHUNKS[0].text), abs=1e-6)
    store.update_metadata(["a-0", "a-1"], {"doc_type": "work-report"})
    assert {c.doc_type for c in store.get(["a-0", "a-1"])} == {"work-report"}
    assert store.get(["a-0"])[0].role == "problems"  # other fields untouched


def test_reopen_sees_persisted_data_and_drop_removes_it(store: ChunkStore, tmp_path) -> None:
    again = open_store(Settings(index_dir=tmp_path / "index"), "chunks-test")
    assert again.count() == 4
    again.drop()
    assert open_store(Settings(index_dir=tmp_path / "index"), "chunks-test").count() == 0


def test_where_filter_shapes() -> None:
    assert where_filter() is None
    assert where_filter(doc_type="speech") == {"doc_type": "speech"}
    assert where_filter(doc_type="speech", role="problems") == {
        "$and": [{"doc_type": "speech"}, {"role": "problems"}]
    }


def test_unreachable_server_is_a_clear_backend_error(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    settings = Settings(index_dir=tmp_path / "index", chroma_url=f"http://127.0.0.1:{port}")
    with pytest.raises(BackendError) as info:
        open_store(settings, "chunks-test")
    assert "ASSISTANT_CHROMA_URL" in str(info.value) and "chroma run" in str(info.value)


def test_bad_chroma_url_is_an_input_error(tmp_path) -> None:
    from assistant.errors import InputError

    with pytest.raises(InputError, match="ASSISTANT_CHROMA_URL"):
        open_store(Settings(index_dir=tmp_path / "index", chroma_url="ftp://x"), "chunks-test")


# ---- disk failures inside Chroma (the real full / read-only disks are in tests/test_faults.py) ------------


def _refuse(monkeypatch: pytest.MonkeyPatch, where, message: str) -> None:
    """Make Chroma fail to open the database under ``where`` as SQLite does on a bad disk."""
    from chromadb.errors import InternalError

    real = store_mod.chromadb.PersistentClient

    def client(path: str, **kwargs):
        if str(path) == str(where.resolve()):
            raise InternalError(f"error returned from database: {message}")
        return real(path=path, **kwargs)

    monkeypatch.setattr(store_mod.chromadb, "PersistentClient", client)


def test_read_only_index_is_searched_from_a_copy_and_refuses_writes(
    store: ChunkStore, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    release(settings)
    _refuse(monkeypatch, tmp_path / "index" / "chroma", "(code: 8) attempt to write a readonly database")
    with pytest.raises(StorageError, match="只读") as info:
        open_store(settings, "chunks-test")
    assert "--index" in str(info.value) and info.value.exit_code == 4
    reader = open_store(settings, "chunks-test", read_only=True)
    assert reader.count() == 4
    assert reader.query(EMB.embed_query("三会一课"), 1, where_filter(doc_type="speech"))[0][0] == "b-1"
    copy = store_mod._COPIES[str((tmp_path / "index" / "chroma").resolve())]
    assert copy.is_dir() and not copy.is_relative_to(tmp_path)
    release(settings)
    assert not copy.exists()  # the temporary copy goes with the client


def test_full_disk_inside_chroma_is_a_storage_error(store: ChunkStore, tmp_path, monkeypatch) -> None:
    from chromadb.errors import InternalError

    def full(**kwargs):
        raise InternalError("error returned from database: (code: 13) database or disk is full")

    monkeypatch.setattr(store._collection, "upsert", full)
    with pytest.raises(StorageError, match="磁盘空间不足.*清理磁盘空间"):
        store.upsert(CHUNKS[:1], EMB.embed_passages([CHUNKS[0].text]))
    settings = Settings(index_dir=tmp_path / "index")
    release(settings)
    _refuse(monkeypatch, tmp_path / "index" / "chroma", "(code: 13) database or disk is full")
    for read_only in (False, True):  # a copy would not help a reader here: no space to start in
        with pytest.raises(StorageError, match="磁盘空间不足"):
            open_store(settings, "chunks-test", read_only=read_only)
