"""Integrity of an index folder: every part is checked when read, and a damaged one is named in Chinese
with the way out (``ingest --rebuild``, which discards every derived file and always recovers).

The parts and their checks:
  manifest.json      its shape: the right types for every field and every document entry (``check_manifest``)
  documents/*.json   content-addressed: the name carries the first 12 hex digits of the content's SHA-256,
                     so a truncated or overwritten file is recognised without parsing (``read_document``)
  bm25/              checksums of its files in its meta.json (``keyword.KeywordIndex.load``); a damaged one
                     is rebuilt from the stored tokens, never used
  vectors.npz        keyed by manifest generation and read with zip CRCs; falls back to Chroma
  chroma/            SQLite and HNSW errors become ``IndexDamagedError`` in ``store.py``

A rebuild marks the folder (``REBUILDING``) before it discards anything and unmarks it when it is complete.
A reader that finds the mark while the rebuild's writer still holds the folder's lock is told the index is
being rebuilt; one that finds it with no writer knows the rebuild was killed and the index is partial. The
trade-off: searches during a rebuild are refused rather than answered from the previous index (keeping the
previous index would double the disk for the rebuild's duration and need a switch-over step); they say so,
and the web app answers again as soon as the rebuild ends.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import IndexBusyError, IndexDamagedError

REBUILD_MARKER = "REBUILDING"
LOCK = ".lock"
REBUILD_HINT = "请运行 python -m assistant ingest --rebuild 重建索引（范文文件本身不受影响）。"
_DIGEST_RE = re.compile(r"\.([0-9a-f]{12})\.json$")


def damaged(part: str, path: Path | str, why: str) -> IndexDamagedError:
    """The error for a damaged index part: which part, where, why, and what to do."""
    return IndexDamagedError(f"索引的{part}（{path}）已损坏或不完整：{why}。{REBUILD_HINT}")


# ---- manifest --------------------------------------------------------------------------------------------
_ENTRY_FIELDS: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "raw_hash": str,
    "title": str,
    "doc_type": str,
    "chunk_ids": list,
    "file": str,
}


def check_manifest(data: Any, path: Path) -> None:
    """Raise ``IndexDamagedError`` naming ``path`` unless ``data`` (a parsed manifest of the current format)
    has the shape the index code relies on."""

    def bad(why: str) -> IndexDamagedError:
        return damaged("清单文件", path, why)

    embedder = data.get("embedder")
    if not isinstance(embedder, dict) or not isinstance(embedder.get("name"), str):
        raise bad("缺少嵌入模型信息（embedder）")
    if not isinstance(data.get("collection"), str) or len(data["collection"]) < 3:
        raise bad("缺少向量集合名称（collection）")
    if not isinstance(data.get("generation", 0), int):
        raise bad("版本号（generation）不是整数")
    for key in ("chunker", "overrides", "documents"):
        if not isinstance(data.get(key) or {}, dict):
            raise bad(f"“{key}”应为映射")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in (data.get("overrides") or {}).items()):
        raise bad("文种更正（overrides）格式不对")
    for doc_id, entry in (data.get("documents") or {}).items():
        if not isinstance(entry, dict):
            raise bad(f"文档“{doc_id}”的记录不是映射")
        for key, kind in _ENTRY_FIELDS.items():
            if key in entry and not isinstance(entry[key], kind):
                raise bad(f"文档“{doc_id}”的“{key}”类型不对")
        if not isinstance(entry.get("file"), str) or not all(isinstance(c, str) for c in entry.get("chunk_ids", [])):
            raise bad(f"文档“{doc_id}”缺少存储文件或片段编号")


# ---- stored documents ------------------------------------------------------------------------------------


def file_digest(text: str) -> str:
    """The digest a stored document's file name carries (``<doc>.<digest>.json``)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def read_document(path: Path) -> dict[str, Any]:
    """A stored document file, checked against the digest in its name and for its shape; raises
    ``IndexDamagedError`` naming the file when it is missing, truncated, overwritten or of the wrong shape."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise damaged("范文存储文件", path, "文件不存在") from None
    except OSError as exc:
        raise damaged("范文存储文件", path, f"无法读取（{exc.strerror or exc}）") from exc
    expected = _DIGEST_RE.search(path.name)
    if expected and hashlib.sha256(data).hexdigest()[:12] != expected.group(1):
        raise damaged("范文存储文件", path, f"内容与校验值不符（{len(data)} 字节，可能被截断或改写）")
    try:
        stored = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise damaged("范文存储文件", path, f"不是有效的 JSON（{exc}）") from exc
    chunks = stored.get("chunks") if isinstance(stored, dict) else None
    if (
        not isinstance(chunks, list)
        or not isinstance(stored.get("document"), dict)
        or not all(isinstance(c, dict) and isinstance(c.get("chunk_id"), str) for c in chunks)
    ):
        raise damaged("范文存储文件", path, "内容结构不对")
    return stored


def document_intact(path: Path) -> bool:
    """Whether a stored document file reads back whole (for ingest, which re-creates a damaged one)."""
    try:
        read_document(path)
    except IndexDamagedError:
        return False
    return True


# ---- rebuilds --------------------------------------------------------------------------------------------


def begin_rebuild(index_dir: Path) -> None:
    """Mark ``index_dir`` as being rebuilt (before anything is discarded)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    marker = index_dir / REBUILD_MARKER
    marker.write_text(
        json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}), encoding="utf-8"
    )


def end_rebuild(index_dir: Path) -> None:
    """The rebuild is complete: unmark ``index_dir``."""
    (index_dir / REBUILD_MARKER).unlink(missing_ok=True)


def _writer_active(index_dir: Path) -> bool:
    """Whether a writer (an ingest) holds ``index_dir``'s lock now."""
    try:
        fd = os.open(index_dir / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def check_complete(index_dir: Path) -> None:
    """Raise ``IndexBusyError`` while a rebuild of ``index_dir`` runs, and ``IndexDamagedError`` when one was
    interrupted (the index then holds only the documents it reached)."""
    marker = Path(index_dir) / REBUILD_MARKER
    if not marker.exists():
        return
    if _writer_active(Path(index_dir)):
        raise IndexBusyError(
            f"索引 {index_dir} 正在重建（ingest --rebuild 进行中），完成前无法检索或起草。请等重建结束后再试。"
        )
    raise IndexDamagedError(
        f"索引 {index_dir} 上次重建（ingest --rebuild）未完成就中断了，当前索引只包含部分范文。"
        "请重新运行 python -m assistant ingest --rebuild。"
    )
