"""The index commands as a user runs them: ``ingest``, ``search``, ``corpus list|delete|set-type``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.index.ingest import Manifest
from assistant.settings import Settings

RESEARCH = "004_98979e0a19b40566"


@pytest.fixture
def hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_twice_then_nothing_changed(hashing, corpus_copy: Path, tmp_path: Path, capsys) -> None:
    index = str(tmp_path / "idx")
    code, out, err = _run(capsys, "ingest", str(corpus_copy), "--index", index)
    assert code == 0, err
    assert "新增 5 篇" in out and "写入片段" in out and "共 5 篇文档" in out
    chunks = sum(len(e["chunk_ids"]) for e in Manifest.read(Path(index)).documents.values())
    assert f"写入片段 {chunks} 个" in out
    code, out, err = _run(capsys, "ingest", str(corpus_copy), "--index", index)
    assert code == 0
    assert out.startswith("没有变化：5 篇文档均未改动，未写入任何片段。")


def test_ingest_defaults_to_the_corpus_dir_and_index_env(
    hashing, corpus_copy, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus_copy))
    code, out, _ = _run(capsys, "ingest")
    assert code == 0 and "新增 5 篇" in out
    assert (tmp_path / "index" / "manifest.json").is_file()  # ASSISTANT_INDEX_DIR from the autouse fixture


def test_explicit_corrupt_file_exits_non_zero_and_keeps_the_index(
    hashing, corpus_copy, tmp_path, capsys
) -> None:
    index = tmp_path / "idx"
    assert _run(capsys, "ingest", str(corpus_copy), "--index", str(index))[0] == 0
    before = (index / "manifest.json").read_text(encoding="utf-8")
    bad = tmp_path / "扫描件.docx"
    bad.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    code, out, err = _run(capsys, "ingest", str(bad), "--index", str(index))
    assert code != 0
    error_lines = [line for line in err.splitlines() if line.startswith("错误：")]
    assert len(error_lines) == 1 and "扫描件.docx" in error_lines[0]
    assert (index / "manifest.json").read_text(encoding="utf-8") == before
    code, out, _ = _run(capsys, "search", "三会一课", "--index", str(index), "--json")
    assert code == 0 and json.loads(out)


def test_missing_path_is_one_clear_line(hashing, tmp_path, capsys) -> None:
    code, out, err = _run(capsys, "ingest", str(tmp_path / "无此文件夹"), "--index", str(tmp_path / "idx"))
    assert code == 2 and err.count("\n") == 1 and "找不到" in err and "无此文件夹" in err


def test_search_json_and_plain(hashing, corpus_copy, tmp_path, capsys) -> None:
    index = str(tmp_path / "idx")
    _run(capsys, "ingest", str(corpus_copy), "--index", index)
    code, out, _ = _run(
        capsys,
        "search",
        "党员示范岗 党员责任区",
        "--type",
        "research-report",
        "-k",
        "3",
        "--json",
        "--index",
        index,
    )
    assert code == 0
    rows = json.loads(out)
    assert 1 <= len(rows) <= 3
    for row in rows:
        assert {"text", "doc_id", "title", "type", "heading_path", "role", "score", "chunk_id"} <= set(row)
        assert row["type"] == "research-report"
    assert "党员示范岗" in rows[0]["text"]
    code, out, _ = _run(capsys, "search", "党员示范岗 党员责任区", "--role", "measures", "--index", index)
    assert code == 0 and out.startswith("1. 《") and "measures" in out and "位置：" in out


def test_search_errors(hashing, corpus_copy, tmp_path, capsys) -> None:
    code, _, err = _run(capsys, "search", "党建", "--index", str(tmp_path / "none"))
    assert code == 2 and "索引不存在：请先运行 python -m assistant ingest" in err
    index = str(tmp_path / "idx")
    _run(capsys, "ingest", str(corpus_copy), "--index", index)
    code, _, err = _run(capsys, "search", "党建", "--type", "novel", "--index", index)
    assert code == 2 and "research-report" in err
    code, _, err = _run(capsys, "search", "  ", "--index", index)
    assert code == 2 and "检索内容为空" in err


def test_mismatched_embedder_is_refused(hashing, corpus_copy, tmp_path, monkeypatch, capsys) -> None:
    index = str(tmp_path / "idx")
    _run(capsys, "ingest", str(corpus_copy), "--index", index)
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing-128")
    code, _, err = _run(capsys, "search", "党建", "--index", index)
    assert code == 2 and "hashing" in err and "--rebuild" in err
    code, _, err = _run(capsys, "ingest", str(corpus_copy), "--index", index)
    assert code == 2 and "ASSISTANT_EMBEDDER" in err
    code, out, _ = _run(capsys, "ingest", str(corpus_copy), "--index", index, "--rebuild")
    assert code == 0 and "新增 5 篇" in out


def test_corpus_list_delete_and_set_type(hashing, corpus_copy, tmp_path, capsys) -> None:
    index = str(tmp_path / "idx")
    code, out, _ = _run(capsys, "corpus", "list", "--index", index)
    assert code == 0 and "还没有文档" in out
    _run(capsys, "ingest", str(corpus_copy), "--index", index)
    code, out, _ = _run(capsys, "corpus", "list", "--json", "--index", index)
    docs = json.loads(out)
    assert len(docs) == 5
    research = next(d for d in docs if d["doc_id"] == RESEARCH)
    assert research["doc_type"] == "research-report" and research["sections"] > 3 and research["chunks"] > 1
    code, out, _ = _run(capsys, "corpus", "list", "--index", index)
    assert "共 5 篇文档" in out and "关于在人社工作中充分发挥党支部战斗堡垒作用的调研报告" in out

    code, out, _ = _run(capsys, "corpus", "set-type", RESEARCH, "speech", "--index", index)
    assert code == 0
    docs = json.loads(_run(capsys, "corpus", "list", "--json", "--index", index)[1])
    assert next(d for d in docs if d["doc_id"] == RESEARCH)["doc_type"] == "speech"
    code, _, err = _run(capsys, "corpus", "set-type", RESEARCH, "memo", "--index", index)
    assert code == 2 and "可选文种" in err

    code, out, _ = _run(capsys, "corpus", "delete", RESEARCH, "--index", index)
    assert code == 0
    docs = json.loads(_run(capsys, "corpus", "list", "--json", "--index", index)[1])
    assert RESEARCH not in {d["doc_id"] for d in docs}
    code, _, err = _run(capsys, "corpus", "delete", RESEARCH, "--index", index)
    assert code == 2 and "corpus list" in err


def test_corpus_list_and_search_name_an_unrecognised_type(hashing, corpus_copy, tmp_path, capsys) -> None:
    index = str(tmp_path / "idx")
    (corpus_copy / "随笔.txt").write_text("今天上午我们到社区走访了解群众生活情况。" * 5, encoding="utf-8")
    assert _run(capsys, "ingest", str(corpus_copy), "--index", index)[0] == 0
    code, out, _ = _run(capsys, "corpus", "list", "--index", index)
    assert code == 0 and "文种 未识别（识别；最像：" in out, out
    assert "有 1 篇文档的文种未识别" in out and "corpus set-type" in out
    code, out, _ = _run(capsys, "search", "社区走访群众生活", "-k", "1", "--index", index)
    assert code == 0 and "（未识别｜" in out, out
    code, out, _ = _run(capsys, "search", "社区走访群众生活", "--type", "duty-report", "--index", index)
    assert "社区走访" not in out


def _ingest_on(tmp_path: Path, corpus: Path, tty: bool) -> tuple[str, str]:
    """``python -m assistant ingest`` as a user runs it, stderr on a pipe or on a terminal: a pty that
    reports no size, as under ``script`` or some CI consoles (tqdm draws nothing there unless told one)."""
    import os
    import pty
    import subprocess
    import sys

    from assistant.settings import PROJECT_ROOT

    env = dict(os.environ, ASSISTANT_EMBEDDER="hashing", PYTHONPATH=str(PROJECT_ROOT))
    argv = [sys.executable, "-m", "assistant", "ingest", str(corpus), "--index", str(tmp_path / f"idx{tty}")]
    if not tty:
        done = subprocess.run(argv, capture_output=True, env=env, cwd=PROJECT_ROOT, timeout=120)
        return done.stdout.decode(), done.stderr.decode()
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=follower, env=env, cwd=PROJECT_ROOT)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end of the terminal
                break
            if not data:
                break
            chunks.append(data)
        out = proc.stdout.read().decode()
        proc.wait(timeout=120)
    finally:
        os.close(leader)
    return out, b"".join(chunks).decode(errors="replace")


def test_ingest_shows_a_progress_bar_only_on_a_terminal(corpus_copy, tmp_path) -> None:
    out, err = _ingest_on(tmp_path, corpus_copy, tty=True)
    assert "新增 5 篇" in out
    assert "入库:" in err and "/5" in err and "篇/s" in err, err  # tqdm's bar, redrawn in place
    out, err = _ingest_on(tmp_path, corpus_copy, tty=False)
    assert "新增 5 篇" in out and "入库:" not in err, err  # no bar noise in logs and pipes


@pytest.mark.slow
def test_seed_search_json_points_into_the_problem_section(seed_settings: Settings, capsys) -> None:
    code, out, err = _run(
        capsys,
        "search",
        "三会一课落实不到位",
        "--type",
        "research-report",
        "--json",
        "--index",
        str(seed_settings.index_dir),
    )
    assert code == 0, err
    rows = json.loads(out)
    assert rows[0]["doc_id"] == RESEARCH and rows[0]["type"] == "research-report"
    assert rows[0]["heading_path"].startswith("二、党组织建设中存在的问题")
    assert "三会一课" in rows[0]["text"]
