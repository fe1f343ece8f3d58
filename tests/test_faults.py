"""Faults of the outside world: the LLM endpoint failing in every way it can, the Chroma server going away
and coming back, a full or read-only disk under the index.

Ingest killed at random points is covered by ``tests/test_ingest.py::
test_kill_during_ingest_leaves_an_index_that_answers_and_completes`` (kill -9 at three depths; the index
reopens and answers after each; the next ingest ends with exactly the chunk ids of an uninterrupted one).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI
from servers import free_port, start_chroma, stop

from assistant.cli import main
from assistant.draft import pipeline as drafting
from assistant.errors import BackendError
from assistant.index.ingest import ingest
from assistant.index.retrieval import Retriever
from assistant.records import DraftRequest
from assistant.settings import PROJECT_ROOT, Settings

REQUEST = DraftRequest(
    doc_type="duty-report",
    topic="2024年度抓基层党建工作",
    unit="市医保局机关党支部",
    points=["理论学习", "支部标准化建设"],
)


@pytest.fixture
def hs(_hash_index: Path, tmp_path: Path) -> Settings:
    index = tmp_path / "index"
    shutil.copytree(_hash_index, index)
    return Settings(
        index_dir=index, embedder="hashing", corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data"
    )


# ---- the LLM endpoint ----------------------------------------------------------------------------------


class BrokenJsonFake(FakeOpenAI):
    """``FakeOpenAI`` plus one mode it lacks: ``("badjson", "")`` answers 200 with a body (or, streaming, an
    event) that is not valid JSON."""

    def _handler(self):
        base = super()._handler()
        fake = self

        class Handler(base):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                queued = fake.replies[0] if fake.replies else fake.default
                if queued == ("badjson", ""):
                    if fake.replies:
                        fake.replies.pop(0)
                    size = int(self.headers.get("Content-Length") or 0)
                    payload = json.loads(self.rfile.read(size) or b"{}")
                    fake.requests.append(payload)
                    if payload.get("stream"):
                        self.send_response(200)
                        self.send_header("Content-Type", "text/event-stream")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        self.wfile.write(b'data: {"id": "x", "choices": [{"delta": {"content": "\xe6\x88\n\n')
                        self.wfile.flush()
                        self.close_connection = True
                    else:
                        self._send(200, b'{"id": "x", "choices": [')
                    return
                super().do_POST()

        return Handler


FAULTS = [
    # (id, scripted reply, what the notice must say)
    ("refused", None, "无法连接大模型服务"),
    ("timeout", ("hang", 6), "未响应"),
    ("http-500", ("status", 500), "HTTP 500"),
    ("malformed-json", ("badjson", ""), "大模型服务"),
    ("not-a-completion", ("garbage", ""), "大模型服务"),
    (
        "stream-dropped",
        ("drop", "一是坚持理论学习，认真落实三会一课制度。二是加强支部建设。" * 3),
        "中途断开",
    ),
]


@pytest.mark.parametrize(("reply", "notice"), [pytest.param(r, n, id=i) for i, r, n in FAULTS])
def test_llm_fault_falls_back_to_the_composer_with_a_notice(reply: Any, notice: str, hs: Settings) -> None:
    with BrokenJsonFake() as fake:
        base_url = fake.base_url
        if reply is None:  # nothing listens on this port
            base_url = f"http://127.0.0.1:{free_port()}/v1"
        else:
            fake.default = reply  # every call fails alike: the outline, the formulas and each section
        settings = hs.with_overrides(llm_base_url=base_url, llm_model="fake-model", llm_timeout=1.5)
        started = time.perf_counter()
        draft = drafting.write_draft(REQUEST, settings)
        elapsed = time.perf_counter() - started
        if reply is not None:
            assert fake.requests, "the fault was never exercised: no request reached the fake endpoint"
    assert elapsed < 30
    first = draft.sections[1].key  # sections[0] is the opening
    assert first in draft.generator.get("fallback_sections", []), draft.generator
    fallback = [w for w in draft.warnings if "离线" in w]
    assert fallback and notice in " ".join(fallback), draft.warnings
    assert draft.request == REQUEST  # the writer's request is kept with the draft
    for heading in ("履职情况", "存在的问题", "下一步工作打算"):
        assert heading in draft.text
    # a duty report is signed by a person: the writer's unit, then a gap for the post and the name
    assert draft.subtitle == f"{REQUEST.unit}　【待补：述职人职务、姓名】"


def test_llm_fault_reaches_the_page_and_the_request_is_kept_in_the_history(hs: Settings) -> None:
    """The 起草 tab's handler, driven as Gradio drives it: the endpoint answers 500, the page still gets a
    finished draft and a notice, and the draft with its request is saved in the writer's history."""
    from types import SimpleNamespace

    import gradio as gr

    from assistant.history import History
    from assistant.ui.draft_tab import DraftTab
    from assistant.ui.session import LOCAL_USER
    from assistant.ui.views import LiveSettings

    with FakeOpenAI() as fake:
        fake.default = ("status", 500)
        settings = hs.with_overrides(llm_base_url=fake.base_url, llm_model="fake-model")
        with gr.Blocks():
            tab = DraftTab(LiveSettings(settings), gr.State(None))
        updates = list(
            tab.write(
                "duty-report",
                REQUEST.topic,
                REQUEST.unit,
                "",
                "理论学习\n支部标准化建设",
                "",
                "",
                None,
                None,
                0,
                None,
                SimpleNamespace(username=None),
            )
        )
    final = updates[-1]
    assert final[tab.status].startswith("草稿已完成")
    warnings = final[tab.bench.warnings]
    assert "HTTP 500" in warnings and "离线" in warnings
    assert "2024年度抓基层党建工作" in final[tab.bench.view]
    [entry] = History.open(settings).list(LOCAL_USER)
    saved = History.open(settings).get(LOCAL_USER, entry.id)["request"]
    assert final[tab.draft_id] == entry.id
    assert saved["topic"] == REQUEST.topic and saved["unit"] == REQUEST.unit
    assert saved["points"] == ["理论学习", "支部标准化建设"]


