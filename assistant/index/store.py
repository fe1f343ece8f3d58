"""The vector store: one Chroma collection of chunks. The only module that imports chromadb.

Embedded (``chromadb.PersistentClient`` under ``index_dir/chroma``) by default, or a ``chroma run`` server
when ``settings.chroma_url`` is set; both go through the same collection code. We always pass vectors
ourselves: the collection gets no embedding function, so Chroma never tries to download its default model,
and the manifest (not Chroma) records which embedder made the vectors.

Trade-off: Chroma is used only for what it is good at — storing vectors with metadata and answering
filtered nearest-neighbour queries. The manifest stays the source of truth for which chunks are live, so a
chunk written to Chroma by an interrupted ingest is ignored by retrieval and deleted by the next ingest.

Disk failures: SQLite errors inside Chroma (disk full, read-only, cannot open) become a ``StorageError`` that
says what to do. Chroma has no read-only client (its client writes to the database on start), so a reader of
a read-only index searches a private temporary copy of ``chroma/``: one copy per process, deleted at exit.
That costs the size of the vector database once, and lets an index on a read-only share or CD be searched.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import InternalError

from ..errors import BackendError, InputError, StorageError, UserError
from .integrity import damaged
from ..records import Chunk
from ..settings import Settings

_CLIENTS: dict[tuple[str, str], Any] = {}
_COPIES: dict[str, Path] = {}  # read-only chroma folder -> the temporary folder holding its searchable copy
_CLIENTS_LOCK = threading.Lock()
_SEGMENT_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
log = logging.getLogger(__name__)
WRITE_BATCH = 256
READ_BATCH = 5000  # ids per read of stored vectors (Retriever's in-memory matrix)


def _chroma_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _unreachable(url: str, exc: BaseException, timeout: float = 0.0) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(
            f"Chroma 服务器 {url} 接受了连接，但超过 {timeout:g} 秒没有应答（服务器卡住或过载）。"
            "请检查或重启该服务器（chroma run …）；如需等待更久，可调大 ASSISTANT_CHROMA_TIMEOUT；"
            "不设置 ASSISTANT_CHROMA_URL 则使用本地内置索引。"
        )
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


def _sqlite_kind(exc: BaseException) -> str | None:
    """Which disk failure a Chroma ``InternalError`` reports (SQLite result codes 13, 8, 14), if any."""
    text = str(exc).lower()
    if "disk is full" in text or "(code: 13)" in text:
        return "full"
    if "readonly" in text or "read-only" in text or "(code: 8)" in text:
        return "readonly"
    if "unable to open database" in text or "(code: 14)" in text:
        return "cannot-open"
    if any(s in text for s in ("malformed", "not a database", "(code: 11)", "(code: 26)", "corrupt", "hnsw")):
        return "damaged"
    return None


def _explain(exc: BaseException, where: str, index_dir: str) -> UserError | None:
    """A Chinese explanation of a failure inside the embedded Chroma (a full, read-only or unopenable disk;
    a damaged database), saying what to do; None for other errors."""
    kind = _sqlite_kind(exc)
    if kind == "damaged":
        return damaged("向量库", chroma_path_of(index_dir), f"数据库无法读取（{exc}）")
    if kind == "full":
        return StorageError(
            f"磁盘空间不足，{where}无法写入。已入库的内容保持完整：请清理磁盘空间后重新运行同一操作。"
        )
    if kind == "readonly":
        return StorageError(
            f"索引文件夹 {index_dir} 是只读的，{where}无法写入。入库、删除和更正文种需要可写的索引："
            "请把该文件夹设为可写，或把它复制到可写的位置后用 --index（或 ASSISTANT_INDEX_DIR）指定。"
        )
    if kind == "cannot-open":
        return StorageError(
            f"无法打开{where}（{exc}）。请检查索引文件夹 {index_dir} 的权限，"
            "或运行 python -m assistant ingest --rebuild 重建索引。"
        )
    return None


def _persistent(path: Path) -> Any:
    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception:
        # chromadb caches the system it failed to start under the path; a retry in this process (the web
        # app after the disk is freed) would get that broken system back, so forget it
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
        raise


def _searchable_copy(path: Path) -> Any:
    """A client on a private temporary copy of the read-only Chroma folder ``path``."""
    folder = Path(tempfile.mkdtemp(prefix="assistant-readonly-index-"))
    try:
        shutil.copytree(path, folder / "chroma")
        client = _persistent(folder / "chroma")
    except (OSError, InternalError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StorageError(
            f"索引文件夹 {path.parent} 是只读的；检索时需要把其中的向量库复制到临时文件夹，但复制失败（{exc}）。"
            "请把该文件夹设为可写，或把它复制到可写的位置后用 --index（或 ASSISTANT_INDEX_DIR）指定，"
            "也可以清理临时文件夹所在磁盘（TMPDIR）的空间后重试。"
        ) from exc
    atexit.register(shutil.rmtree, folder, True)
    _COPIES[str(path)] = folder
    return client


def _http_client(url: str, timeout: float) -> Any:
    """A client of the Chroma server at ``url`` whose every request gives up after ``timeout`` seconds.
    chromadb's HTTP client waits forever (``httpx.Client(timeout=None)``) and takes no timeout setting, so
    the server is first asked for its heartbeat under the timeout (a server that accepts connections and
    never answers is reported here, not hung on), then the client's session gets the timeout."""
    host, port, ssl = _parse_url(url)
    limit = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    scheme = "https" if ssl else "http"
    try:
        httpx.get(f"{scheme}://{host}:{port}/api/v2/heartbeat", timeout=limit)
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_chroma_settings())
    except (ValueError, httpx.HTTPError, OSError) as exc:
        raise _unreachable(url, exc, timeout) from exc
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = limit
    return client


