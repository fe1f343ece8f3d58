"""Incremental ingest: corpus files -> parsed, chunked, embedded documents in Chroma + BM25, with a manifest.

The index folder holds:
  manifest.json            format version, embedder, chunker, collection name, generation, type overrides,
                           and per document: path (relative to the project folder when inside it),
                           raw_hash, title, type, confidence, sections, chunk ids, file, hygiene warnings
                           and counts, the two likeliest types (when detected), a MinHash signature and its
                           near duplicates, and part/parts for a document of a 合集
  documents/<id>.<h>.json  the cleaned Document, a section summary and the chunks with their BM25 tokens;
                           content-addressed (h hashes the content), so a file is never rewritten in place
  bm25/                    the keyword index, tagged with the manifest generation it was built for
  vectors.npz              the retriever's in-memory vectors, saved for the manifest generation they were
                           read for (derived, written by retrieval.DenseMatrix.load, never by ingest)
  chroma/                  the embedded Chroma database (absent when ASSISTANT_CHROMA_URL names a server)

Crash safety: the manifest is the only source of truth and is replaced atomically (tmp + os.replace), once
per group of documents, after the group's chunks are in Chroma and its document files are written. A crash
between those steps leaves chunks in Chroma or files that the manifest does not name: retrieval ignores them
and the next ingest reuses the vectors of those it re-creates and deletes the rest. The BM25 index is
derived data: rebuilt from the stored tokens at the end of an ingest or deletion, and rebuilt in memory by
whoever finds it older than the manifest.

Document types: a type comes from the catalog (metadata), a writer's correction (override), or detection.
A detection weaker than ``MIN_TYPE_CONFIDENCE`` is recorded as ``UNKNOWN_TYPE`` (""), not as the detector's
best guess: a document with no recognisable structure must not pass for a same-type example in retrieval.
Such a document is still found by searches without a type filter; ``corpus set-type`` corrects it.

Trade-off: documents are committed in groups of about ``GROUP_CHUNKS`` chunks: one embedder pass, one Chroma
write and one manifest write per group instead of per document (per-document Chroma calls and manifest
rewrites cost more than the embedding of a small document's chunks). An interrupted ingest loses at most the
group in flight (its vectors already in Chroma are reused by the next run, which continues where the last
one stopped: unchanged documents, and unchanged chunks of changed documents, are never embedded again).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from ..content import hygiene, lexicon
from ..doctypes import get_doctype, load_doctypes
from ..errors import (
    IndexDamagedError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    StorageError,
    UserError,
    describe_os_error,
)
from ..records import Chunk, Document, ParsedDocument
from ..settings import Settings
from . import chunking, detect, duplicates, integrity, loaders, structure
from .embedding import BATCH_SIZE, Embedder, get_embedder
from .keyword import KeywordIndex, remember, tokenize
from .store import ChunkStore, discard_local, drop_orphans, open_store
from .store import release as release_store
from .worker import ReadDocument, read_file

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents"
LOCK = ".lock"

Progress = Callable[[int, int, str], None]

UNKNOWN_TYPE = ""  # a document whose type was neither given nor detected with confidence
UNKNOWN_LABEL = "未识别"
# The detector's confidence is calibrated (index/detect.py): below one in two, the document is more likely
# another type, or no type, than the one it leans to, and it stays 未识别 with its two likeliest types shown.
MIN_TYPE_CONFIDENCE = 0.5
MAX_STORED_WARNINGS = 20  # per document in the manifest (``warning_counts`` counts them all, by kind)

# Pending chunks (across documents) embedded, written to Chroma and committed to the manifest together; the
# store writes at most 256 per call, so a group is one Chroma call.
GROUP_CHUNKS = 256
DELETED_FOLDER = ".deleted"  # where delete_document(remove_file=True) moves a file; skipped by ingest
# Fresh passages per embedder call inside a group, a multiple of the embedder's batch: small enough that
# progress is reported every few seconds, large enough that no batch is cut short between documents.
EMBED_SLICE = 2 * BATCH_SIZE


# ---- files ------------------------------------------------------------------------------------------------


def _write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


@contextlib.contextmanager
def _write_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index folder at a time (the lock dies with its process, even on kill -9)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(f"索引 {index_dir} 正被另一个入库或删除任务写入，请等它结束后再试。") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---- manifest ---------------------------------------------------------------------------------------------


def chunker_signature(settings: Settings) -> dict[str, Any]:
    """What decides a document's chunks and their type: a change re-chunks every document on the next
    ingest (unchanged chunks keep their stored vectors)."""
    return {
        "chunking": getattr(chunking, "CHUNKER_VERSION", 1),
        "structure": getattr(structure, "PARSER_VERSION", 1),
        "max_tokens": settings.chunk_tokens,
        "overlap_tokens": settings.chunk_overlap_tokens,
        "min_type_confidence": MIN_TYPE_CONFIDENCE,  # re-types old documents when the rule changes
    }


@dataclass
class Manifest:
    index_dir: Path
    embedder: dict[str, Any]
    chunker: dict[str, Any]
    collection: str
    generation: int = 0
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.index_dir / MANIFEST

    @classmethod
    def new(cls, index_dir: Path, embedder: Embedder, settings: Settings) -> Manifest:
        return cls(
            index_dir=index_dir,
            embedder={"name": embedder.name, "dim": embedder.dim},
            chunker=chunker_signature(settings),
            collection=f"chunks-{uuid.uuid4().hex[:12]}",
        )

    @classmethod
    def read(cls, index_dir: Path) -> Manifest | None:
        """The manifest in ``index_dir``, or None when there is none."""
        path = Path(index_dir) / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise integrity.damaged("清单文件", path, f"无法读取或不是有效的 JSON（{exc}）") from exc
        if not isinstance(data, dict):
            raise integrity.damaged("清单文件", path, "内容不是映射")
        if data.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"索引 {index_dir} 的格式版本（{data.get('format') if isinstance(data, dict) else '未知'}）"
                f"与本程序（{FORMAT_VERSION}）不同。请运行 python -m assistant ingest --rebuild 重建索引。"
            )
        integrity.check_manifest(data, path)
        return cls(
            index_dir=Path(index_dir),
            embedder=dict(data["embedder"]),
            chunker=dict(data.get("chunker") or {}),
            collection=str(data["collection"]),
            generation=int(data.get("generation", 0)),
            documents=dict(data.get("documents") or {}),
            overrides=dict(data.get("overrides") or {}),
        )

    def check_embedder(self, embedder_name: str, dim: int | None = None) -> None:
        built = self.embedder.get("name")
        if built != embedder_name or (dim is not None and self.embedder.get("dim") != dim):
            raise IndexMismatchError(
                f"索引 {self.index_dir} 是用嵌入模型“{built}”（{self.embedder.get('dim')} 维）建立的，"
                f"当前设置为“{embedder_name}”。请把 ASSISTANT_EMBEDDER 设回“{built}”，"
                "或运行 python -m assistant ingest --rebuild 用当前模型重建索引。"
            )

    def save(self) -> None:
        self.generation = max(self.generation + 1, time.time_ns())
        data = {
            "format": FORMAT_VERSION,
            "embedder": self.embedder,
            "chunker": self.chunker,
            "collection": self.collection,
            "generation": self.generation,
            "overrides": self.overrides,
            "documents": self.documents,
        }
        self.index_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path, _dumps(data))
        _SEEN[str(self.index_dir.resolve())] = manifest_stamp(self.index_dir)

    def in_order(self) -> list[tuple[str, dict[str, Any]]]:
        """The documents in the canonical order (by id) every derived structure uses — BM25's documents,
        the retriever's chunks and in-memory vectors, and so the breaking of equal scores — so that an
        index searches the same whatever order its documents were committed in (an ingest killed and
        resumed, a document removed and added again)."""
        return sorted(self.documents.items())

    def live_chunk_ids(self) -> set[str]:
        return {cid for entry in self.documents.values() for cid in entry.get("chunk_ids", [])}


_SEEN: dict[str, tuple[int, int] | None] = {}  # index folder -> manifest stamp this process last saw or wrote


def manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(Path(index_dir) / MANIFEST)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def sync_store(settings: Settings) -> None:
    """Reopen the embedded Chroma client if another process changed the index since this one last looked."""
    key = str(Path(settings.index_dir).resolve())
    stamp = manifest_stamp(Path(settings.index_dir))
    if key in _SEEN and _SEEN[key] != stamp:
        release_store(settings)
    _SEEN[key] = stamp


def stored_path(index_dir: Path, path: str | Path) -> str:
    """How a document's file is recorded in the manifest: relative to the folder that holds the index (the
    project folder, where ``corpus/`` and ``index/`` sit side by side), so that the folder can be moved or
    copied whole; absolute when the file lies elsewhere."""
    try:
        return Path(path).relative_to(Path(index_dir).resolve().parent).as_posix()
    except ValueError:
        return str(path)


def entry_path(index_dir: Path, entry: dict[str, Any]) -> Path:
    """The absolute path of a manifest entry's file (manifests written before paths were stored relative
    hold absolute ones, which are taken as they are)."""
    raw = entry.get("path") or ""
    if not raw:
        return Path()
    path = Path(raw)
    return path if path.is_absolute() else Path(index_dir).resolve().parent / path


def require_manifest(settings: Settings) -> Manifest:
    integrity.check_complete(Path(settings.index_dir))
    manifest = Manifest.read(Path(settings.index_dir))
    if manifest is None:
        raise IndexMissingError("索引不存在：请先运行 python -m assistant ingest")
    return manifest


@lru_cache(maxsize=4096)
def _read_document_file(path: str) -> dict[str, Any]:
    # safe to cache forever: document files are content-addressed and never rewritten
    return integrity.read_document(Path(path))


def read_document_file(index_dir: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """The stored document (text, sections, chunks with tokens) of a manifest entry; an
    ``IndexDamagedError`` naming the file when it does not read back whole (``IndexBusyError`` when that
    is because a rebuild is discarding it now)."""
    try:
        return _read_document_file(str(Path(index_dir) / entry["file"]))
    except IndexDamagedError:
        integrity.check_complete(Path(index_dir))
        raise


def _write_document_file(index_dir: Path, doc_id: str, payload: dict[str, Any]) -> str:
    text = _dumps(payload)
    digest = integrity.file_digest(text)
    safe = re.sub(r"[^\w.-]", "_", doc_id)[:80]
    relative = f"{DOCUMENTS}/{safe}.{digest}.json"
    target = index_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != text.encode("utf-8"):  # absent, or a damaged copy
        _write_atomic(target, text)
    return relative


def _section_summary(parsed: ParsedDocument) -> list[dict[str, Any]]:
    out = []

    def visit(section, depth: int) -> None:
        out.append(
            {
                "heading": section.heading,
                "title": section.title,
                "level": section.level,
                "kind": section.kind,
                "role": section.role,
                "number": section.number,
                "start": section.start,
                "end": section.end,
                "depth": depth,
            }
        )
        for child in section.children:
            visit(child, depth + 1)

    for top in parsed.sections:
        visit(top, 0)
    return out


def chunk_from_dict(data: dict[str, Any]) -> Chunk:
    return Chunk(**{k: data[k] for k in Chunk.__dataclass_fields__})


def passage_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed: the chunk with its heading path, which names its topic."""
    head = chunk.heading_path.strip()
    if not head or chunk.text.startswith(head):
        return chunk.text
    return f"{head}\n{chunk.text}"