# ---- the Chroma server ---------------------------------------------------------------------------------


@pytest.mark.server
def test_chroma_server_going_away_gives_a_clear_error_then_recovers(
    tmp_path: Path, corpus_copy: Path
) -> None:
    """Server mode: the server stops between requests (a clear error from search and from the web API,
    no traceback), then starts again on the same address; the same process, with its cached Retriever and
    running web app, answers again without a restart."""
    from browser import serve
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    port, data, log = free_port(), tmp_path / "chroma-data", tmp_path / "chroma.log"
    settings = Settings(
        index_dir=tmp_path / "index",
        embedder="hashing",
        chroma_url=f"http://127.0.0.1:{port}",
        corpus_dir=corpus_copy,
    )
    proc = start_chroma(data, port, log)
    try:
        ingest([corpus_copy], settings)
        assert Retriever.open(settings).search("一岗双责", k=3)
        with serve(settings) as url:
            client = Client(url, verbose=False, download_files=False)
            assert "履职情况" in client.predict("duty-report", "机关党建", "", "", api_name="/draft")

            stop(proc)
            with pytest.raises(BackendError) as info:
                Retriever.open(settings).search("一岗双责", k=3)
            assert f"127.0.0.1:{port}" in str(info.value) and "chroma run" in str(info.value)
            with pytest.raises(AppError) as api_error:
                client.predict("duty-report", "机关党建", "", "", api_name="/draft")
            assert "Chroma" in str(api_error.value) or "chroma" in str(api_error.value), api_error.value

            proc = start_chroma(data, port, log)
            hits = Retriever.open(settings).search("一岗双责", k=3)
            assert hits and "一岗双责" in hits[0].chunk.text
            assert "履职情况" in client.predict("duty-report", "机关党建", "", "", api_name="/draft")
    finally:
        stop(proc)


# ---- the disk under the index ----------------------------------------------------------------------------


def _unshare_works() -> bool:
    try:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


CHECK = textwrap.dedent(
    """
    import json, sys
    from assistant.index.ingest import Manifest
    from assistant.index.retrieval import Retriever
    from assistant.settings import load_settings
    settings = load_settings(index_dir=sys.argv[1], embedder="hashing")
    retriever = Retriever.open(settings)
    manifest = Manifest.read(settings.index_dir)
    print(json.dumps({
        "documents": sorted(manifest.documents),
        "chunks": sorted(retriever.chunks),
        "hit": retriever.search("一岗双责", k=1)[0].chunk.text[:40],
    }, ensure_ascii=False))
    """
)

DISK_SCRIPT = textwrap.dedent(
    """
    set -u
    M="$1"; SRC="$2"; OUT="$3"; NEW1="$4"; NEW2="$5"
    mount -t tmpfs -o size=40m tmpfs "$M"
    cp -a "$SRC" "$M/idx"
    avail=$(df --output=avail -B1 "$M" | tail -1)
    fallocate -l $((avail - 8192)) "$M/filler"
    cli() { ASSISTANT_EMBEDDER=hashing "$PY" -m assistant "$@" --index "$M/idx"; }
    check() { "$PY" -c "$CHECK" "$M/idx"; }
    cli ingest "$NEW1" >"$OUT/full.out" 2>"$OUT/full.err"; echo $? >"$OUT/full.rc"
    rm "$M/filler"
    check >"$OUT/after-full.json" 2>"$OUT/after-full.err"
    cli ingest "$NEW1" >"$OUT/retry.out" 2>"$OUT/retry.err"; echo $? >"$OUT/retry.rc"
    check >"$OUT/after-retry.json" 2>"$OUT/after-retry.err"
    mount -o remount,ro "$M"
    cli ingest "$NEW2" >"$OUT/ro.out" 2>"$OUT/ro.err"; echo $? >"$OUT/ro.rc"
    cli search 一岗双责 >"$OUT/ro-search.out" 2>"$OUT/ro-search.err"; echo $? >"$OUT/ro-search.rc"
    mount -o remount,rw "$M"
    check >"$OUT/after-ro.json" 2>"$OUT/after-ro.err"
    """
)


