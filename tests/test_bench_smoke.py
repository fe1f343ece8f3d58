"""The benchmarks run end to end on tiny inputs (hashing embedder, a few queries/documents) and write their
JSON; the relevance rule and the label set they rest on behave as bench/README.md says. No timing is
asserted: performance figures come only from the benchmarks themselves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant.doctypes import type_names
from assistant.records import ROLES
from assistant.settings import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:  # bench/ is a top-level folder, not an installed package
    sys.path.insert(0, str(PROJECT_ROOT))

from bench import common, ingest, latency, retrieval, warmup  # noqa: E402


def test_label_set_resolves_against_the_seed_and_sample_corpus() -> None:
    docs = retrieval.load_corpus([retrieval.SEED_CORPUS, retrieval.SAMPLE_CORPUS])
    texts = {d.doc_id: d.text for d in docs.values()}
    queries, skipped = retrieval.load_queries(retrieval.QUERIES, docs)
    assert not skipped and len(queries) >= 60
    assert len({q.id for q in queries}) == len(queries)
    # the benchmark's queries cover the four types its corpus has (工作总结 came later and has none)
    assert {q.doc_type for q in queries} == set(type_names(PROJECT_ROOT / "prompts")) - {"summary"}
    for q in queries:
        assert q.role in ROLES
        for span in (s for group in q.answers for s in group):
            assert 0 <= span.start < span.end <= len(texts[span.doc_id])
    # every sample document is typed in its catalog and answers at least three queries
    answered = [s.doc_id for q in queries for group in q.answers for s in group]
    samples = [d for name, d in docs.items() if name not in retrieval.SEED_NAMES]
    assert len(samples) >= 12
    for doc in samples:
        assert doc.doc_type in type_names(PROJECT_ROOT / "prompts"), doc.path
        assert answered.count(doc.doc_id) >= 3, doc.path


def test_seed_only_run_leaves_out_the_sample_queries() -> None:
    docs = retrieval.load_corpus([retrieval.SEED_CORPUS])
    queries, skipped = retrieval.load_queries(retrieval.QUERIES, docs)
    assert len(queries) >= 60 and {q.group for q in queries} == {"seed"}
    assert skipped and all(q.id not in skipped for q in queries)


def test_relevance_needs_the_document_and_half_the_answer_span() -> None:
    span = retrieval.Span("a", 100, 120)
    assert retrieval.covers(retrieval.Hit("a", 0, 110, ""), span)  # covers exactly half
    assert not retrieval.covers(retrieval.Hit("a", 0, 109, ""), span)
    assert not retrieval.covers(retrieval.Hit("b", 0, 500, ""), span)  # right place, wrong document
    # two overlapping passages on the same answer count once; a later different answer still counts
    hits = [
        retrieval.Hit("a", 90, 130, ""),
        retrieval.Hit("a", 95, 125, ""),
        retrieval.Hit("a", 300, 400, ""),
    ]
    scores = retrieval.score_query(hits, [[span], [retrieval.Span("a", 310, 320)]])
    assert scores["recall@1"] == 0.5 and scores["recall@5"] == 1.0 and scores["mrr"] == 1.0
    assert 0.9 < scores["ndcg@10"] < 1.0  # the second answer came at rank 3, not 2
    # alternatives (``any: true``): either span answers the query
    either = retrieval.score_query(hits[2:], [[span, retrieval.Span("a", 310, 320)]])
    assert either["recall@1"] == 1.0 and either["ndcg@10"] == 1.0


def test_generated_document_depends_only_on_seed_and_index(tmp_path: Path) -> None:
    small = common.generate_corpus(tmp_path / "small", 3, seed=3)
    large = common.generate_corpus(tmp_path / "large", 6, seed=3)
    assert [p.read_text(encoding="utf-8") for p in small] == [
        p.read_text(encoding="utf-8") for p in large[:3]
    ]
    other = common.generate_corpus(tmp_path / "other", 3, seed=4)
    assert small[0].read_text(encoding="utf-8") != other[0].read_text(encoding="utf-8")
    catalog = (tmp_path / "large" / "catalog.yaml").read_text(encoding="utf-8")
    assert "gen_00005.txt" in catalog and "type: speech" in catalog


def test_benchmarks_run_on_tiny_inputs(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = retrieval.main(["--embedder", "hashing", "--limit", "6", "--out-dir", str(out)])
    systems = {s["system"] for s in result["summary"]}
    assert {"(a) recipe", "(d) hybrid+type+role", "(b) dense", "(c) bm25"} <= systems
    for summary in result["summary"]:
        assert 0.0 <= summary["recall@1"] <= summary["recall@5"] <= summary["recall@10"] <= 1.0
    assert json.loads((out / "retrieval.json").read_text(encoding="utf-8"))["queries"] == 6

    result = ingest.main(
        [
            "--docs",
            "6",
            "--embed-docs",
            "3",
            "--embedder",
            "hashing",
            "--scale-embedders",
            "hashing",
            "--out-dir",
            str(out),
            "--work-dir",
            str(tmp_path / "i"),
        ]
    )
    assert result["ratio_run"]["passages"] == result["ratio_run"]["chunks"] > 0
    assert result["scale_run"]["second"]["skipped"] == result["scale_run"]["first"]["documents"] == 6
    assert result["scale_run"]["second"]["chunks_embedded"] == 0
    assert set(result["goals"]) == {"ingest/raw throughput >= 0.9", "re-ingest <= 2% of full ingest"}

    result = latency.main(
        ["--sizes", "120", "--no-server", "--drafts", "1", "--base-docs", "2", "--query-embedder", "hashing",
         "--out-dir", str(out), "--work-dir", str(tmp_path / "l")]
    )  # fmt: skip
    measured = result["results"]["120/default"]
    assert measured["local"]["search, type+role filters"]["n"] == len(latency.load_queries())
    assert measured["draft"]["n"] == len(latency.DRAFT_REQUESTS)
    assert (out / "latency.json").is_file()

    result = warmup.main(
        ["--runs", "1", "--embedder", "hashing", "--out-dir", str(out), "--work-dir", str(tmp_path / "w")]
    )
    assert len(result["rows"]["cold"]) == len(result["rows"]["warm"]) == 1 and result["ratio"] > 0
    assert result["rows"]["warm"][0]["chars"] == result["rows"]["cold"][0]["chars"] > 0  # the same draft


@pytest.mark.parametrize("bad", ["没有这句话", "党建"])
def test_label_that_is_missing_or_ambiguous_is_refused(tmp_path: Path, bad: str) -> None:
    labels = tmp_path / "q.yaml"
    labels.write_text(
        "queries:\n  - {id: x, query: 测试, doc_type: speech, role: problems,\n"
        f"     answers: [{{doc: 001_6e9dedf2a6c80475.txt, phrase: {bad}}}]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="phrase occurs"):
        retrieval.load_queries(labels, retrieval.load_corpus([retrieval.SEED_CORPUS]))
