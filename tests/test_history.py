"""The per-user draft history (SQLite under the data folder): save, list, reopen, duplicate, delete, and one
user never reaching another's drafts."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.errors import StorageError
from assistant.history import FILE_NAME, History
from assistant.records import Draft, DraftParagraph, DraftRequest, DraftSection, Source
from assistant.settings import load_settings


def _record(topic: str = "2024年度抓基层党建工作") -> dict:
    request = DraftRequest("duty-report", topic, "市医保局机关党支部", materials=["全年开展主题党日12次。"])
    body = DraftParagraph("认真落实三会一课制度。", "body", 0, [1])
    draft = Draft(
        doc_type="duty-report",
        title=f"{topic}述职报告",
        sections=[DraftSection("duties", "achievements", "", body.text, ["c1"], 1, [body])],
        text=body.text,
        sources=[Source(1, "c1", "d1", "范文", "一、履职情况", "achievements", "原文")],
        request=request,
    )
    return {
        "request": request.to_dict(),
        "materials": request.materials,
        "outline": {"doc_type": "duty-report", "title": draft.title, "items": []},
        "draft": draft.to_dict(),
        "retrieved": {"duties": [{"chunk_id": "c1"}]},
    }


def test_a_saved_draft_is_listed_and_reopens_whole(tmp_path: Path) -> None:
    history = History(tmp_path)
    draft_id = history.save("alice", _record())
    [entry] = history.list("alice")
    assert (entry.id, entry.title, entry.doc_type) == (
        draft_id,
        "2024年度抓基层党建工作述职报告",
        "duty-report",
    )
    record = History(tmp_path).get("alice", draft_id)  # a new object: read from disk
    draft = Draft.from_dict(record["draft"])
    assert draft.sources[0].chunk_id == "c1" and draft.request.materials == ["全年开展主题党日12次。"]
    assert record["materials"] == ["全年开展主题党日12次。"] and record["retrieved"]["duties"]
    assert (tmp_path / FILE_NAME).is_file()


def test_saving_again_updates_the_same_record_and_moves_it_first(tmp_path: Path) -> None:
    history = History(tmp_path)
    first = history.save("alice", _record("甲"))
    second = history.save("alice", _record("乙"))
    assert [e.id for e in history.list("alice")] == [second, first]
    edited = _record("甲")
    edited["draft"]["title"] = "甲（改）"
    assert history.save("alice", edited, draft_id=first) == first
    assert [e.title for e in history.list("alice")] == ["甲（改）", "乙述职报告"]


def test_users_never_see_or_change_each_others_drafts(tmp_path: Path) -> None:
    history = History(tmp_path)
    mine = history.save("alice", _record())
    assert history.list("bob") == []
    assert history.get("bob", mine) is None
    assert history.delete("bob", mine) is False
    assert history.duplicate("bob", mine) is None
    # bob saving "over" alice's id starts a record of his own and leaves hers alone
    theirs = history.save("bob", _record("乙"), draft_id=mine)
    assert theirs != mine
    assert history.get("alice", mine)["draft"]["title"] == "2024年度抓基层党建工作述职报告"


def test_duplicate_and_delete(tmp_path: Path) -> None:
    history = History(tmp_path)
    original = history.save("alice", _record())
    copy = history.duplicate("alice", original)
    assert copy and copy != original
    assert history.get("alice", copy)["draft"]["title"].endswith("（副本）")
    assert history.delete("alice", original) is True
    assert [e.id for e in history.list("alice")] == [copy]
    assert history.get("alice", original) is None


def test_concurrent_saves_from_several_threads_all_land(tmp_path: Path) -> None:
    history = History(tmp_path)
    errors: list[BaseException] = []

    def save(n: int) -> None:
        try:
            for i in range(5):
                history.save(f"user{n}", _record(f"主题{n}-{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(len(history.list(f"user{n}")) == 5 for n in range(4))


def test_a_damaged_file_gives_a_chinese_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="移走"):
        History(tmp_path).list("alice")


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / FILE_NAME)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(StorageError, match="更新版本"):
        History(tmp_path).list("alice")


def test_data_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings()
    History.open(settings).save("alice", _record())
    assert (tmp_path / "elsewhere" / FILE_NAME).is_file()
