"""A damaged index gives a way out, never a traceback: each kind of damage (generated here, on a copy of a
real index) is named in one Chinese line that says to run ``ingest --rebuild`` (exit 4), the same line
reaches the web API, and ``ingest --rebuild`` always recovers; a damaged BM25 index is rebuilt from the
stored tokens without changing any ranking; a killed rebuild is detected and said, searches during a
rebuild say it is running; a lost manifest leaves no orphaned collection behind."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.index import store
from assistant.index.ingest import MANIFEST
from assistant.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.usefixtures("hashing_env")

CORPUS = PROJECT_ROOT / "corpus"
QUERIES = ["三会一课落实不到位", "支部标准化规范化建设", "党风廉政建设主体责任", "理论学习"]
CHILD = Path(__file__).with_name("ingest_child.py")


@pytest.fixture
def index(_hash_index: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    shutil.copytree(_hash_index, folder)
    store.forget_clients()
    return folder


def fresh(index: Path) -> None:
    """Forget what this process holds of ``index`` (open database, retriever, BM25, stored documents), so
    the next command reads the files as a new process would."""
    from assistant.index import ingest as ingest_mod
    from assistant.index import keyword, retrieval

    # each step only where this version has that state, so the file also runs on the commit before the
    # hardening (issue 16's fail-before record)
    if hasattr(store, "close_local"):
        store.close_local(Settings(index_dir=index))
    else:
        store.forget_clients()
    for cache in (retrieval._CACHE, keyword._CACHE, getattr(ingest_mod, "_SEEN", None)):
        if cache is not None:
            cache.clear()
    if hasattr(ingest_mod, "_read_document_file"):
        ingest_mod._read_document_file.cache_clear()


def cli(capsys: pytest.CaptureFixture, index: Path, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--index", str(index)])
    out, err = capsys.readouterr()
    return code, out, err


def results(capsys: pytest.CaptureFixture, index: Path) -> list[list[tuple[str, float]]]:
    """Top-5 chunk ids and scores of each query, through the CLI's JSON output."""
    out = []
    for query in QUERIES:
        code, text, err = cli(capsys, index, "search", query, "-k", "5", "--json")
        assert code == 0, err
        out.append([(row["chunk_id"], row["score"]) for row in json.loads(text)])
    return out


# ---- the damage ------------------------------------------------------------------------------------------


def _truncate(path: Path, fraction: float = 0.5) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(int(path.stat().st_size * fraction))


def _overwrite(path: Path, start_fraction: float, size: int) -> None:
    noise = random.Random(16).randbytes(size)
    with open(path, "r+b") as fh:
        fh.seek(int(path.stat().st_size * start_fraction))
        fh.write(noise)


def _manifest(index: Path, change: Callable[[dict], object]) -> None:
    path = index / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    result = change(data)
    path.write_text(json.dumps(data if result is None else result, ensure_ascii=False), encoding="utf-8")


