"""A project folder (corpus + index side by side) moved or copied elsewhere keeps working: its own corpus
ingests into its own index without a single refusal or re-embedding, searches answer exactly as before,
deletions are noticed in the new place, and the original is left as it was. An index written before paths
were stored relative (absolute paths) still opens and is migrated by the next ingest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.index import store
from assistant.index.ingest import MANIFEST, ingest, list_documents
from assistant.index.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.usefixtures("hashing_env")

QUERIES = ["三会一课落实不到位", "支部标准化规范化建设", "党风廉政建设主体责任"]


def settings_for(project: Path) -> Settings:
    return Settings(index_dir=project / "index", corpus_dir=project / "corpus", embedder="hashing")


def answers(settings: Settings) -> list[list[tuple[str, float]]]:
    retriever = Retriever.open(settings)
    return [[(p.chunk.chunk_id, p.score) for p in retriever.search(q, k=5)] for q in QUERIES]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "corpus", folder / "corpus")
    ingest([folder / "corpus"], settings_for(folder))
    store.forget_clients()
    return folder


def _paths(project: Path) -> list[str]:
    data = json.loads((project / "index" / MANIFEST).read_text(encoding="utf-8"))
    return [entry["path"] for entry in data["documents"].values()]


def test_the_index_records_paths_relative_to_the_project_folder(project: Path) -> None:
    assert all(p.startswith("corpus/") for p in _paths(project)), _paths(project)
    assert all(Path(d["path"]).is_file() for d in list_documents(settings_for(project)))


@pytest.mark.parametrize("how", ["copy", "move"])
def test_a_copied_or_moved_project_keeps_working(project: Path, tmp_path: Path, how: str, capsys) -> None:
    before = answers(settings_for(project))
    elsewhere = tmp_path / "elsewhere" / "项目副本"
    elsewhere.parent.mkdir()
    (shutil.copytree if how == "copy" else shutil.move)(project, elsewhere)
    store.forget_clients()
    settings = settings_for(elsewhere)
    code = main(["ingest", str(elsewhere / "corpus"), "--index", str(settings.index_dir)])
    out, err = capsys.readouterr()
    assert code == 0 and "重复" not in err and not err.strip(), err
    assert "没有变化" in out and "共 5 篇文档" in out, out
    assert answers(settings) == before
    rows = list_documents(settings)
    assert all(Path(r["path"]).is_relative_to(elsewhere / "corpus") for r in rows), rows
    gone = Path(rows[0]["path"])
    gone.unlink()  # a deletion in the new place is noticed there
    report = ingest([elsewhere / "corpus"], settings)
    assert report.removed == [rows[0]["doc_id"]] and report.documents_total == 4
    if how == "copy":  # the original is untouched and still whole
        store.forget_clients()
        assert answers(settings_for(project)) == before
        assert len(list_documents(settings_for(project))) == 5


def test_an_index_with_absolute_paths_still_opens_and_is_migrated(project: Path, tmp_path: Path) -> None:
    """As an index written before this change would be: absolute paths in the manifest."""
    path = project / "index" / MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["documents"].values():
        entry["path"] = str((project / entry["path"]).resolve())
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    settings = settings_for(project)
    before = answers(settings)
    assert all(Path(r["path"]).is_file() for r in list_documents(settings))
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)  # its manifest still names the original's files
    store.forget_clients()
    report = ingest([copy / "corpus"], settings_for(copy))
    assert not report.errors and report.chunks_embedded == 0 and report.documents_total == 5, report
    assert all(p.startswith("corpus/") for p in _paths(copy)), _paths(copy)
    assert answers(settings_for(copy)) == before
    report = ingest([project / "corpus"], settings)  # the original migrates too, in place
    assert not report.errors and report.chunks_embedded == 0
    assert all(p.startswith("corpus/") for p in _paths(project))
