"""Per-user draft history: every finished draft (request, materials, outline, draft with its sources) kept on
the server in one SQLite file under ``settings.data_dir``.

Each record is one JSON document in a row keyed by an id and its owner, with the columns a list needs (title,
type, times) beside it. Every query names the owner, so one user can never read, change or delete another's
drafts, whatever id they send. The trade-off: the draft is stored whole, not in normalised tables, so a
record is read and written in one statement and old records keep loading when the ``Draft`` grows fields
(``Draft.from_dict`` ignores unknown keys); searching inside drafts is not offered. The file starts with a
format version (``PRAGMA user_version``) and migrations are an ordered list, as simonw/llm keeps them.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import StorageError, describe_os_error

FILE_NAME = "history.sqlite3"
MIGRATIONS = (
    """CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        title TEXT NOT NULL,
        doc_type TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX drafts_by_owner ON drafts (owner, updated)",
)
RECORD_KEYS = ("request", "materials", "outline", "draft", "retrieved")
COPY_SUFFIX = "（副本）"


@dataclass(frozen=True)
class Entry:
    """One line of a user's history list."""

    id: str
    title: str
    doc_type: str
    created: float
    updated: float


class History:
    """The history file under ``data_dir``; each call opens its own connection (safe across threads)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._ready = False

    @classmethod
    def open(cls, settings: Any) -> History:
        return cls(Path(settings.data_dir))

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=15)
            connection.execute("PRAGMA journal_mode=WAL")
            if not self._ready:
                self._migrate(connection)
                self._ready = True
        except OSError as exc:
            raise StorageError(describe_os_error(exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(_damaged(self.path, exc)) from exc
        return connection

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the file to the current format, in one write transaction (two processes or threads
        opening a new file at once must not both create the table)."""
        connection.isolation_level = None
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise StorageError(
                    f"草稿历史文件 {self.path} 由更新版本的程序写入，无法读取：请升级程序，或把该文件移走后重试。"
                )
            for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
                connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.isolation_level = ""

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        connection = self._connect()
        try:
            with connection:
                return connection.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StorageError("草稿历史正忙（另一个操作尚未完成），请稍后重试。") from exc
            raise StorageError(_damaged(self.path, exc)) from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(_damaged(self.path, exc)) from exc
        finally:
            connection.close()

    # ---- records --------------------------------------------------------------------------------------

    def save(self, owner: str, record: dict[str, Any], draft_id: str | None = None) -> str:
        """Store ``record`` (keys of ``RECORD_KEYS``) for ``owner``; with ``draft_id`` of one of the owner's
        records, replace it. Returns the record's id. An id the owner does not have starts a new record."""
        data = {k: record.get(k) for k in RECORD_KEYS}
        title, doc_type = _title_and_type(data)
        text = json.dumps(data, ensure_ascii=False)
        now = time.time()
        if draft_id and self._run(
            "UPDATE drafts SET title = ?, doc_type = ?, updated = ?, data = ? WHERE id = ? AND owner = ?"
            " RETURNING id",
            (title, doc_type, now, text, draft_id, owner),
        ):
            return draft_id
        new_id = uuid.uuid4().hex
        self._run(
            "INSERT INTO drafts (id, owner, title, doc_type, created, updated, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (new_id, owner, title, doc_type, now, now, text),
        )
        return new_id

    def list(self, owner: str) -> list[Entry]:
        """The owner's records, most recently changed first."""
        rows = self._run(
            "SELECT id, title, doc_type, created, updated FROM drafts WHERE owner = ?"
            " ORDER BY updated DESC, created DESC",
            (owner,),
        )
        return [Entry(*row) for row in rows]

    def get(self, owner: str, draft_id: str) -> dict[str, Any] | None:
        """The owner's record ``draft_id`` (with ``id``, ``created``, ``updated``), or None."""
        rows = self._run(
            "SELECT data, created, updated FROM drafts WHERE id = ? AND owner = ?", (draft_id or "", owner)
        )
        if not rows:
            return None
        try:
            data = json.loads(rows[0][0])
        except json.JSONDecodeError as exc:
            raise StorageError(f"草稿历史中的这篇草稿已损坏，无法打开：{exc}。可将其删除。") from exc
        return {**data, "id": draft_id, "created": rows[0][1], "updated": rows[0][2]}

    def delete(self, owner: str, draft_id: str) -> bool:
        """Remove the owner's record; False when there is none by that id."""
        return bool(
            self._run("DELETE FROM drafts WHERE id = ? AND owner = ? RETURNING id", (draft_id or "", owner))
        )

    def duplicate(self, owner: str, draft_id: str) -> str | None:
        """A copy of the owner's record as a new record (its title marked as a copy); None if not found."""
        record = self.get(owner, draft_id)
        if record is None:
            return None
        draft = record.get("draft")
        if isinstance(draft, dict) and draft.get("title") and not draft["title"].endswith(COPY_SUFFIX):
            record["draft"] = {**draft, "title": draft["title"] + COPY_SUFFIX}
        return self.save(owner, record)


def _title_and_type(data: dict[str, Any]) -> tuple[str, str]:
    draft = data.get("draft") if isinstance(data.get("draft"), dict) else {}
    request = data.get("request") if isinstance(data.get("request"), dict) else {}
    outline = data.get("outline") if isinstance(data.get("outline"), dict) else {}
    title = draft.get("title") or outline.get("title") or request.get("topic") or "未命名草稿"
    doc_type = draft.get("type") or draft.get("doc_type") or request.get("doc_type") or ""
    return str(title), str(doc_type)


def _damaged(path: Path, exc: Exception) -> str:
    return (
        f"草稿历史文件 {path} 无法读写（{exc}）。请检查磁盘；文件损坏时可把它移走，程序会新建一个空的历史。"
    )