def _first_document(index: Path) -> Path:
    data = json.loads((index / MANIFEST).read_text(encoding="utf-8"))
    return index / next(iter(data["documents"].values()))["file"]


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "chroma-half-truncated": (lambda i: _truncate(i / "chroma" / "chroma.sqlite3"), "向量库"),
    "chroma-overwritten": (lambda i: _overwrite(i / "chroma" / "chroma.sqlite3", 0.1, 160_000), "向量库"),
    "chroma-header-overwritten": (lambda i: _overwrite(i / "chroma" / "chroma.sqlite3", 0, 100), "向量库"),
    "manifest-a-list": (lambda i: (i / MANIFEST).write_text("[]", encoding="utf-8"), "manifest.json"),
    "manifest-documents-a-list": (
        lambda i: _manifest(i, lambda d: d.update(documents=[1, 2])),
        "manifest.json",
    ),
    "manifest-entry-a-string": (
        lambda i: _manifest(i, lambda d: d["documents"].update({next(iter(d["documents"])): "x"})),
        "manifest.json",
    ),
    "manifest-embedder-a-string": (
        lambda i: _manifest(i, lambda d: d.update(embedder="hashing")),
        "manifest.json",
    ),
    "manifest-chunk-ids-a-number": (
        lambda i: _manifest(i, lambda d: next(iter(d["documents"].values())).update(chunk_ids=7)),
        "manifest.json",
    ),
    "manifest-truncated": (lambda i: _truncate(i / MANIFEST, 0.6), "manifest.json"),
    "document-truncated": (lambda i: _truncate(_first_document(i)), "documents/"),
    "document-overwritten": (lambda i: _overwrite(_first_document(i), 0.5, 64), "documents/"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damage_is_named_with_the_way_out_and_rebuild_recovers(
    damage: str, index: Path, capsys: pytest.CaptureFixture
) -> None:
    before = results(capsys, index)
    apply, part = DAMAGES[damage]
    apply(index)
    fresh(index)
    for argv in (
        ("search", "三会一课"),
        ("draft", "--type", "duty-report", "--topic", "抓基层党建工作述职", "--point", "理论学习"),
    ):
        code, _, err = cli(capsys, index, *argv)
        assert code == 4, (argv, code, err)
        assert "Traceback" not in err and err.startswith("错误：") and err.count("\n") == 1, err
        assert part in err and "ingest --rebuild" in err and "已损坏" in err, err
    code, out, err = cli(capsys, index, "ingest", str(CORPUS), "--rebuild")
    assert code == 0, err
    assert "共 5 篇文档" in out
    assert results(capsys, index) == before


def test_a_plain_ingest_repairs_a_damaged_document_file(index: Path, capsys: pytest.CaptureFixture) -> None:
    before = results(capsys, index)
    _truncate(_first_document(index))
    fresh(index)
    code, out, err = cli(capsys, index, "ingest", str(CORPUS))
    assert code == 0, err
    assert "没有变化" not in out and "更新 1 篇" in out, out
    assert results(capsys, index) == before


@pytest.mark.parametrize(
    "damage",
    [
        "indices-truncated",
        "data-zeroed",
        "indptr-shifted",
        "vocab-replaced",
        "meta-ids-shuffled",
        "params-emptied",
    ],
)
def test_damaged_bm25_files_never_crash_or_change_the_ranking(
    damage: str, index: Path, capsys: pytest.CaptureFixture
) -> None:
    before = results(capsys, index)
    folder = index / "bm25"
    if damage == "indices-truncated":
        _truncate(folder / "indices.csc.index.npy", 0.3)
    elif damage == "data-zeroed":
        data = np.load(folder / "data.csc.index.npy")
        np.save(folder / "data.csc.index.npy", np.zeros_like(data))
    elif damage == "indptr-shifted":
        indptr = np.load(folder / "indptr.csc.index.npy")
        indptr[5:] += 10_000
        np.save(folder / "indptr.csc.index.npy", indptr)
    elif damage == "vocab-replaced":
        (folder / "vocab.index.json").write_text('{"三会": 0}', encoding="utf-8")
    elif damage == "meta-ids-shuffled":
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        random.Random(3).shuffle(meta["ids"])  # every structural check passes: only the checksum can tell
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    else:
        (folder / "params.index.json").write_text("", encoding="utf-8")
    fresh(index)
    assert results(capsys, index) == before


# ---- rebuilds --------------------------------------------------------------------------------------------


def _start_child(index: Path, corpus: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(index), str(corpus), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if line.strip() != "paused":
        proc.kill()
        pytest.fail(f"the child ingest did not pause: {line!r} {proc.stderr.read()[-2000:]}")
    return proc


def big_corpus(folder: Path, copies: int = 6) -> Path:
    """The seed documents several times over, each copy with its own unit name, so the index has many
    documents and commit groups."""
    folder.mkdir(parents=True, exist_ok=True)
    units = ["市医保局", "市人社局", "市财政局", "市教育局", "市民政局", "市交通局", "市水利局", "市统计局"]
    for n in range(copies):
        for seed in sorted(CORPUS.glob("00*.txt")):
            text = seed.read_text(encoding="utf-8")
            (folder / f"{seed.stem}-{n}.txt").write_text(
                text.replace("医保局", units[n % len(units)]).replace(
                    "人社", units[(n + 1) % len(units)][1:3]
                ),
                encoding="utf-8",
            )
    return folder


def test_searches_during_a_rebuild_say_so_and_a_killed_rebuild_is_detected(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    corpus = big_corpus(tmp_path / "corpus")
    assert cli(capsys, index, "ingest", str(corpus), "--rebuild")[0] == 0
    complete = results(capsys, index)
    child = _start_child(index, corpus, "--rebuild", "--pause-after", "12", "--group", "40")
    try:
        for argv in (("search", "三会一课"), ("corpus", "list")):
            code, _, err = cli(capsys, index, *argv)
            assert code == 2 and "正在重建" in err and "Traceback" not in err, err
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    fresh(index)
    partial = json.loads((index / MANIFEST).read_text(encoding="utf-8"))
    assert 0 < len(partial["documents"]) < 30, (
        "the kill did not leave a partial index; the test proves nothing"
    )
    for argv in (("search", "三会一课"), ("corpus", "list")):
        code, _, err = cli(capsys, index, *argv)
        assert code == 4 and "重建" in err and "未完成就中断" in err and "ingest --rebuild" in err, err
    assert cli(capsys, index, "ingest", str(corpus), "--rebuild")[0] == 0
    assert results(capsys, index) == complete


def _collections(index: Path) -> list[str]:
    import chromadb

    fresh(index)
    client = chromadb.PersistentClient(path=str(index / "chroma"))
    names = [c.name for c in client.list_collections()]
    fresh(index)
    return names


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_a_lost_manifest_leaves_no_orphaned_collection(index: Path, capsys: pytest.CaptureFixture) -> None:
    size = _size(index / "chroma")
    assert len(_collections(index)) == 1
    (index / MANIFEST).unlink()
    code, out, err = cli(capsys, index, "ingest", str(CORPUS))
    assert code == 0, err
    live = json.loads((index / MANIFEST).read_text(encoding="utf-8"))["collection"]
    assert _collections(index) == [live]
    assert _size(index / "chroma") < 1.3 * size, (size, _size(index / "chroma"))
    assert results(capsys, index)


# ---- the web app -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_web_api_shows_the_same_line_for_a_damaged_index_and_a_running_rebuild(
    index: Path, tmp_path: Path
) -> None:
    from browser import serve
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    settings = Settings(index_dir=index, embedder="hashing")
    args = ("duty-report", "抓基层党建工作述职", "市医保局机关党支部", "理论学习")
    with serve(settings) as url:
        client = Client(url, verbose=False, download_files=False)
        _truncate(_first_document(index))
        from assistant.index import ingest as ingest_mod

        ingest_mod._read_document_file.cache_clear()
        os.utime(index / MANIFEST)  # as a new manifest would: the app reopens the index
        with pytest.raises(AppError) as failed:
            client.predict(*args, api_name="/draft")
        message = str(failed.value)
        assert "documents/" in message and "已损坏" in message and "ingest --rebuild" in message, message
        corpus = big_corpus(tmp_path / "corpus", copies=2)
        child = _start_child(index, corpus, "--rebuild", "--pause-after", "3", "--group", "40")
        try:
            with pytest.raises(AppError, match="正在重建"):
                client.predict(*args, api_name="/draft")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        with pytest.raises(AppError, match="未完成就中断"):
            client.predict(*args, api_name="/draft")
