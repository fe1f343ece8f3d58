"""The vector store: one Chroma collection of chunks. The only module that imports chromadb.

Embedded (``chromadb.PersistentClient`` under ``index_dir/chroma``) by default, or a ``chroma run`` server
when ``settings.chroma_url`` is set; both go through the same collection code. We always pass vectors
ourselves: the collection gets no embedding function, so Chroma never tries to download its default model,
and the manifest (not Chroma) records which embedder made the vectors.

Trade-off: Chroma is used only for what it is good at — storing vectors with metadata and answering
filtered nearest-neighbour queries. The manifest stays the source of truth for which chunks are live, so a
chunk written to Chroma by an interrupted ingest is ignored by retrieval and deleted by the next ingest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from .errors import BackendError, InputError
from .records import Chunk
from .settings import Settings

_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()
WRITE_BATCH = 256


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _unreachable(url: str, exc: BaseException) -> BackendError:
    return BackendError(
        f"无法连接 Chroma 服务器 {url}（{exc}）。请检查 ASSISTANT_CHROMA_URL 是否正确，"
        f"或先启动服务器：chroma run --path 索引文件夹 --host 127.0.0.1 --port 端口；"
        "不设置 ASSISTANT_CHROMA_URL 则使用本地内置索引。"
    )


def _parse_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"ASSISTANT_CHROMA_URL 的值“{url}”无效，应形如 http://127.0.0.1:8000")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError as exc:
        raise InputError(f"ASSISTANT_CHROMA_URL 的端口无效：{url}") from exc
    return parts.hostname, port, parts.scheme == "https"


def chroma_path(settings: Settings) -> Path:
    return Path(settings.index_dir) / "chroma"


def _client(settings: Settings) -> Any:
    url = settings.chroma_url.strip()
    key = ("http", url) if url else ("local", str(chroma_path(settings).resolve()))
    with _CLIENTS_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        if url:
            host, port, ssl = _parse_url(url)
            try:
                client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_chroma_settings())
            except (ValueError, httpx.HTTPError, OSError) as exc:
                raise _unreachable(url, exc) from exc
        else:
            chroma_path(settings).mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=key[1], settings=_chroma_settings())
        _CLIENTS[key] = client
        return client


def where_filter(
    doc_type: str | None = None, role: str | None = None, doc_id: str | None = None
) -> dict | None:
    """A Chroma ``where`` clause matching all given fields exactly (None when nothing is given)."""
    terms = [{k: v} for k, v in (("doc_type", doc_type), ("role", role), ("doc_id", doc_id)) if v]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else {"$and": terms}


class ChunkStore:
    """One collection of chunks with their vectors; metadata holds the ``Chunk`` fields."""

    def __init__(self, settings: Settings, collection_name: str) -> None:
        if len(collection_name) < 3:
            raise ValueError("Chroma collection names need at least 3 characters")
        self.url = settings.chroma_url.strip()
        self.name = collection_name
        self._client = _client(settings)
        with self._guard():
            self._collection = self._client.get_or_create_collection(
                collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (httpx.HTTPError, ConnectionError) as exc:
            raise _unreachable(self.url or "（本地）", exc) from exc
        except ValueError as exc:
            if self.url and "connect" in str(exc).lower():
                raise _unreachable(self.url, exc) from exc
            raise

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk expected")
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start : start + WRITE_BATCH]
            with self._guard():
                self._collection.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=[list(v) for v in vectors[start : start + WRITE_BATCH]],
                    documents=[c.text for c in part],
                    metadatas=[c.metadata() for c in part],
                )

    def delete_ids(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            with self._guard():
                self._collection.delete(ids=ids[start : start + WRITE_BATCH])

    def delete_doc(self, doc_id: str) -> None:
        with self._guard():
            self._collection.delete(where={"doc_id": doc_id})

    def update_metadata(self, ids: Sequence[str], changes: dict[str, Any]) -> None:
        """Set the given metadata fields on the chunks ``ids`` (e.g. a corrected ``doc_type``)."""
        ids = list(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            part = ids[start : start + WRITE_BATCH]
            with self._guard():
                self._collection.update(ids=part, metadatas=[dict(changes) for _ in part])

    def query(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Nearest chunks as ``(chunk_id, cosine similarity)``, best first."""
        if k <= 0:
            return []
        with self._guard():
            result = self._collection.query(
                query_embeddings=[list(vector)], n_results=k, where=where, include=["distances"]
            )
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result.get("distances") else [1.0] * len(ids)
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, distances, strict=True)]

    def embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """Stored vectors of those of ``ids`` that exist."""
        if not ids:
            return {}
        with self._guard():
            result = self._collection.get(ids=list(ids), include=["embeddings"])
        vectors = result.get("embeddings")
        if vectors is None:
            return {}
        return {cid: [float(x) for x in vec] for cid, vec in zip(result["ids"], vectors, strict=True)}

    def get(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks among ``ids`` that exist, in the order asked."""
        if not ids:
            return []
        with self._guard():
            result = self._collection.get(ids=list(ids), include=["documents", "metadatas"])
        found = {
            cid: Chunk(chunk_id=cid, text=text or "", **(meta or {}))
            for cid, text, meta in zip(result["ids"], result["documents"], result["metadatas"], strict=True)
        }
        return [found[cid] for cid in ids if cid in found]

    def all_ids(self) -> list[str]:
        with self._guard():
            return list(self._collection.get(include=[])["ids"])

    def count(self) -> int:
        with self._guard():
            return int(self._collection.count())

    def drop(self) -> None:
        """Delete the whole collection (used by ``ingest --rebuild``)."""
        with self._guard():
            try:
                self._client.delete_collection(self.name)
            except Exception as exc:  # chromadb raises NotFoundError (varies by version) when it is absent
                if "does not exist" not in str(exc) and "not found" not in str(exc).lower():
                    raise


def open_store(settings: Settings, collection_name: str) -> ChunkStore:
    return ChunkStore(settings, collection_name)


def drop_local_collections(settings: Settings) -> None:
    """Delete every collection of the embedded database under ``index_dir`` (a rebuild whose manifest is
    unreadable). Never touches a server, which other indexes may share."""
    if settings.chroma_url.strip() or not chroma_path(settings).is_dir():
        return
    client = _client(settings)
    for collection in client.list_collections():
        client.delete_collection(getattr(collection, "name", collection))


def release(settings: Settings) -> None:
    """Close the cached embedded client of ``settings.index_dir`` so the next ``open_store`` reads the
    database afresh. Needed when another process has written the index: an open embedded client keeps its
    vector index in memory and does not see the other process's writes. No-op for a server."""
    if settings.chroma_url.strip():
        return
    key = ("local", str(chroma_path(settings).resolve()))
    with _CLIENTS_LOCK:
        client = _CLIENTS.pop(key, None)
    if client is not None:
        client.close()


def forget_clients() -> None:
    """Drop cached clients (tests that stop a server or delete an index folder)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()
