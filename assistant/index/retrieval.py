"""Hybrid retrieval: dense (Chroma) + keyword (BM25) fused by reciprocal rank fusion, exact type/role
filters, then maximal marginal relevance so the top passages are not near-copies of one paragraph.

Dense search finds paraphrases (``支部学习流于形式`` for ``三会一课落实不够``); BM25 finds the exact fixed
phrases official documents are full of (``三会一课``, ``一岗双责``) that a small embedding model blurs. RRF
combines the two rankings without calibrating their scores against each other.

Trade-off: the live chunks of the index (text and metadata) are held in memory per index folder, loaded from
the stored document files. That makes the type/role filter of the keyword side, context lookups and listings
free, and costs a few MB for thousands of chunks. Their vectors are held too, as one float32 matrix read on
the first search (or by ``warm()``, which the web app calls in the background at start): from
``vectors.npz`` in the index folder when it was saved for this index version, else from Chroma in batches,
after which it is saved there for the next process (384-d: 1.5 KB a chunk, 146 MiB at 100,000 chunks). The
dense side is then an exact cosine search with the type/role filter as a mask, ~10 ms at 100,000 chunks,
where Chroma's filtered HNSW query took ~150 ms (unfiltered ~3 ms), and MMR reads its vectors from the same
matrix. Above ``MAX_MEMORY_VECTORS`` live chunks the matrix is not built and the dense
side falls back to Chroma's filtered query.

With a Chroma server (``ASSISTANT_CHROMA_URL``) the dense side stays on the server by default
(``MAX_MEMORY_VECTORS_SERVER = 0``): the server is where a deployment chose to keep its vectors, a copy would
cost every process ~8 KB of JSON per vector over HTTP at its first search, and a search must keep reporting a
stopped server instead of answering from a copy (tests/test_chroma_server.py, tests/test_faults.py). Raising
the limit makes server mode use the same in-memory search, pulling the vectors once per index version in
batches of ``store.READ_BATCH``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from ..doctypes import load_doctypes
from ..errors import IndexMismatchError, IndexMissingError, InputError
from ..records import ROLES, Chunk, Passage
from ..settings import Settings
from . import integrity
from .embedding import Embedder, get_embedder
from .ingest import (
    Manifest,
    build_keyword_index,
    chunk_from_dict,
    entry_path,
    manifest_stamp,
    read_document_file,
    sync_store,
)
from .keyword import KeywordIndex, cached
from .store import ChunkStore, open_store, where_filter

RRF_K = 60
# RRF alone calls rank 1 + rank 3 a tie with rank 3 + rank 1, even when one retriever's first hit scored far
# above its third. Each retriever's own score, scaled to its best hit, adds at most this much: less than
# the gap between the first ranks, so it orders near-ties without overriding the fusion.
TIE_WEIGHT = 1e-4
MMR_LAMBDA = 0.75
DUPLICATE_SIMILARITY = 0.97  # cosine above which two passages count as copies of one paragraph
CONTEXT_CHARS = 400
# Live chunks above which the dense side queries Chroma (filtered HNSW) instead of holding every vector in
# memory: 500,000 384-d float32 vectors take 730 MiB.
MAX_MEMORY_VECTORS = 500_000
MAX_MEMORY_VECTORS_SERVER = 0  # the same limit with a Chroma server: 0 keeps the dense side on the server
# The in-memory matrix saved in the index folder, for the next process of the same index version (derived
# data like bm25/: Chroma stays the source of truth; 150 MiB at 100,000 chunks).
VECTORS_FILE = "vectors.npz"
VECTORS_FORMAT = 1

_CACHE: dict[str, tuple[tuple[int, int], Retriever]] = {}
_CACHE_LOCK = threading.Lock()
_OPEN_LOCK = threading.Lock()
_BLAS: ThreadpoolController | None = None
log = logging.getLogger(__name__)


def _one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on one thread. The query embedding just before leaves the
    embedding engine's worker threads spinning on the other core for a while; a two-thread matrix-vector
    product then waits on them (measured at 100,000 chunks on 2 cores: embed + product p50 34 ms, p95 122 ms
    with two BLAS threads; 23 ms and 25 ms with one)."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _mmr(order: list[str], relevance: dict[str, float], vectors: dict[str, np.ndarray], k: int) -> list[str]:
    """Pick ``k`` of ``order`` trading relevance against similarity to what is already picked."""
    top = max(relevance.values(), default=1.0) or 1.0
    chosen: list[str] = []
    rest = list(order)
    while rest and len(chosen) < k:
        best, best_score = None, -np.inf
        for cid in rest:
            vec = vectors.get(cid)
            similarity = (
                max((float(vec @ vectors[c]) for c in chosen if c in vectors), default=0.0)
                if vec is not None
                else 0.0
            )
            if similarity >= DUPLICATE_SIMILARITY:
                continue
            score = MMR_LAMBDA * relevance[cid] / top - (1 - MMR_LAMBDA) * similarity
            if score > best_score:
                best, best_score = cid, score
        if best is None:
            break
        chosen.append(best)
        rest.remove(best)
    return chosen


class FilterCodes:
    """The type and role of each chunk in a list of chunk ids, as integer codes, for boolean filter masks
    over that list (the dense matrix's rows, the BM25 index's documents)."""

    def __init__(self, ids: list[str], chunks: dict[str, Chunk]) -> None:
        self.size = len(ids)
        self.present = np.fromiter((cid in chunks for cid in ids), dtype=bool, count=len(ids))
        self._codes: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        for field in ("doc_type", "role"):
            names: dict[str, int] = {}
            codes = np.fromiter(
                (
                    names.setdefault(getattr(chunks[cid], field), len(names)) if cid in chunks else -1
                    for cid in ids
                ),
                dtype=np.int32,
                count=len(ids),
            )
            self._codes[field] = (names, codes)

    def mask(self, doc_type: str | None, role: str | None) -> np.ndarray | None:
        """Rows of that type and role; None when neither is given."""
        mask = None
        for field, value in (("doc_type", doc_type), ("role", role)):
            if not value:
                continue
            names, codes = self._codes[field]
            match = codes == names[value] if value in names else np.zeros(self.size, dtype=bool)
            mask = match if mask is None else mask & match
        return mask


class DenseMatrix:
    """Every live chunk's L2-normalised vector in one float32 matrix, with per-row type and role codes, for
    an exact cosine search under a type/role mask."""

    def __init__(self, ids: list[str], matrix: np.ndarray, chunks: dict[str, Chunk]) -> None:
        self.matrix = matrix
        self.ids = ids
        self.rows = {cid: row for row, cid in enumerate(ids)}
        self.codes = FilterCodes(
            ids, chunks
        )  # from the chunks, not the cache: a type correction keeps vectors

    @classmethod
    def read(cls, store: ChunkStore, chunks: dict[str, Chunk]) -> DenseMatrix:
        """The vectors of ``chunks`` read from the store, normalised."""
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for found, vectors in store.embedding_batches(list(chunks)):
            ids.extend(found)
            parts.append(vectors)
        dim = parts[0].shape[1] if parts else 0
        matrix = np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32)
        # rows in the order of ``chunks``, not in the order Chroma returns them (its write order, which a
        # deletion and re-insertion changes): equal scores are then broken the same in every index
        position = {cid: n for n, cid in enumerate(chunks)}
        order = sorted(range(len(ids)), key=lambda row: position[ids[row]])
        ids = [ids[row] for row in order]
        matrix = matrix[order] if len(order) else matrix
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        normalised = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return cls(ids, normalised, chunks)

    @classmethod
    def load(cls, store: ChunkStore, chunks: dict[str, Chunk], manifest: Manifest) -> DenseMatrix:
        """From ``VECTORS_FILE`` in the index folder when it was written for this manifest generation,
        collection and embedder; else read from the store and saved there for the next process."""
        key = json.dumps(
            [VECTORS_FORMAT, manifest.generation, manifest.collection, manifest.embedder], sort_keys=True
        )
        path = manifest.index_dir / VECTORS_FILE
        try:
            with np.load(path, allow_pickle=False) as saved:
                if str(saved["key"]) == key:
                    ids = saved["ids"].tolist()
                    matrix = saved["matrix"]
                    saved_ids = set(ids)
                    canonical = [cid for cid in chunks if cid in saved_ids]
                    if len(ids) == len(matrix) and ids == canonical:  # saved by this version: in order
                        return cls(ids, matrix, chunks)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # missing, stale or damaged: read from the store
        dense = cls.read(store, chunks)
        tmp = path.with_name(f"{VECTORS_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, key=np.array(key), ids=np.array(dense.ids, dtype=str), matrix=dense.matrix)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only or full disk: search works, the next process reads the store
            log.info("vector cache not written: %s", exc)
            tmp.unlink(missing_ok=True)
        return dense

    def query(
        self, vector: Any, k: int, doc_type: str | None = None, role: str | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` chunks of that type and role most similar to ``vector``, as ``(chunk_id, cosine)``."""
        if not self.ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm > 0:
            query = query / norm
        with _one_blas_thread():
            scores = self.matrix @ query
        mask = self.codes.mask(doc_type, role)
        if mask is not None:
            candidates = np.flatnonzero(mask)
            scores = scores[candidates]
        else:
            candidates = np.arange(len(self.ids))
        k = min(k, len(candidates))
        if k <= 0:
            return []
        if k < len(candidates):
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            top = np.flatnonzero(scores >= kth)  # every tie of the k-th score, so that ties go by row
        else:
            top = np.arange(len(candidates))
        top = top[np.lexsort((top, -scores[top]))][:k]
        return [(self.ids[candidates[i]], float(scores[i])) for i in top]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {cid: self.matrix[self.rows[cid]] for cid in ids if cid in self.rows}