@pytest.fixture(scope="module")
def disk_run(_hash_index: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real full disk and a real read-only one: the index lives on a 40 MB tmpfs mounted in a private
    mount namespace (it vanishes with the script), filled to its last 8 KB, then remounted read-only. Runs
    the CLI there and records every outcome in files outside the tmpfs."""
    if not _unshare_works():
        pytest.skip("needs unshare -m and tmpfs mounts (root with CAP_SYS_ADMIN)")
    tmp = tmp_path_factory.mktemp("disk")
    new1, new2 = tmp / "new1", tmp / "new2"
    for folder, marker in ((new1, "磁盘写满测试"), (new2, "只读磁盘测试")):
        folder.mkdir()
        (folder / f"{marker}.txt").write_text(
            f"关于{marker}的讲话\n同志们：\n一、提高认识\n要把{marker}作为重要任务。\n" * 3, encoding="utf-8"
        )
    out, mount, reference = tmp / "out", tmp / "mnt", tmp / "reference"
    out.mkdir()
    mount.mkdir()
    shutil.copytree(_hash_index, reference)
    env = dict(os.environ, PY=sys.executable, CHECK=CHECK, PYTHONPATH=str(PROJECT_ROOT))
    args = [str(mount), str(reference), str(out), str(new1), str(new2)]
    subprocess.run(
        ["unshare", "-m", "bash", "-c", DISK_SCRIPT, "disk", *args], cwd=PROJECT_ROOT, env=env, timeout=300
    )
    check = [sys.executable, "-c", CHECK, str(reference)]
    results = {"before": json.loads(subprocess.check_output(check, cwd=PROJECT_ROOT, env=env))}
    for path in out.iterdir():
        results[path.name] = path.read_text(encoding="utf-8")
    return results


def test_disk_full_and_read_only_index_are_not_corrupted(disk_run: dict[str, Any]) -> None:
    """After an ingest that ran out of space, and one refused by a read-only disk, the index opens, answers
    and lists exactly what it had; once space is freed the same ingest completes."""
    assert disk_run["full.rc"].strip() != "0" and disk_run["ro.rc"].strip() != "0"
    assert json.loads(disk_run["after-full.json"] or "null") == disk_run["before"], disk_run["after-full.err"]
    assert disk_run["retry.rc"].strip() == "0", disk_run["retry.err"]
    after_retry = json.loads(disk_run["after-retry.json"])
    assert len(after_retry["documents"]) == len(disk_run["before"]["documents"]) + 1
    assert json.loads(disk_run["after-ro.json"] or "null") == after_retry, disk_run["after-ro.err"]


def test_read_only_index_folder_refuses_ingest_with_a_clear_message(disk_run: dict[str, Any]) -> None:
    err = disk_run["ro.err"]
    assert disk_run["ro.rc"].strip() == "4" and err.startswith("错误：") and "只读" in err, err[-1500:]
    assert "Traceback" not in err


@pytest.mark.parametrize("case", ["full", "ro-search"])
def test_chroma_write_failures_are_explained_not_a_traceback(disk_run: dict[str, Any], case: str) -> None:
    """Chroma's own SQLite failing: a full disk is one Chinese line (exit 4); a read-only index, which
    Chroma cannot open in place, is still searchable (from a temporary copy)."""
    err = disk_run[f"{case}.err"]
    assert "Traceback" not in err, err[-800:]
    if case == "full":
        assert disk_run["full.rc"].strip() == "4" and err.startswith("错误：磁盘空间不足"), err[-800:]
    else:
        assert disk_run["ro-search.rc"].strip() == "0", err[-800:]
        assert "一岗双责" in disk_run["ro-search.out"], disk_run["ro-search.out"]


def test_write_failure_inside_ingest_keeps_the_index_and_is_explained(
    hs: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where mounts are not allowed: ENOSPC simulated at the index's atomic file writes (the manifest and
    document files; Chroma's own SQLite writes are not reached by this patch). The CLI prints one Chinese
    line, and the index still opens with what it had."""
    import errno

    from assistant.index import ingest as ingest_mod

    before = sorted(Retriever.open(hs).chunks)
    new = tmp_path / "new"
    new.mkdir()
    (new / "新增.txt").write_text(
        "关于新增的讲话\n同志们：\n一、提高认识\n要把新增工作抓好。\n", encoding="utf-8"
    )

    def full(path: Path, data: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ingest_mod, "_write_atomic", full)
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    code = main(["ingest", str(new), "--index", str(hs.index_dir)])
    err = capsys.readouterr().err
    assert code == 4 and err.startswith("错误：磁盘空间不足") and "Traceback" not in err, err
    monkeypatch.undo()
    assert sorted(Retriever.open(hs).chunks) == before