def _client(settings: Settings, read_only: bool = False) -> Any:
    """The cached client for ``settings``. A ``read_only`` caller (search) of an embedded index that cannot
    be written gets a client on a temporary copy; a writer gets a ``StorageError`` instead."""
    url = settings.chroma_url.strip()
    path = chroma_path(settings).resolve()
    key = ("http", url) if url else ("local", str(path))
    copy_key = ("copy", str(path))
    with _CLIENTS_LOCK:
        if key in _CLIENTS:
            return _CLIENTS[key]
        if read_only and copy_key in _CLIENTS:
            return _CLIENTS[copy_key]
        if url:
            client = _http_client(url, settings.chroma_timeout)
        else:
            path.mkdir(parents=True, exist_ok=True)
            try:
                client = _persistent(path)
            except InternalError as exc:
                if read_only and _sqlite_kind(exc) == "readonly":
                    _CLIENTS[copy_key] = _searchable_copy(path)
                    return _CLIENTS[copy_key]
                explained = _explain(exc, "向量库", str(path.parent))
                raise explained or damaged("向量库", path, f"无法打开（{exc}）") from exc
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

    def __init__(self, settings: Settings, collection_name: str, read_only: bool = False) -> None:
        if len(collection_name) < 3:
            raise ValueError("Chroma collection names need at least 3 characters")
        self.url = settings.chroma_url.strip()
        self._timeout = settings.chroma_timeout
        self.name = collection_name
        self._index_dir = str(settings.index_dir)
        self._where = (
            f"Chroma 服务器 {self.url} 的数据目录" if self.url else f"向量库（{chroma_path(settings)}）"
        )
        self._client = _client(settings, read_only=read_only)
        with self._guard():
            self._collection = self._client.get_or_create_collection(
                collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (httpx.HTTPError, ConnectionError) as exc:
            raise _unreachable(self.url or "（本地）", exc, self._timeout) from exc
        except InternalError as exc:
            explained = _explain(exc, self._where, self._index_dir)
            if explained is not None:
                raise explained from exc
            if self.url:
                raise BackendError(f"Chroma 服务器 {self.url} 报告内部错误（{exc}），请检查服务器日志。") from exc
            raise damaged("向量库", chroma_path_of(self._index_dir), f"读写失败（{exc}）") from exc
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

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` the collection holds."""
        ids = list(ids)
        found: set[str] = set()
        for start in range(0, len(ids), READ_BATCH):
            with self._guard():
                found.update(self._collection.get(ids=ids[start : start + READ_BATCH], include=[])["ids"])
        return found

    def refresh_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Set the stored metadata of ``chunks`` (already in the collection) to theirs; vectors and texts
        are left as they are."""
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start : start + WRITE_BATCH]
            with self._guard():
                self._collection.update(ids=[c.chunk_id for c in part], metadatas=[c.metadata() for c in part])

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

    def embedding_batches(
        self, ids: Sequence[str], batch: int = READ_BATCH
    ) -> Iterator[tuple[list[str], Any]]:
        """Stored vectors of ``ids`` read ``batch`` at a time, as ``(found ids, float32 array)`` pairs (rows in
        the order of the found ids, which need not be the order asked; missing ids are left out). Reading a
        whole collection this way keeps each request (and, for a server, each HTTP response) bounded."""
        ids = list(ids)
        for start in range(0, len(ids), batch):
            with self._guard():
                result = self._collection.get(ids=ids[start : start + batch], include=["embeddings"])
            vectors = result.get("embeddings")
            found = list(result["ids"])
            if vectors is None or not found:
                continue
            yield found, np.asarray(vectors, dtype=np.float32).reshape(len(found), -1)

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


def open_store(settings: Settings, collection_name: str, read_only: bool = False) -> ChunkStore:
    """The collection ``collection_name``; ``read_only`` callers only search (see ``_client``)."""
    return ChunkStore(settings, collection_name, read_only=read_only)


def chroma_path_of(index_dir: str | Path) -> Path:
    return Path(index_dir) / "chroma"


def discard_local(settings: Settings) -> None:
    """Delete the embedded Chroma database under ``index_dir`` whole, without opening it (a rebuild: the
    database may be damaged, or hold collections no manifest names). Cached clients of it are closed and
    forgotten first, so the next ``open_store`` starts a fresh database. Never touches a server."""
    if settings.chroma_url.strip():
        return
    close_local(settings)
    shutil.rmtree(chroma_path(settings).resolve(), ignore_errors=True)


def drop_orphans(settings: Settings, keep: str) -> list[str]:
    """Delete the collections of the embedded database other than ``keep`` (left by a lost manifest: the
    embedded database is this index's alone). Returns their names. Never touches a server, which other
    indexes may share."""
    if settings.chroma_url.strip() or not chroma_path(settings).is_dir():
        return []
    client = _client(settings)
    try:
        names = [getattr(c, "name", c) for c in client.list_collections()]
        orphans = [name for name in names if name != keep]
        for name in orphans:
            client.delete_collection(name)
    except InternalError as exc:
        explained = _explain(exc, "向量库", str(settings.index_dir))
        raise explained or damaged("向量库", chroma_path(settings), f"读写失败（{exc}）") from exc
    if orphans:
        close_local(settings)
        _reclaim(chroma_path(settings))
    return orphans


def close_local(settings: Settings) -> None:
    """Close and forget every client of the embedded database of ``settings`` (chromadb caches the system
    per path: a later client would otherwise get the old one back)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    release(settings)
    SharedSystemClient._identifier_to_system.pop(str(chroma_path(settings).resolve()), None)


def _reclaim(path: Path) -> None:
    """After collections were deleted: remove the vector segment folders no collection uses any more and
    return the database's free pages to the disk (Chroma leaves both behind, so an orphaned collection
    would keep its disk space). Skipped quietly when another process holds the database."""
    try:
        with contextlib.closing(sqlite3.connect(path / "chroma.sqlite3", timeout=2)) as db:
            live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
            db.execute("VACUUM")
    except sqlite3.Error as exc:
        log.info("chroma database not compacted: %s", exc)
        return
    for child in path.iterdir():
        if child.is_dir() and _SEGMENT_RE.fullmatch(child.name) and child.name not in live:
            shutil.rmtree(child, ignore_errors=True)


def release(settings: Settings) -> None:
    """Close the cached embedded client of ``settings.index_dir`` so the next ``open_store`` reads the
    database afresh. Needed when another process has written the index: an open embedded client keeps its
    vector index in memory and does not see the other process's writes. No-op for a server."""
    if settings.chroma_url.strip():
        return
    path = str(chroma_path(settings).resolve())
    with _CLIENTS_LOCK:
        clients = [_CLIENTS.pop(("local", path), None), _CLIENTS.pop(("copy", path), None)]
        copy = _COPIES.pop(path, None)
    for client in clients:
        if client is not None:
            client.close()
    if copy is not None:
        shutil.rmtree(copy, ignore_errors=True)


def forget_clients() -> None:
    """Drop cached clients (tests that stop a server or delete an index folder)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()