class Retriever:
    """Search over one index folder. Use ``Retriever.open(settings)``: it is cached per folder and
    reloaded when the manifest changes."""

    def __init__(self, settings: Settings, manifest: Manifest, embedder: Embedder, store: ChunkStore) -> None:
        self.settings = settings
        self.manifest = manifest
        self.embedder = embedder
        self.store = store
        self.chunks: dict[str, Chunk] = {}  # in the manifest's canonical order (``Manifest.in_order``)
        for _, entry in manifest.in_order():
            stored = {c["chunk_id"]: c for c in read_document_file(manifest.index_dir, entry)["chunks"]}
            for cid in entry.get("chunk_ids", []):
                if cid in stored:
                    self.chunks[cid] = chunk_from_dict(stored[cid])
        self._position = {cid: n for n, cid in enumerate(self.chunks)}  # breaks ties between equal scores
        self._keyword: KeywordIndex | None = None
        self._keyword_codes: tuple[KeywordIndex, FilterCodes] | None = None
        self._dense: DenseMatrix | None = None
        self._dense_lock = threading.Lock()

    # ---- opening --------------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings) -> Retriever:
        index_dir = Path(settings.index_dir)
        integrity.check_complete(index_dir)  # a rebuild running, or one that was killed half-way
        key = str(index_dir.resolve())
        stamp = manifest_stamp(index_dir)
        if stamp is None:
            raise IndexMissingError("索引不存在：请先运行 python -m assistant ingest")
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if hit and hit[0] == stamp and hit[1].settings == settings:
            return hit[1]
        with _OPEN_LOCK:  # one build at a time: a request arriving during the web app's warm-up waits for it
            with _CACHE_LOCK:
                hit = _CACHE.get(key)
            if hit and hit[0] == stamp and hit[1].settings == settings:
                return hit[1]
            retriever = cls._build(settings, index_dir)
            with _CACHE_LOCK:
                _CACHE[key] = (stamp, retriever)
            return retriever

    @classmethod
    def _build(cls, settings: Settings, index_dir: Path) -> Retriever:
        sync_store(settings)
        manifest = Manifest.read(index_dir)
        if manifest is None:
            raise IndexMissingError("索引不存在：请先运行 python -m assistant ingest")
        manifest.check_embedder(settings.embedder.strip())  # before loading a model that would not fit
        embedder = get_embedder(settings)
        manifest.check_embedder(embedder.name, embedder.dim)
        store = open_store(settings, manifest.collection, read_only=True)
        if manifest.documents and store.count() == 0:
            where = (
                f"Chroma 服务器 {settings.chroma_url}" if settings.chroma_url else f"{index_dir / 'chroma'}"
            )
            raise IndexMismatchError(
                f"索引清单列出了 {len(manifest.documents)} 篇文档，但{where}中没有对应的向量数据。"
                "请确认 ASSISTANT_CHROMA_URL 与建索引时一致，或运行 python -m assistant ingest --rebuild 重建索引。"
            )
        return cls(settings, manifest, embedder, store)

    @property
    def keyword(self) -> KeywordIndex:
        if self._keyword is None:
            self._keyword = cached(
                self.manifest.index_dir, self.manifest.generation, lambda: build_keyword_index(self.manifest)
            )
        return self._keyword

    def _keyword_mask(self, doc_type: str | None, role: str | None) -> np.ndarray:
        """Which of the BM25 index's documents a search with these filters may return: live chunks of that
        type and role (a vector operation; a per-chunk predicate cost ~50 ms at 100,000 chunks when the
        filter is narrow)."""
        index = self.keyword
        if self._keyword_codes is None or self._keyword_codes[0] is not index:
            self._keyword_codes = (index, FilterCodes(index.ids, self.chunks))
        codes = self._keyword_codes[1]
        mask = codes.mask(doc_type, role)
        return codes.present if mask is None else mask & codes.present

    @property
    def dense(self) -> DenseMatrix | None:
        """The in-memory vectors of this index version (read on first use); None above
        ``MAX_MEMORY_VECTORS`` chunks (``MAX_MEMORY_VECTORS_SERVER`` with a Chroma server), where the dense
        side queries Chroma instead."""
        limit = MAX_MEMORY_VECTORS_SERVER if self.settings.chroma_url.strip() else MAX_MEMORY_VECTORS
        if self._dense is None and 0 < len(self.chunks) <= limit:
            with self._dense_lock:
                if self._dense is None:
                    self._dense = DenseMatrix.load(self.store, self.chunks, self.manifest)
        return self._dense

    def warm(self) -> None:
        """Load what the first search would otherwise load: the BM25 index and the in-memory vectors (at
        100,000 chunks several seconds). The web app calls this in the background when it starts."""
        self.keyword  # noqa: B018 - loads the BM25 index
        self.dense  # noqa: B018 - reads the vectors

    # ---- search ---------------------------------------------------------------------------------------

    def _check_filters(self, doc_type: str | None, role: str | None, k: int) -> None:
        if doc_type:
            types = load_doctypes(self.settings.prompts_dir)
            if doc_type not in types:
                valid = "、".join(f"{t.name}（{t.label}）" for t in types.values())
                raise InputError(f"未知的文种：{doc_type}。可选文种：{valid}")
        if role and role not in ROLES:
            raise InputError(f"未知的章节角色：{role}。可选角色：{'、'.join(ROLES)}")
        if k < 1:
            raise InputError(f"返回条数必须至少为 1（现为 {k}）。")

    def search(
        self, query: str, doc_type: str | None = None, role: str | None = None, k: int = 8
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` among chunks of type ``doc_type`` and role ``role``."""
        query = (query or "").strip()
        if not query:
            raise InputError("检索内容为空：请输入要查找的文字。")
        self._check_filters(doc_type, role, k)

        def allowed(cid: str) -> bool:
            chunk = self.chunks.get(cid)
            return bool(
                chunk and (not doc_type or chunk.doc_type == doc_type) and (not role or chunk.role == role)
            )

        pool = max(4 * k, 24)
        vector = self.embedder.embed_query(query)
        matrix = self.dense
        if matrix is not None:
            dense = matrix.query(vector, pool, doc_type, role)
        else:
            dense = [
                hit for hit in self.store.query(vector, pool, where_filter(doc_type, role)) if allowed(hit[0])
            ]
        keyword = self.keyword.search(query, pool, self._keyword_mask(doc_type, role))
        fused: dict[str, float] = {}
        ranks: list[dict[str, int]] = []
        for hits in (dense, keyword):
            top = max((score for _, score in hits), default=0.0)
            ranks.append({cid: rank for rank, (cid, _) in enumerate(hits, 1)})
            for rank, (cid, score) in enumerate(hits, 1):
                nudge = TIE_WEIGHT * score / top if top > 0 else 0.0
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank) + nudge
        dense_rank, keyword_rank = ranks
        order = sorted(fused, key=lambda c: (-fused[c], self._position.get(c, 0)))
        if matrix is not None:
            vectors = matrix.vectors(order)
        else:
            vectors = {
                cid: np.asarray(v, dtype=np.float32) for cid, v in self.store.embeddings(order).items()
            }
            for cid, vec in vectors.items():
                norm = float(np.linalg.norm(vec))
                if norm > 0:
                    vectors[cid] = vec / norm
        picked = _mmr(order, fused, vectors, k)
        return [
            Passage(
                chunk=self.chunks[cid],
                score=round(fused[cid], 6),
                dense_rank=dense_rank.get(cid),
                keyword_rank=keyword_rank.get(cid),
            )
            for cid in picked
        ]

    # ---- lookups --------------------------------------------------------------------------------------

    def get(self, chunk_id: str) -> Chunk:
        chunk = self.chunks.get(chunk_id)
        if chunk is None:
            raise InputError(f"索引中没有片段 {chunk_id}：索引可能已更新，请重新检索。")
        return chunk

    def context(self, chunk_id: str) -> dict[str, Any]:
        """The chunk with its document's title, its section and the text just before and after it."""
        chunk = self.get(chunk_id)
        entry = self.manifest.documents[chunk.doc_id]
        stored = read_document_file(self.manifest.index_dir, entry)
        text = stored["document"]["text"]
        start, end = max(0, chunk.start), min(len(text), chunk.end)
        before = text[max(0, start - CONTEXT_CHARS) : start]
        after = text[end : end + CONTEXT_CHARS]
        if start - CONTEXT_CHARS > 0 and "\n" in before:
            before = before[before.index("\n") + 1 :]  # start at a paragraph
        if end + CONTEXT_CHARS < len(text) and "\n" in after:
            after = after[: after.rindex("\n")]
        sections = stored.get("sections", [])
        enclosing = [s for s in sections if s["start"] <= start < s["end"]]
        return {
            "chunk_id": chunk.chunk_id,
            "doc_id": chunk.doc_id,
            "title": chunk.title,
            "doc_type": chunk.doc_type,
            "heading_path": chunk.heading_path,
            "role": chunk.role,
            "path": str(entry_path(self.manifest.index_dir, entry)) if entry.get("path") else "",
            "text": chunk.text,
            "before": before,
            "after": after,
            "start": start,
            "end": end,
            "section": enclosing[-1] if enclosing else None,
            "sections": sections,
            "chunk": chunk.to_dict(),
        }

    def filtered(self, doc_type: str | None = None, role: str | None = None) -> list[Chunk]:
        """All live chunks of a type and role, in document order (for browsing, not ranking)."""
        self._check_filters(doc_type, role, 1)
        return [
            c
            for c in self.chunks.values()
            if (not doc_type or c.doc_type == doc_type) and (not role or c.role == role)
        ]


def warm_in_background(settings: Settings, then: Callable[[Settings], None] | None = None) -> threading.Thread:
    """Open the index and load its BM25 index and vectors on a daemon thread, so that a server's first
    search does not pay for them; ``then(settings)`` runs next on the same thread (the drafting side's own
    warm-up). Nothing is raised: with no index yet, or one that cannot be opened, the first search reports
    the problem to the writer as usual."""

    def run() -> None:
        try:
            Retriever.open(settings).warm()
        except Exception as exc:  # noqa: BLE001 - a warm-up must never take the server down
            log.info("warm-up skipped: %s", exc)
        if then is not None:
            then(settings)

    thread = threading.Thread(target=run, name="retriever-warm-up", daemon=True)
    thread.start()
    return thread


def search(
    settings: Settings, query: str, doc_type: str | None = None, role: str | None = None, k: int = 8
) -> list[Passage]:
    """Shortcut: ``Retriever.open(settings).search(...)``."""
    return Retriever.open(settings).search(query, doc_type=doc_type, role=role, k=k)
