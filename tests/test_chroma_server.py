"""Ingest and search through a real ``chroma run`` server on 127.0.0.1, started and stopped by the test."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from servers import free_port, start_chroma, stop

from assistant.cli import main
from assistant.errors import BackendError
from assistant.index.ingest import Manifest, ingest
from assistant.index.retrieval import Retriever
from assistant.settings import load_settings

pytestmark = pytest.mark.server


@pytest.fixture
def chroma_server(tmp_path: Path):
    port = free_port()
    proc = start_chroma(tmp_path / "server-data", port, tmp_path / "chroma.log")
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)


def test_ingest_and_search_through_a_chroma_server(
    chroma_server, corpus_copy, tmp_path, monkeypatch, capsys
) -> None:
    url, proc = chroma_server
    settings = load_settings(index_dir=tmp_path / "index", embedder="hashing", chroma_url=url)
    report = ingest([corpus_copy], settings)
    assert len(report.added) == 5 and report.chunks_written > 5
    assert not (tmp_path / "index" / "chroma").exists(), "vectors must go to the server, not the local folder"
    collection = Manifest.read(settings.index_dir).collection
    listed = httpx.get(
        f"{url}/api/v2/tenants/default_tenant/databases/default_database/collections", timeout=5
    ).json()
    assert collection in {c["name"] for c in listed}
    assert not ingest([corpus_copy], settings).changed

    hits = Retriever.open(settings).search("党员示范岗 党员责任区", doc_type="research-report", k=3)
    assert hits and hits[0].chunk.doc_type == "research-report" and "党员示范岗" in hits[0].chunk.text
    assert hits[0].dense_rank is not None

    # the CLI takes the server from the environment, like every other setting
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hashing")
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
    code = main(["search", "一岗双责", "--json", "--index", str(settings.index_dir)])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and "一岗双责" in rows[0]["text"]

    # an index built on the server does not silently open against an empty local store
    monkeypatch.delenv("ASSISTANT_CHROMA_URL")
    code = main(["search", "一岗双责", "--index", str(settings.index_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "ASSISTANT_CHROMA_URL" in err

    proc.terminate()
    proc.wait(timeout=20)
    with pytest.raises(BackendError) as info:
        Retriever.open(settings).search("一岗双责")
    assert "ASSISTANT_CHROMA_URL" in str(info.value) and "chroma run" in str(info.value)