# ---- report -----------------------------------------------------------------------------------------------


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_written: int = 0  # chunks stored in Chroma by this run
    chunks_embedded: int = 0  # of which needed a new embedding (the others reused their stored vector)
    chunks_total: int = 0  # live chunks in the index afterwards
    documents_total: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unchanged(self) -> list[str]:
        return self.skipped

    @property
    def chunks(self) -> int:
        return self.chunks_total

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- ingest -----------------------------------------------------------------------------------------------


class _Progress:
    def __init__(self, total: int, callback: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.callback = callback
        self.bar = None
        if callback is None and sys.stderr.isatty() and total:
            from tqdm import tqdm

            try:
                size = os.get_terminal_size(sys.stderr.fileno())
            except (OSError, ValueError):
                size = os.terminal_size((0, 0))
            # a terminal that reports no size (``script``, some CI consoles) would get no bar from tqdm
            self.bar = tqdm(
                total=total,
                desc="入库",
                unit="篇",
                file=sys.stderr,
                leave=False,
                ncols=size.columns or 80,
                nrows=size.lines or 24,
            )

    def step(self, message: str) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, message)
        if self.bar is not None:
            self.bar.set_postfix_str(message[-30:], refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class _Prepared:
    """A parsed and chunked document waiting in a group for its embedding, Chroma write and commit."""

    document: Document
    parsed: ParsedDocument
    doc_type: str
    override: bool
    chunks: list[Chunk]
    texts: list[str]
    part: int = 0  # k of n when the file holds several documents (a 合集), else 0
    parts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # manifest fields: warnings, candidates, signature


def _document_notes(document: Document, typed: bool, settings: Settings) -> dict[str, Any]:
    """What the manifest keeps about a document besides its chunks: hygiene warnings (redaction marks,
    placeholders, scraping gaps, wrong 提法 and typos), the two likeliest types when the type was detected,
    and the MinHash signature that near-duplicate detection compares."""
    warnings = hygiene.document_warnings(document.text, title=document.title)
    notes: dict[str, Any] = {"minhash": duplicates.signature(document.text)}
    if warnings:
        notes["warnings"] = warnings[:MAX_STORED_WARNINGS]
        counts: dict[str, int] = {}
        for warning in warnings:
            counts[warning["kind"]] = counts.get(warning["kind"], 0) + 1
        notes["warning_counts"] = counts
    if not typed:
        ranked = detect.rank(document.text, load_doctypes(settings.prompts_dir))
        notes["type_candidates"] = [[name, confidence] for name, confidence in ranked[:2]]
    return notes


class _Indexer:
    """Writes documents into one index folder; every public step leaves the manifest consistent."""

    def __init__(self, settings: Settings, manifest: Manifest, embedder: Embedder) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self.manifest = manifest
        self.embedder = embedder
        self.store: ChunkStore = open_store(settings, manifest.collection)
        self.signature = chunker_signature(settings)

    def check_leftovers(self) -> set[str]:
        """Find what an interrupted run left behind. Document files the manifest does not name are deleted;
        documents whose chunks or stored text are missing are marked for re-processing; chunks in Chroma
        that the manifest does not name are returned, to be reused if this run re-creates them and deleted
        by ``drop_stray`` otherwise."""
        live = self.manifest.live_chunk_ids()
        present = set(self.store.all_ids())
        named = {entry.get("file") for entry in self.manifest.documents.values()}
        folder = self.index_dir / DOCUMENTS
        if folder.is_dir():
            for path in folder.iterdir():
                if f"{DOCUMENTS}/{path.name}" not in named:
                    path.unlink(missing_ok=True)
        for entry in self.manifest.documents.values():
            lost = not set(entry.get("chunk_ids", [])) <= present  # e.g. a server that lost or never had them
            if lost or not integrity.document_intact(self.index_dir / entry.get("file", "")):
                entry["raw_hash"] = ""  # re-created from its source file by this run
        return present - live

    def drop_stray(self, stray: set[str]) -> None:
        leftover = sorted(stray - self.manifest.live_chunk_ids())
        if leftover:
            self.store.delete_ids(leftover)

    def is_current(self, document: Document) -> bool:
        entry = self.manifest.documents.get(document.doc_id)
        return bool(
            entry
            and entry.get("raw_hash") == document.raw_hash
            and entry.get("chunker") == self.signature
            and entry_path(self.index_dir, entry) == Path(document.path)
        )

    def unchanged_file(self, path: Path, meta: dict[str, Any]) -> list[str]:
        """The ids of the documents indexed from ``path`` when the file, its metadata and the chunker are
        all as they were (every part of a 合集 present), else []."""
        entries = {k: e for k, e in self.manifest.documents.items() if entry_path(self.index_dir, e) == path}
        if not entries:
            return []
        parts = sorted(e.get("part", 0) for e in entries.values())
        if parts != [0] and parts != list(range(1, next(iter(entries.values())).get("parts", 1) + 1)):
            return []
        if any(e.get("chunker") != self.signature or not e.get("raw_hash") for e in entries.values()):
            return []
        try:
            digest = loaders.file_hash(path, meta)
        except OSError:
            return []
        if any(e["raw_hash"] != digest for e in entries.values()):
            return []
        return sorted(entries, key=lambda k: entries[k].get("part", 0))

    def index(self, document: Document, part: int = 0, parts: int = 1) -> tuple[int, int]:
        """(Re)index one document and commit it to the manifest. Returns (chunks written, embedded)."""
        return self.commit([self.prepare(document, part=part, parts=parts)])[0]

    def prepare(
        self, document: Document, read: ReadDocument | None = None, part: int = 0, parts: int = 1
    ) -> _Prepared:
        """Parse and chunk a document (nothing is written), unless ``read`` holds a worker's parse of this very
        document. Raises InputError when the parser refuses it."""
        override = self.manifest.overrides.get(document.doc_id)
        working = replace(document, doc_type=override) if override else document
        if read is not None and read.parsed is not None and not override and read.document == document:
            parsed, raw_chunks = read.parsed, read.chunks or []
        else:
            parsed = structure.parse(working, self.settings.prompts_dir)
            raw_chunks = chunking.chunk_document(
                parsed,
                max_tokens=self.settings.chunk_tokens,
                overlap_tokens=self.settings.chunk_overlap_tokens,
            )
        doc_type = parsed.doc_type
        if not working.doc_type and parsed.type_confidence < MIN_TYPE_CONFIDENCE:
            doc_type = UNKNOWN_TYPE
        chunks: list[Chunk] = []
        seen: set[str] = set()
        for chunk in raw_chunks:
            if chunk.chunk_id in seen:  # a repeated paragraph under the same heading: keep one copy
                continue
            seen.add(chunk.chunk_id)
            if chunk.doc_type != doc_type:
                chunk = replace(chunk, doc_type=doc_type)
            chunks.append(chunk)
        texts = [passage_text(c) for c in chunks]
        extra = _document_notes(document, bool(working.doc_type), self.settings)
        return _Prepared(document, parsed, doc_type, bool(override), chunks, texts, part, parts, extra)

    def commit(
        self, group: list[_Prepared], ready: Callable[[_Prepared], None] | None = None
    ) -> list[tuple[int, int]]:
        """Embed, store and commit prepared documents with one manifest write, after all their chunks are
        in Chroma. ``ready`` is called per document, in order, once its vectors are known. Returns
        (chunks written, embedded) per document.

        A chunk already in Chroma (the id hashes its text, so its vector is the same) keeps its stored
        vector untouched; only its metadata is refreshed. Writing a vector read back from Chroma would not
        be a no-op: Chroma's cosine index normalises what it stores, so a vector written twice differs in
        its last bits from one written once, and an ingest resumed after a kill would then search a
        little differently from an uninterrupted one."""
        chunks = [c for item in group for c in item.chunks]
        texts = [t for item in group for t in item.texts]
        stored = self.store.existing([c.chunk_id for c in chunks])
        fresh = [i for i, c in enumerate(chunks) if c.chunk_id not in stored]
        vectors: list[Any] = [None] * len(chunks)
        embedded = [sum(1 for c in item.chunks if c.chunk_id not in stored) for item in group]
        ends = list(accumulate(embedded))  # fresh passages embedded once each document is complete
        announced = 0  # documents reported ready
        for start in range(0, len(fresh) + EMBED_SLICE, EMBED_SLICE):
            part = fresh[start : start + EMBED_SLICE]
            if part:
                for i, vector in zip(
                    part, self.embedder.embed_passages([texts[i] for i in part]), strict=True
                ):
                    vectors[i] = vector
            while announced < len(group) and ends[announced] <= start + len(part):
                if ready is not None:
                    ready(group[announced])
                announced += 1
        if fresh:
            self.store.upsert([chunks[i] for i in fresh], [vectors[i] for i in fresh])
        self.store.refresh_metadata([c for c in chunks if c.chunk_id in stored])
        old_entries: list[dict[str, Any]] = []
        files: list[str] = []
        for item in group:
            document, parsed = item.document, item.parsed
            payload = {
                "document": document.to_dict(),
                "doc_type": item.doc_type,
                "sections": _section_summary(parsed),
                "salutation": parsed.salutation,
                "opening": parsed.opening,
                "closing": parsed.closing,
                "terms": lexicon.document_terms(document.title, document.text),
                "chunks": [
                    dict(c.to_dict(), tokens=tokenize(t))
                    for c, t in zip(item.chunks, item.texts, strict=True)
                ],
            }
            relative = _write_document_file(self.index_dir, document.doc_id, payload)
            files.append(relative)
            old_entries.append(self.manifest.documents.get(document.doc_id) or {})
            source = "override" if item.override else ("metadata" if document.doc_type else "detected")
            self.manifest.documents[document.doc_id] = {
                "path": stored_path(self.index_dir, document.path),
                "raw_hash": document.raw_hash,
                "title": document.title,
                "doc_type": item.doc_type,
                "type_source": source,
                "type_confidence": round(float(parsed.type_confidence), 3),
                "sections": sum(1 for _ in parsed.walk()),
                "chars": len(document.text),
                "encoding": document.encoding,
                "source": document.source,
                "chunk_ids": [c.chunk_id for c in item.chunks],
                "chunker": self.signature,
                "file": relative,
                "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                **({"part": item.part, "parts": item.parts} if item.part else {}),
                **item.extra,
            }
        self.manifest.save()
        stale: set[str] = set()
        for item, old in zip(group, old_entries, strict=True):
            stale |= set(old.get("chunk_ids", [])) - {c.chunk_id for c in item.chunks}
        stale -= self.manifest.live_chunk_ids() if stale else set()
        if stale:
            self.store.delete_ids(sorted(stale))
        for old, relative in zip(old_entries, files, strict=True):
            self._drop_file(old.get("file"), keep=relative)
        return [(len(item.chunks), count) for item, count in zip(group, embedded, strict=True)]

    def remove(self, doc_id: str) -> None:
        entry = self.manifest.documents.pop(doc_id)
        self.manifest.save()
        self.store.delete_ids(entry.get("chunk_ids", []))
        self.store.delete_doc(doc_id)
        self._drop_file(entry.get("file"))

    def _drop_file(self, relative: str | None, keep: str | None = None) -> None:
        if relative and relative != keep:
            (self.index_dir / relative).unlink(missing_ok=True)

    def rebuild_keyword(self) -> KeywordIndex:
        index = build_keyword_index(self.manifest)
        index.save(self.index_dir, self.manifest.generation)
        remember(self.index_dir, self.manifest.generation, index)
        return index


def build_keyword_index(manifest: Manifest) -> KeywordIndex:
    """BM25 over the live chunks of ``manifest``, from the tokens stored with each document."""
    ids: list[str] = []
    tokens: list[list[str]] = []
    for _, entry in manifest.in_order():
        stored = {c["chunk_id"]: c for c in read_document_file(manifest.index_dir, entry)["chunks"]}
        for cid in entry.get("chunk_ids", []):
            if cid in stored:
                ids.append(cid)
                tokens.append(stored[cid]["tokens"])
    return KeywordIndex.build(ids, tokens)


def _open_for_write(settings: Settings, embedder: Embedder, rebuild: bool) -> Manifest:
    index_dir = Path(settings.index_dir)
    old: Manifest | None
    try:
        old = Manifest.read(index_dir)
    except (IndexMismatchError, IndexDamagedError):
        if not rebuild:
            raise
        old = None  # a rebuild discards whatever it cannot read
    if old is not None and not rebuild:
        old.check_embedder(embedder.name, embedder.dim)
        manifest = old
    else:
        if rebuild:
            integrity.begin_rebuild(index_dir)
            _wipe(settings, old)
        manifest = Manifest.new(index_dir, embedder, settings)
        if old is not None:
            manifest.overrides = dict(old.overrides)  # a corrected type survives a rebuild
            manifest.generation = old.generation
        manifest.save()
    drop_orphans(settings, manifest.collection)  # e.g. the collection of a manifest that was lost
    return manifest


def _wipe(settings: Settings, old: Manifest | None) -> None:
    """Discard every derived file: the embedded Chroma database as a whole (ours alone: whatever state it
    is in, damaged or holding orphaned collections, it is not opened), or on a server the collection the
    manifest names; stored documents, BM25, the saved vectors and the manifest."""
    index_dir = Path(settings.index_dir)
    if settings.chroma_url.strip():
        if old is not None:
            open_store(settings, old.collection).drop()
    else:
        discard_local(settings)
    for name in (DOCUMENTS, "bm25", "bm25.tmp", "bm25.old"):
        shutil.rmtree(index_dir / name, ignore_errors=True)
    for name in (MANIFEST, "vectors.npz"):
        (index_dir / name).unlink(missing_ok=True)


def _covered(path: Path, roots: list[Path]) -> bool:
    """Whether a document's file lies in one of the ingested folders (or is one of the named files)."""
    if not str(path) or path == Path():
        return False
    return any(path == root or (root.is_dir() and path.is_relative_to(root)) for root in roots)


def _inside_roots(files: list[Path], roots: list[Path]) -> tuple[list[Path], dict[Path, Path]]:
    """``files`` whose real location lies inside one of ``roots`` (or is one of them), and the others — links
    out of the corpus — mapped to where they lead."""
    inside: list[Path] = []
    outside: dict[Path, Path] = {}
    for path in files:
        real = path.resolve()
        if any(real == root or (root.is_dir() and real.is_relative_to(root)) for root in roots):
            inside.append(path)
        else:
            outside[path] = real
    return inside, outside


def _root_of(path: Path, roots: list[Path]) -> Path:
    """The ingested folder a file was found under (its own folder when it was named directly); doc ids
    are relative to it, so files in subfolders get distinct ids."""
    folders = [r for r in roots if r.is_dir() and path.is_relative_to(r)]
    return min(folders, key=lambda r: len(r.parts)) if folders else path.parent


def _commit_group(
    indexer: _Indexer, group: list[tuple[_Prepared, bool]], report: IngestReport, bar: _Progress
) -> bool:
    """Commit the pending documents (emptying ``group``); whether there were any."""
    if not group:
        return False
    items = [item for item, _ in group]
    counts = indexer.commit(items, ready=lambda item: bar.step(item.document.title))
    for (item, replaces), (written, embedded) in zip(group, counts, strict=True):
        (report.updated if replaces else report.added).append(item.document.doc_id)
        report.chunks_written += written
        report.chunks_embedded += embedded
    group.clear()
    return True


def ingest(
    paths: list[Path],
    settings: Settings,
    rebuild: bool = False,
    progress: Progress | None = None,
    isolate: bool = False,
) -> IngestReport:
    """Bring the index in step with the files under ``paths``: add new, replace changed, skip unchanged,
    remove documents whose files are gone from an ingested folder. A file that cannot be read is reported
    in ``errors`` (its indexed version, if any, is kept) and the other files are still ingested. A file that
    holds several documents (a 合集) is indexed as one document per part. With ``isolate`` each file is read
    and parsed in a worker process with a time and memory limit (web uploads: a hostile file fails alone)."""
    started = time.perf_counter()
    report = IngestReport()
    roots = [Path(p).expanduser().resolve() for p in (paths or [settings.corpus_dir])]
    for root in roots:
        if not root.exists():
            raise InputError(f"找不到要入库的路径：{root}。请检查文件或文件夹名。")
    # a file keeps the path it has under its folder (a link is not followed to its target, so a deleted
    # link is noticed); a link that leads out of every ingested folder is refused
    files, links_out = _inside_roots([Path(f).absolute() for f in loaders.corpus_files(roots)], roots)
    for link, target in links_out.items():
        report.errors.append(
            f"文件 {link} 是指向范文文件夹以外（{target}）的链接，未入库。"
            "范文须放在范文文件夹之内：请把文件本身复制进来，而不是建立链接。"
        )
    embedder = get_embedder(settings)
    index_dir = Path(settings.index_dir)
    with _write_lock(index_dir):
        sync_store(settings)
        manifest = _open_for_write(settings, embedder, rebuild)
        indexer = _Indexer(settings, manifest, embedder)
        stray = indexer.check_leftovers()
        catalogs: dict[Path, dict | None] = {}
        # a file (and each part of a 合集) keeps the id it was first indexed under, wherever the project lies
        by_path = {
            (str(entry_path(index_dir, e)), e.get("part", 0)): doc_id
            for doc_id, e in manifest.documents.items()
        }
        moved = False  # entries that now name a moved or copied file, or were migrated (saved at the end)
        followed: set[str] = set()  # documents found again, unchanged, in a moved or copied project folder
        for entry in manifest.documents.values():  # a manifest of absolute paths: stored relative from now on
            if entry.get("path") and entry["path"] != stored_path(index_dir, entry_path(index_dir, entry)):
                entry["path"] = stored_path(index_dir, entry_path(index_dir, entry))
                moved = True
        loaded_ids: dict[str, Path] = {}
        failed: set[Path] = set()
        bar = _Progress(len(files), progress)
        changed = False
        group: list[tuple[_Prepared, bool]] = []  # prepared documents, and whether each replaces an entry
        try:
            for path in files:
                folder = path.parent
                if folder not in catalogs:
                    try:
                        catalogs[folder] = loaders.load_catalog(folder)
                    except UserError as exc:
                        catalogs[folder] = None
                        report.errors.append(str(exc))
                if catalogs[folder] is None:  # a broken catalog: keep that folder's documents as indexed
                    failed.add(path)
                    bar.step(path.name)
                    continue
                meta = catalogs[folder].get(path.name, {})
                unchanged = indexer.unchanged_file(path, meta)
                if unchanged:  # every document of the file is indexed as it is now: nothing to read
                    for doc_id in unchanged:
                        loaded_ids[doc_id] = path
                        report.skipped.append(doc_id)
                    bar.total += len(unchanged) - 1
                    for doc_id in unchanged:
                        bar.step(manifest.documents[doc_id].get("title", path.name))
                    continue
                try:
                    read = read_file(
                        path, catalogs[folder].get(path.name, {}), _root_of(path, roots), settings, isolate
                    )
                except UserError as exc:
                    failed.add(path)
                    kept = any(p == str(path) for p, _ in by_path)  # indexed earlier, as it was then
                    report.errors.append(str(exc) + ("此前入库的版本仍保留在索引中。" if kept else ""))
                    bar.step(path.name)
                    continue
                bar.total += len(read) - 1
                for number, item in enumerate(read, 1):
                    part = number if len(read) > 1 else 0
                    changed = (
                        _add(
                            indexer,
                            item,
                            path,
                            part,
                            len(read),
                            by_path,
                            followed,
                            loaded_ids,
                            failed,
                            group,
                            report,
                            bar,
                        )
                        or changed
                    )
            changed = _commit_group(indexer, group, report, bar) or changed
            refused = set(links_out) | set(links_out.values())  # indexed through such a link before: dropped
            for doc_id, entry in list(manifest.documents.items()):
                known = entry_path(index_dir, entry)
                if doc_id in loaded_ids or known in failed:
                    continue
                if _covered(known, roots) or known in refused:
                    indexer.remove(doc_id)
                    report.removed.append(doc_id)
                    changed = True
        finally:
            bar.close()
        indexer.drop_stray(stray)
        marked = duplicates.mark(manifest.documents)  # near duplicates, among the documents as they are now
        changed = changed or marked
        if moved or followed or marked:
            manifest.save()
        if changed or KeywordIndex.load(index_dir, manifest.generation) is None:
            indexer.rebuild_keyword()
        if rebuild:
            integrity.end_rebuild(index_dir)  # complete: readers may use it again
        report.chunks_total = len(manifest.live_chunk_ids())
        report.documents_total = len(manifest.documents)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _add(
    indexer: _Indexer,
    item: ReadDocument,
    path: Path,
    part: int,
    parts: int,
    by_path: dict[tuple[str, int], str],
    followed: set[str],
    loaded_ids: dict[str, Path],
    failed: set[Path],
    group: list[tuple[_Prepared, bool]],
    report: IngestReport,
    bar: _Progress,
) -> bool:
    """Queue one document of a file for indexing (or skip it when unchanged); commits a full group. Returns
    whether the index changed."""
    manifest = indexer.manifest
    document = item.document
    doc_id = by_path.get((str(path), part), document.doc_id)
    if doc_id != document.doc_id:
        document = replace(document, doc_id=doc_id)
    document = replace(document, path=str(path))
    if doc_id in loaded_ids:
        failed.add(path)
        report.errors.append(
            f"文件 {path} 的文档编号“{doc_id}”与 {loaded_ids[doc_id]} 重复，未入库。请给其中一个改名。"
        )
        bar.step(path.name)
        return False
    entry = manifest.documents.get(doc_id)
    known = entry_path(indexer.index_dir, entry) if entry else None
    if (
        entry
        and known != path
        and entry.get("raw_hash") == document.raw_hash
        and entry.get("part", 0) == part
    ):
        entry["path"] = stored_path(indexer.index_dir, path)  # the same document in a moved or copied
        followed.add(doc_id)  # project folder: it is followed, not refused as a namesake
    elif entry and known != path and known.exists():
        failed.add(path)
        report.errors.append(
            f"文件 {path} 的文档编号“{doc_id}”与已入库的 {known} 重复，未入库。请给其中一个改名。"
        )
        bar.step(path.name)
        return False
    loaded_ids[doc_id] = path
    if indexer.is_current(document) and entry.get("part", 0) == part:
        report.skipped.append(doc_id)
        bar.step(document.title)
        return False
    try:
        read = item if item.document == document else None
        group.append((indexer.prepare(document, read, part, parts), bool(entry)))
    except InputError as exc:  # the parser refused it; nothing was written for it
        failed.add(path)
        report.errors.append(f"文件 {path} 无法解析：{exc}")
        bar.step(path.name)
        return False
    if sum(len(prepared.chunks) for prepared, _ in group) >= GROUP_CHUNKS:
        return _commit_group(indexer, group, report, bar)
    return False


# ---- corpus management ------------------------------------------------------------------------------------


def list_documents(settings: Settings) -> list[dict[str, Any]]:
    """The indexed documents (empty when there is no index yet), in file-name order (the parts of a 合集
    in their order). Besides the type, each row carries ``warnings`` (hygiene warnings, then near-duplicate
    documents: dicts with ``kind``, ``label``, ``text``, ``context``; at most 20 stored per document),
    ``warning_counts`` (all of them, by kind),
    ``type_candidates`` (the two likeliest ``[type, confidence]`` when the type is 未识别, else []),
    ``source_file`` (the file's path) and ``part`` (k when the file holds several documents, else 0) with
    ``parts``."""
    integrity.check_complete(Path(settings.index_dir))
    manifest = Manifest.read(Path(settings.index_dir))
    if manifest is None:
        return []
    out = []
    for doc_id, entry in manifest.documents.items():
        warnings = list(entry.get("warnings", []))
        for other, score in entry.get("near_duplicates", []):
            title = manifest.documents.get(other, {}).get("title", other)
            warnings.append(
                {
                    "kind": "duplicate",
                    "label": "疑似重复文档",
                    "text": other,
                    "context": f"与《{title}》（{other}）的文字约 {round(score * 100)}% 相同",
                }
            )
        unknown = entry.get("doc_type", "") == UNKNOWN_TYPE
        out.append(
            {
                "doc_id": doc_id,
                "title": entry.get("title", ""),
                "doc_type": entry.get("doc_type", ""),
                "type_source": entry.get("type_source", ""),
                "type_confidence": entry.get("type_confidence"),
                "sections": entry.get("sections", 0),
                "chunks": len(entry.get("chunk_ids", [])),
                "chars": entry.get("chars", 0),
                "path": str(entry_path(manifest.index_dir, entry)) if entry.get("path") else "",
                "ingested_at": entry.get("ingested_at", ""),
                "warnings": warnings,
                "warning_counts": _counts(entry),
                "type_candidates": entry.get("type_candidates", []) if unknown else [],
                "source_file": str(entry_path(manifest.index_dir, entry)) if entry.get("path") else "",
                "part": entry.get("part", 0),
                "parts": entry.get("parts", 1),
            }
        )
    return sorted(out, key=lambda d: (Path(d["path"]).name, d["part"], d["doc_id"]))


def _counts(entry: dict[str, Any]) -> dict[str, int]:
    counts = dict(entry.get("warning_counts", {}))
    if entry.get("near_duplicates"):
        counts["duplicate"] = len(entry["near_duplicates"])
    return counts


def document_sections(settings: Settings, doc_id: str) -> list[dict[str, Any]]:
    """The stored section summary of one indexed document (heading, level, role, span)."""
    manifest = require_manifest(settings)
    entry = _entry(manifest, doc_id)
    return list(read_document_file(manifest.index_dir, entry)["sections"])


def _entry(manifest: Manifest, doc_id: str) -> dict[str, Any]:
    if doc_id not in manifest.documents:
        raise InputError(
            f"索引中没有编号为“{doc_id}”的文档。可运行 python -m assistant corpus list 查看已入库的文档。"
        )
    return manifest.documents[doc_id]


def _writer(settings: Settings) -> tuple[Manifest, _Indexer]:
    sync_store(settings)
    manifest = require_manifest(settings)
    embedder = get_embedder(settings)
    manifest.check_embedder(embedder.name, embedder.dim)
    return manifest, _Indexer(settings, manifest, embedder)


def delete_document(settings: Settings, doc_id: str, remove_file: bool = False) -> Path | None:
    """Remove a document from Chroma, BM25, the manifest and the stored texts. With ``remove_file`` its file
    also leaves the corpus folder (otherwise the next ingest of that folder adds it again): it is moved to
    a ``DELETED_FOLDER`` beside it, which ingest skips like every hidden folder, so a writer who deleted the
    wrong example can move it back. Returns where the file went (None when it was not moved). A part of a
    合集 is deleted alone, unless ``remove_file`` moves the file away: then every part of it goes."""
    with _write_lock(Path(settings.index_dir)):
        manifest, indexer = _writer(settings)
        entry = _entry(manifest, doc_id)
        doomed = [doc_id]
        if remove_file and entry.get("part"):
            source = entry_path(manifest.index_dir, entry)
            doomed += [
                k
                for k, e in manifest.documents.items()
                if k != doc_id and entry_path(manifest.index_dir, e) == source
            ]
        for name in doomed:
            indexer.remove(name)
            manifest.overrides.pop(name, None)
        duplicates.mark(manifest.documents)
        manifest.save()
        indexer.rebuild_keyword()
        source = entry_path(manifest.index_dir, entry) if remove_file and entry.get("path") else None
        if source is None or not source.exists():
            return None
        target = source.parent / DELETED_FOLDER / source.name
        if target.exists():
            target = target.with_name(f"{source.stem}-{time.strftime('%Y%m%d-%H%M%S')}{source.suffix}")
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(source, target)
        except OSError as exc:
            raise StorageError(
                f"已从索引中删除，但原文件 {source} 无法移到 {target.parent}（{describe_os_error(exc)}）。"
                "请手动移走该文件，否则再次入库会重新加入。"
            ) from exc
        return target


def set_document_type(settings: Settings, doc_id: str, doc_type: str | None) -> None:
    """Correct a document's type (None clears the correction). Recorded as an override that later ingests
    keep, and applied now by re-indexing the stored document, so chunk metadata and roles follow it."""
    if doc_type:
        get_doctype(doc_type, settings.prompts_dir)  # unknown names raise an error listing the valid ones
    with _write_lock(Path(settings.index_dir)):
        manifest, indexer = _writer(settings)
        entry = _entry(manifest, doc_id)
        if doc_type:
            manifest.overrides[doc_id] = doc_type
        else:
            manifest.overrides.pop(doc_id, None)
        stored = read_document_file(manifest.index_dir, entry)
        document = Document(**stored["document"])
        document = replace(document, path=str(entry_path(manifest.index_dir, entry)))
        indexer.index(document, entry.get("part", 0), entry.get("parts", 1))
        if duplicates.mark(manifest.documents):
            manifest.save()
        indexer.rebuild_keyword()
